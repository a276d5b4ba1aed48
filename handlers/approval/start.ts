/**
 * Starting a decision on Slack's 3 s path (click.ts, submission.ts): claim it (first click wins),
 * then invoke this same function asynchronously with the work event (work.ts). A claim whose
 * outcome the request's budget left unknown — DynamoDB may have applied it and only its answer
 * did not come in time — is not left behind with nobody working on it: the work is invoked to
 * settle it off the 3 s path (unconfirmed.ts). The work itself claims through
 * {@link claimForWork} too.
 */
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { lambda, lambdaOnce } from "../aws";
import {
  claimDecision,
  takeOverDecision,
  type StoreBudget,
  type StoredDecision,
} from "../store/approvals";
import { isRetryableStoreError, wasRefused } from "../store/claim";
import { clickPostTimeout, invokeTimeout, storeBudgetOf, waitWithin } from "./budget";
import { audit, claimDetail, claimRecord } from "./decision";
import {
  claimLeaseEnd,
  isStaleClaim,
  releaseClaim,
  releaseNote,
  type ReleaseResult,
} from "./lease";
import { actorLabel, ephemeral } from "./messages";
import { postToResponseUrl } from "./slack-api";
import type { ApprovalClaim, ApprovalRuntime, ApprovalWorkEvent } from "./types";
import { errorMessage, errorName } from "./util";

/**
 * What became of an attempt to claim a decision and start its work. `started`: claimed — having
 * taken over `tookOver` (a claim whose work was lost) or `replaced` (the clicker's own earlier
 * claim with the same decision, whose work had not started) — and the work invoked; `recording`:
 * whether DynamoDB applied the claim was not known within the request's budget (`reason`: the
 * last error's name) and the work was invoked to settle it, or the claim was made and the work's
 * invoke not answered in time (`audit`: its `approval-error` record being written, for the
 * caller to wait for within the budget, budget.ts `waitWithin`); `taken`: someone was first;
 * `failed`: the work could not be started (`release` says whether the claim was given back);
 * `unrecorded`: DynamoDB refused the claim until the budget ran out, or its outcome was unknown
 * and the work could not be invoked either (`reason` says which): nothing was decided, and the
 * clicker's retry can claim (a claim of theirs left behind is `replaced`).
 */
export type StartResult =
  | { status: "started"; tookOver?: StoredDecision; replaced?: StoredDecision }
  | { status: "recording"; reason: string; audit?: Promise<void> }
  | { status: "taken"; existing: StoredDecision | undefined }
  | { status: "failed"; release: ReleaseResult }
  | { status: "unrecorded"; reason: string };

/**
 * What came of claiming ({@link claimForWork}); `unrecorded` when the budget ran out (`reason`:
 * the last error's name), with `mayHold` when an attempt went unanswered or met a 5xx
 * (store/claim.ts `wasRefused`): the claim may then be in the table.
 */
export type ClaimOutcome =
  | { status: "started"; tookOver?: StoredDecision; replaced?: StoredDecision }
  | { status: "taken"; existing: StoredDecision | undefined }
  | { status: "unrecorded"; reason: string; mayHold: boolean };

/**
 * Invokes this function asynchronously with `work`, aborted after `timeoutMs` when given (then
 * with one attempt, aws.ts `lambdaOnce`, so that a refusal keeps its 4xx); throws when Lambda
 * refuses or does not answer in time (an aborted invoke may still have been queued: the work then
 * finds the claim as it is and acts on that alone).
 */
async function invokeWork(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  timeoutMs?: number,
): Promise<void> {
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME || rt.context?.functionName;
  if (!functionName) throw new Error("environment variable AWS_LAMBDA_FUNCTION_NAME is not set");
  const client = timeoutMs === undefined ? lambda() : lambdaOnce();
  await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: "Event",
      Payload: Buffer.from(JSON.stringify(work)),
    }),
    timeoutMs === undefined ? {} : { abortSignal: AbortSignal.timeout(timeoutMs) },
  );
}

