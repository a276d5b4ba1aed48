/**
 * The lease of a decision claim: how long a claim whose work never settled holds the request
 * (the work's timeout plus a margin), and giving a claim back when nothing was decided.
 */
import {
  CLAIM_MARGIN_MS,
  MAX_WORK_TIMEOUT_MS,
  releaseDecision,
  type StoredDecision,
} from "../store/approvals";
import { isConditionFailed } from "../store/claim";
import { storeBudgetOf } from "./budget";
import type { ApprovalClaim, ApprovalRuntime } from "./types";
import { errorName } from "./util";

/**
 * What came of releasing a claim: released (or no longer ours: taken over or settled, so nothing
 * of ours holds the request), or still held, with why (the DynamoDB error's name) and when the
 * claim goes stale (epoch ms, {@link claimLeaseEnd}): until then a click is refused.
 */
export type ReleaseResult =
  { released: true } | { released: false; reason: string; staleAt: number };

/**
 * Releases a claim so that someone can retry (only while it is still ours), retrying throttling
 * until `deadline` (epoch ms; store/approvals.ts `releaseDecision`), or within the request's
 * budget on the click path. Never throws: a failure is logged and returned.
 */
export async function releaseClaim(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  deadline?: number,
): Promise<ReleaseResult> {
  const budget = rt.ack ? storeBudgetOf(rt) : { deadline };
  try {
    await releaseDecision(claim, budget);
    return { released: true };
  } catch (err: unknown) {
    if (isConditionFailed(err)) {
      rt.log.warn("approval claim not released: no longer this claim", {
        pipeline: claim.pipeline,
      });
      return { released: true };
    }
    rt.log.error("approval claim release failed", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: errorName(err),
    });
    return { released: false, reason: errorName(err), staleAt: claimLeaseEnd(rt, claim.at) };
  }
}

export { CLAIM_MARGIN_MS };

/**
 * Whether `existing` is a claim whose work never settled within the bound: still `claimed` (or
 * written before statuses, which says the same) and older than the function's timeout plus
 * {@link CLAIM_MARGIN_MS}. Such work died (timeout, crash) or never ran.
 */
export function isStaleClaim(
  rt: ApprovalRuntime,
  existing: StoredDecision | undefined,
  now: number = Date.now(),
): existing is StoredDecision {
  if (!existing || (existing.status ?? "claimed") !== "claimed") return false;
  const end = claimLeaseEnd(rt, existing.at);
  return !Number.isNaN(end) && now > end;
}

/**
 * When (epoch ms) a claim made at `at` (ISO 8601) goes stale if its work never settled it: `at`
 * plus the work's timeout (config `workTimeoutSeconds`, else Lambda's 900 s maximum) plus
 * {@link CLAIM_MARGIN_MS}. NaN for an unreadable `at`.
 */
export function claimLeaseEnd(rt: ApprovalRuntime, at: string): number {
  const { workTimeoutSeconds } = rt.config;
  const timeoutMs =
    workTimeoutSeconds === undefined ? MAX_WORK_TIMEOUT_MS : workTimeoutSeconds * 1000;
  return Date.parse(at) + timeoutMs + CLAIM_MARGIN_MS;
}

/** What the audit trail says of a release: "claim released", or "claim not released: <why>". */
export function releaseWords(release: ReleaseResult): string {
  return release.released ? "claim released" : `claim not released: ${release.reason}`;
}

/** What the audit trail adds about a release: "; claim not released: <why>" when it failed. */
export function releaseNote(release: ReleaseResult): string {
  return release.released ? "" : `; ${releaseWords(release)}`;
}

/**
 * When the clicker may try again, after nothing was decided: "Please try again." once released,
 * else in how many seconds the claim goes stale (a click is refused until then, as being
 * decided): "… please try again in 42 s."
 */
export function retryText(release: ReleaseResult, now: number = Date.now()): string {
  if (release.released) return "Please try again.";
  const seconds = Math.max(1, Math.ceil((release.staleAt - now) / 1000));
  return (
    `Your click still holds the request for ${seconds} s (its claim could not be released: ` +
    `${release.reason}); please try again in ${seconds} s.`
  );
}
