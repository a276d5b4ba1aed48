/**
 * The asynchronous work of a claimed decision, in an invocation of its own (no Slack deadline):
 * the token of exactly the claimed run (token.ts) → PutApprovalResult → the claim settled
 * (`decided` / `final`) → the Slack message updated (update.ts: response_url, else chat.update)
 * → audit (report.ts). A claim is kept when the outcome is final and released when nothing was
 * decided for a reason that may pass (then the buttons stay). A request whose run was replaced by
 * a newer run is refused: the clicker is told, the old message says so, `approval-superseded` is
 * audited. The click's own `approval-click` record is written here first, off Slack's 3 s; a
 * claim the click could not confirm in time is settled first (unconfirmed.ts), and the claim is
 * marked as being decided before CodePipeline is called (`startWork`).
 */
import type * as CodePipelineSdk from "@aws-sdk/client-codepipeline";
import { codepipelineFor } from "../aws";
import { approvalPipelineRef, parseApprovalButtonValue } from "../contracts/slack-approval";
import { markWorkStarted } from "../store/approvals";
import { audit, CLAIM_MARGIN_MS, claimDetail, claimLeaseEnd, claimRecord } from "./decision";
import { normalizeReason } from "./interaction";
import { approvalSummary } from "./messages";
import { report } from "./report";
import { WORK_POST_TIMEOUT_MS } from "./slack-api";
import type { RunEnd } from "./ended";
import { findRunToken } from "./token";
import { settleUnconfirmed } from "./unconfirmed";
import type {
  ApprovalClaim,
  ApprovalRuntime,
  ApprovalWorkEvent,
  ApprovalWorkOutcome,
} from "./types";
import { errorMessage, errorName, isRecord } from "./util";

/**
 * CodePipeline errors after which nothing can be decided from Slack any more (claim kept), with
 * what the user is told.
 */
const FINAL_ERRORS: Record<string, string> = {
  ApprovalAlreadyCompletedException: "already decided in CodePipeline",
  InvalidApprovalTokenException: "this approval has expired or was already handled",
  PipelineNotFoundException: "pipeline not found",
  // ListActionExecutions (the token of a PARALLEL pipeline's run): "cannot be found, or an
  // execution ID does not belong to the specified pipeline" (API reference, Errors).
  PipelineExecutionNotFoundException: "pipeline execution not found",
  StageNotFoundException: "stage not found",
  ActionNotFoundException: "action not found",
};

/** What reading the claimed run back says of this work's decision ({@link readBack}). */
type ReadBack =
  | { verdict: "ours" }
  | { verdict: "not-ours"; reason: string; end?: RunEnd }
  | { verdict: "unknown" };

/**
 * Whether the claimed run now carries exactly the decision this work put (its status and
 * `summary`): after `ApprovalAlreadyCompletedException` (or `InvalidApprovalTokenException`, the
 * stage retried since), the SDK's retry of a PutApprovalResult that CodePipeline applied but whose
 * reply was lost (a timeout, a reset) — our own decision, not someone else's. The run is read as
 * token.ts reads it (GetPipelineState, or ListActionExecutions in PARALLEL mode or once a newer
 * run replaced it). `not-ours` carries what the run says instead; `unknown`: the read failed.
 */
async function readBack(
  sdk: typeof CodePipelineSdk,
  claim: ApprovalClaim,
  summary: string,
): Promise<ReadBack> {
  const run = await findRunToken(sdk, claim).catch(() => undefined);
  if (!run) return { verdict: "unknown" };
  const status = claim.decision === "Approved" ? "Succeeded" : "Failed";
  const decided = run.status === "pending" ? undefined : run.decided;
  if (decided?.summary === summary && decided.status === status) return { verdict: "ours" };
  if (run.status === "pending") return { verdict: "not-ours", reason: "" };
  return {
    verdict: "not-ours",
    reason: run.reason,
    ...(run.status === "final" && { end: run.end }),
  };
}