/**
 * Whether `existing` is a claim the clicker of `claim` left behind (same user and decision, an
 * earlier click: its ISO 8601 `at` sorts first) whose work has not started deciding (store/approvals.ts `markWorkStarted`): e.g.
 * of a click told its claim was not recorded, whose answer DynamoDB applied after all.
 */
function isOwnUnstartedClaim(existing: StoredDecision | undefined, claim: ApprovalClaim): boolean {
  return (
    existing !== undefined &&
    (existing.status ?? "claimed") === "claimed" &&
    existing.workStartedAt === undefined &&
    existing.user?.id === claim.user.id &&
    existing.decision === claim.decision &&
    existing.at < claim.at
  );
}

/**
 * Claims the decision (first click wins), or takes over a claim whose work was lost
 * ({@link isStaleClaim}), or — with `ownRetry`, for a new click — the clicker's own unstarted
 * claim ({@link isOwnUnstartedClaim}): within `budget`. Returns who holds it otherwise. With a
 * `budget.deadline`, a DynamoDB error a repeat could fix that outlasts it is answered
 * `unrecorded`; other errors are thrown.
 */
export async function claimForWork(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  budget: StoreBudget,
  ownRetry: boolean,
): Promise<ClaimOutcome> {
  const days = rt.config.auditRetentionDays;
  const failures: unknown[] = [];
  const leaseUntil = new Date(claimLeaseEnd(rt, claim.at)).toISOString();
  const bounded = { ...budget, failures, leaseUntil };
  try {
    const claimed = await claimDecision(claim, days, bounded);
    if (claimed.won) return { status: "started" };
    const { existing } = claimed;
    const stale = isStaleClaim(rt, existing);
    const own = !stale && ownRetry && isOwnUnstartedClaim(existing, claim);
    if (!existing || (!stale && !own)) return { status: "taken", existing };
    const taken = await takeOverDecision(claim, existing, days, { ...bounded, unstarted: own });
    if (!taken.won) return { status: "taken", existing: taken.existing };
    return own
      ? { status: "started", replaced: existing }
      : { status: "started", tookOver: existing };
  } catch (err: unknown) {
    if (budget.deadline === undefined || !isRetryableStoreError(err)) throw err;
    // Out of time (throttled, slow, aborted at the budget's end): applied only if unanswered.
    return { status: "unrecorded", reason: errorName(err), mayHold: !failures.every(wasRefused) };
  }
}

/** The `approval-click` result of a started claim. */
function claimedResult(started: Extract<ClaimOutcome, { status: "started" }>): string {
  if (started.tookOver) return "claimed: took over a claim whose work did not finish";
  if (started.replaced) {
    return `claimed: replaced the clicker's own claim of ${started.replaced.at}, whose work had not started`;
  }
  return "claimed";
}

/**
 * A claim whose outcome the budget left unknown: invokes the work with `unconfirmed` (bounded by
 * what is left of the answer budget, budget.ts `invokeTimeout`) to settle it, `recording`; when
 * Lambda refuses the invoke (a 4xx), `unrecorded` (logged; the clicker's audit record is the
 * caller's); when its answer does not come in time, `recording` too ({@link invokeUnanswered}).
 */
async function settleLater(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  reason: string,
  note: Record<string, unknown>,
): Promise<StartResult> {
  const clickAudit = {
    result: `claim not confirmed in time (${reason})`,
    detail: { ...claimDetail(work.claim), ...note },
  };
  try {
    await invokeWork(rt, { ...work, clickAudit, unconfirmed: { reason } }, invokeTimeout(rt));
    return { status: "recording", reason };
  } catch (err: unknown) {
    // Not answered in time (or a 5xx): Lambda may have queued the work, which then decides.
    if (!wasRefused(err)) return invokeUnanswered(rt, work.claim, err);
    rt.log.error("approval self-invoke failed after an unconfirmed claim", {
      pipeline: work.claim.pipeline,
      executionId: work.claim.executionId,
      error: errorMessage(err),
    });
    return {
      status: "unrecorded",
      reason: `${reason}; the work could not be started: ${errorName(err)}`,
    };
  }
}

