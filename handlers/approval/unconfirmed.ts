/**
 * The work of a click whose claim was not confirmed within Slack's 3 s (start.ts: DynamoDB did
 * not answer the claim in time, so whether it was applied is unknown): settled here first, off
 * the click's path, with the work's own deadline. A strongly consistent read of the claim, retried
 * until the deadline, decides: this click's own claim (same user, click time and decision, still
 * `claimed`: applied, its answer late) — the work goes on as for any claim; no claim — the work
 * claims it itself (conditional: first click wins) and goes on if it wins; someone else's — the
 * clicker is told who holds it (ephemeral) and nothing is decided. Every outcome is audited.
 */
import { isOwnClaim, readDecision, type StoredDecision } from "../store/approvals";
import {
  alreadyClaimedText,
  audit,
  auditAlreadyDecided,
  claimDetail,
  claimRecord,
} from "./decision";
import { ephemeral } from "./messages";
import { postToResponseUrl, WORK_POST_TIMEOUT_MS } from "./slack-api";
import { claimForWork } from "./start";
import type { ApprovalRuntime, ApprovalWorkEvent, ApprovalWorkOutcome } from "./types";
import { errorName, isRecord } from "./util";

/**
 * What the clicker is told when not even the work could settle the claim before its deadline:
 * nothing was decided (a claim of theirs that DynamoDB may hold is replaced by their next click,
 * start.ts).
 */
export const NOT_SETTLED_TEXT =
  "⚠️ Could not record your click (the decision store did not answer); nothing was decided. " +
  "Please try again.";

/** Writes the click's `approval-click` record with `result`, the detail the click handed over. */
async function auditClick(rt: ApprovalRuntime, work: ApprovalWorkEvent, result: string) {
  const handed = work.clickAudit?.detail;
  const detail = isRecord(handed) ? handed : claimDetail(work.claim);
  await audit(rt, { action: "approval-click", ...claimRecord(work.claim), result, detail });
}

/** Nothing could be settled by `deadline`: the clicker told so, `approval-error` audited. */
async function notSettled(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  why: string,
): Promise<ApprovalWorkOutcome> {
  const { claim } = work;
  const reason = `click not recorded (${work.unconfirmed?.reason}); its claim could not be settled (${why}); nothing was decided`;
  rt.log.error("approval claim could not be settled", { pipeline: claim.pipeline, error: why });
  await postToResponseUrl(
    rt.log,
    work.responseUrl,
    ephemeral(NOT_SETTLED_TEXT),
    WORK_POST_TIMEOUT_MS,
  );
  await audit(rt, {
    action: "approval-error",
    ...claimRecord(claim),
    result: reason,
    detail: claimDetail(claim),
  });
  return { outcome: "transient-error", reason };
}

/** Someone else holds the request: the clicker told who (ephemeral), the click audited. */
async function heldByOther(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  first: StoredDecision | undefined,
): Promise<ApprovalWorkOutcome> {
  await auditAlreadyDecided(rt, work.claim, first);
  const text = alreadyClaimedText(first);
  await postToResponseUrl(rt.log, work.responseUrl, ephemeral(text), WORK_POST_TIMEOUT_MS);
  return { outcome: "final-error", reason: "someone else's claim holds the request" };
}

/**
 * Settles the claim of an `unconfirmed` work (see the file's comment) until `deadline` (epoch
 * ms). Undefined when the claim is this click's and the work goes on (its `approval-click`
 * record written); otherwise the work's outcome, the clicker told and the click audited. Never
 * throws.
 */
export async function settleUnconfirmed(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  deadline: number,
): Promise<ApprovalWorkOutcome | undefined> {
  const { claim } = work;
  const late = work.unconfirmed?.reason ?? "unknown";
  try {
    const current = await readDecision(claim, { deadline });
    if (isOwnClaim(current, claim)) {
      await auditClick(
        rt,
        work,
        `claimed (DynamoDB's answer came after the click's budget: ${late})`,
      );
      return undefined;
    }
    // The clicker's own earlier claim left behind (its work never started) is replaced, as a
    // new click's claim would replace it.
    const claimed = await claimForWork(rt, claim, { deadline }, true);
    if (claimed.status === "unrecorded") return notSettled(rt, work, claimed.reason);
    if (claimed.status === "taken") return heldByOther(rt, work, claimed.existing);
    const how = claimed.tookOver
      ? "took over a claim whose work did not finish"
      : "the click's own claim had not been applied";
    await auditClick(rt, work, `claimed by the work after ${late}: ${how}`);
    return undefined;
  } catch (err: unknown) {
    return notSettled(rt, work, errorName(err));
  }
}