/** What the retry of an applied PutApprovalResult whose reply was lost can answer. */
const LOST_REPLY_ANSWERS = ["ApprovalAlreadyCompletedException", "InvalidApprovalTokenException"];

/** Puts the decision into CodePipeline; never throws (errors become final or transient). */
async function decideInCodePipeline(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  reason: string | undefined,
): Promise<ApprovalWorkOutcome> {
  // Required here, not at the top: only this asynchronous work calls CodePipeline, so the click
  // that Slack waits for does not pay for loading the client.
  const sdk = require("@aws-sdk/client-codepipeline") as typeof CodePipelineSdk;
  const summary = approvalSummary(claim.decision, claim.user, reason);
  // Whether the execution was stopping as the run was found pending: also told when the reply to
  // the decision was lost (the read-back then finds the execution Stopped, not stopping).
  let stopping = false;
  try {
    const { PutApprovalResultCommand } = sdk;
    const run = await findRunToken(sdk, claim);
    if (run.status === "superseded") return { outcome: "superseded", reason: run.reason };
    if (run.status === "final") {
      return run.end
        ? { outcome: "ended", reason: run.reason, end: run.end }
        : { outcome: "final-error", reason: run.reason };
    }
    stopping = run.stopping === true;
    // In the pipeline's account and region: through the role assumed there (issue 14).
    await codepipelineFor(approvalPipelineRef(claim)).send(
      new PutApprovalResultCommand({
        pipelineName: claim.pipeline,
        stageName: claim.stage,
        actionName: claim.action,
        result: { status: claim.decision, summary },
        token: run.token,
      }),
    );
    return stopping ? { outcome: "decided", stopping } : { outcome: "decided" };
  } catch (err: unknown) {
    const name = errorName(err);
    // A PutApprovalResult applied but whose reply was lost: the SDK's retry meets the decided
    // run (ApprovalAlreadyCompleted), or its token is gone when the stage was retried since.
    const back = LOST_REPLY_ANSWERS.includes(name)
      ? await readBack(sdk, claim, summary)
      : undefined;
    if (back?.verdict === "ours") {
      rt.log.warn("approval decided; CodePipeline's reply to it was lost", {
        pipeline: claim.pipeline,
        executionId: claim.executionId,
      });
      return stopping ? { outcome: "decided", stopping } : { outcome: "decided" };
    }
    // Whether CodePipeline took this decision is not known: the buttons stay, the claim is
    // released, and the next click reads the run again (never a false "already decided").
    if (back?.verdict === "unknown") {
      const reason = `CodePipeline error ${name}; the run could not be read back`;
      return { outcome: "transient-error", reason, mayHaveDecided: true };
    }
    rt.log.warn("approval CodePipeline call failed", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: name,
      errorMessage: errorMessage(err),
    });
    if (back?.verdict === "not-ours" && back.end) {
      return { outcome: "ended", reason: back.reason, end: back.end };
    }
    const final = (back?.verdict === "not-ours" && back.reason) || FINAL_ERRORS[name];
    return final
      ? { outcome: "final-error", reason: final }
      : { outcome: "transient-error", reason: `CodePipeline error ${name}` };
  }
}

/**
 * Time the work keeps after a claim's release for the clicker's ephemeral (one response_url post,
 * {@link WORK_POST_TIMEOUT_MS}) and the audit write, ms.
 */
const REPORT_RESERVE_MS = WORK_POST_TIMEOUT_MS + 1000;

/**
 * Epoch ms by which the work's retries (a claim's release) end: the work's timeout after the
 * click (config `workTimeoutSeconds`), or its invocation's remaining time when Lambda says it is
 * sooner, less {@link REPORT_RESERVE_MS}.
 */
function workDeadline(rt: ApprovalRuntime, claim: ApprovalClaim, now = Date.now()): number {
  const byClaim = claimLeaseEnd(rt, claim.at) - CLAIM_MARGIN_MS;
  const byContext = rt.context ? now + rt.context.getRemainingTimeInMillis() : Infinity;
  return Math.min(byClaim, byContext) - REPORT_RESERVE_MS;
}