/**
 * The work's invoke was not answered within the request's budget (a timeout, or a 5xx): Lambda
 * may have queued it, so the claim is kept — the work, if it runs, decides (work.ts marks the
 * claim before deciding); if it never runs, the clicker's next click with the same decision
 * replaces the claim ({@link claimForWork}). `recording`, with its `approval-error` record being
 * written (not awaited here: the budget is spent; the caller waits for it beside its answer).
 */
function invokeUnanswered(rt: ApprovalRuntime, claim: ApprovalClaim, err: unknown): StartResult {
  const reason = `the work's invoke was not answered in time: ${errorName(err)}`;
  rt.log.warn("approval self-invoke not answered; keeping the claim", {
    pipeline: claim.pipeline,
    executionId: claim.executionId,
    error: errorMessage(err),
  });
  const written = audit(rt, {
    action: "approval-error",
    ...claimRecord(claim),
    result: `${reason}; the decision goes ahead only if Lambda queued it (claim kept)`,
    detail: claimDetail(claim),
  });
  return { status: "recording", reason, audit: written };
}

/**
 * Claims the decision ({@link claimForWork}) and invokes this function asynchronously to do the
 * work, which writes the claim's `approval-click` audit record (with `note` in its detail): off
 * Slack's 3 s path. Audits a failure to start (then the claim is released). A claim whose outcome
 * is unknown is settled by the work (`recording`). DynamoDB errors of the claim other than
 * running out of the request's budget are thrown.
 */
export async function startDecision(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  note: Record<string, unknown> = {},
): Promise<StartResult> {
  const { claim } = work;
  const claimed = await claimForWork(rt, claim, storeBudgetOf(rt), true);
  if (claimed.status === "unrecorded") {
    if (claimed.mayHold) return settleLater(rt, work, claimed.reason, note);
    return { status: "unrecorded", reason: claimed.reason };
  }
  if (claimed.status !== "started") return claimed;
  const earlier = claimed.tookOver ?? claimed.replaced;
  const lost = earlier && {
    [claimed.tookOver ? "tookOver" : "replaced"]: {
      by: actorLabel(earlier.user),
      decision: earlier.decision,
      at: earlier.at,
    },
  };
  const clickAudit = {
    result: claimedResult(claimed),
    detail: { ...claimDetail(claim), ...note, ...lost },
  };
  try {
    await invokeWork(rt, { ...work, clickAudit }, invokeTimeout(rt));
  } catch (err: unknown) {
    if (!wasRefused(err)) return invokeUnanswered(rt, claim, err);
    // Lambda refused it, so nothing was decided: release the claim so that the click can be retried.
    const release = await releaseClaim(rt, claim);
    rt.log.error("approval self-invoke failed", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: errorMessage(err),
    });
    await audit(rt, {
      action: "approval-error",
      ...claimRecord(claim),
      result: `could not start the approval: ${errorName(err)}${releaseNote(release)}`,
      detail: claimDetail(claim),
    });
    return { status: "failed", release };
  }
  return claimed;
}

/**
 * Tells the clicker `text` (a `recording` start) while the start's own audit write, if any, goes
 * on: both within the request's budget; the write is only no longer waited for after it.
 */
export async function tellRecording(
  rt: ApprovalRuntime,
  responseUrl: string | undefined,
  text: string,
  pending: Promise<void> = Promise.resolve(),
): Promise<void> {
  const [, written] = await Promise.all([
    postToResponseUrl(rt.log, responseUrl, ephemeral(text), clickPostTimeout(rt)),
    waitWithin(rt, pending),
  ]);
  if (!written) rt.log.error("audit write still running at the answer", {});
}