/**
 * Writes the click's `approval-click` record that the claim handed over (`work.clickAudit`): the
 * click path does not wait for it within Slack's 3 s.
 */
async function auditClick(rt: ApprovalRuntime, work: ApprovalWorkEvent): Promise<void> {
  const record = work.clickAudit;
  if (!isRecord(record) || typeof record.result !== "string") return;
  const detail = isRecord(record.detail) ? record.detail : {};
  await audit(rt, {
    action: "approval-click",
    ...claimRecord(work.claim),
    result: record.result,
    detail,
  });
}

/**
 * Marks the claim as being decided (store/approvals.ts `markWorkStarted`) while it is still this
 * work's and unsettled: a click may have taken it over while this invocation waited in Lambda's
 * queue (a claim whose work looked lost, or the clicker's own claim whose work had not started);
 * then the decision is the later click's, and this work decides nothing (audited). The mark and
 * such a takeover exclude each other, so a decision is sent once. A mark DynamoDB refuses for
 * other reasons lets the work go on (CodePipeline refuses a second decision of the same run).
 */
async function startWork(rt: ApprovalRuntime, work: ApprovalWorkEvent): Promise<boolean> {
  const { claim } = work;
  const leaseUntil = new Date(claimLeaseEnd(rt, claim.at)).toISOString();
  try {
    const days = rt.config.auditRetentionDays;
    if (await markWorkStarted(claim, days, leaseUntil)) return true;
  } catch (err: unknown) {
    rt.log.warn("approval claim start mark failed; deciding anyway", { error: errorName(err) });
    return true;
  }
  rt.log.warn("approval work skipped: the claim was taken over or already settled", {
    pipeline: claim.pipeline,
    executionId: claim.executionId,
  });
  await audit(rt, {
    action: "approval-click",
    ...claimRecord(claim),
    result:
      "not decided by its work: the claim was taken over or settled before the work started, " +
      "or another copy of this work started it",
    detail: claimDetail(claim),
  });
  return false;
}

/**
 * Epoch ms by which an `unconfirmed` work has settled its claim (unconfirmed.ts): half of the
 * time to `deadline`, so that the decision and its report keep the other half.
 */
function settleDeadline(deadline: number, now = Date.now()): number {
  return now + Math.max(0, deadline - now) / 2;
}

/**
 * Does the work of a claimed decision and returns what came of it. Never throws for CodePipeline
 * or Slack failures (a throw would make Lambda retry the asynchronous invocation); a malformed
 * event is refused as `invalid` without touching anything, and a claim that is no longer this
 * work's (taken over, or already settled), or that an `unconfirmed` work finds held by someone
 * else or cannot settle, is left alone (the clicker told, the click audited).
 */
export async function handleWork(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
): Promise<ApprovalWorkOutcome> {
  const { claim } = work;
  if (!isRecord(claim) || !parseApprovalButtonValue(JSON.stringify(claim)) || !claim.user?.id) {
    rt.log.error("malformed approval work event");
    return { outcome: "invalid", reason: "malformed approval work event" };
  }
  const deadline = workDeadline(rt, claim);
  if (work.unconfirmed) {
    const settled = await settleUnconfirmed(rt, work, settleDeadline(deadline));
    if (settled) return settled;
  } else await auditClick(rt, work);
  if (!(await startWork(rt, work))) {
    return { outcome: "final-error", reason: "the claim is no longer this work's" };
  }
  // Only a rejection carries a reason; re-normalized because the event is only as good as its sender.
  const reason = claim.decision === "Rejected" ? normalizeReason(claim.reason) : undefined;
  const result = await decideInCodePipeline(rt, claim, reason);
  await report(rt, work, result, reason, deadline);
  rt.log.info("approval work done", {
    pipeline: claim.pipeline,
    executionId: claim.executionId,
    outcome: result.outcome,
  });
  return result;
}
