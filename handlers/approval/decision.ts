/**
 * What the click, the modal submission and the work share: who may decide, the audit records of
 * a decision, and what a late clicker is told. Starting a decision (claim, then invoke the work)
 * is start.ts.
 */
import { putAudit, type AuditRecord } from "../store/audit";
import { approvalAuditPipeline } from "../contracts/slack-approval";
import type { StoredDecision } from "../store/approvals";
import { escapeSlackText } from "../slack-text";
import { clickPostTimeout, waitWithin } from "./budget";
import {
  actorLabel,
  alreadyDecidedPlain,
  alreadyDecidedText,
  ephemeral,
  mentionOf,
  REPLACED,
  humanTime,
  REPLACED_NEXT,
  slackTime,
} from "./messages";
import { postToResponseUrl } from "./slack-api";
import type { ApprovalClaim, ApprovalRuntime } from "./types";
import type { DenialReason } from "./authorize";
import { errorMessage } from "./util";

export { authorizeApprover, type Authorization, type DenialReason } from "./authorize";
export {
  CLAIM_MARGIN_MS,
  claimLeaseEnd,
  isStaleClaim,
  releaseClaim,
  releaseNote,
  releaseWords,
  retryText,
  type ReleaseResult,
} from "./lease";

/**
 * Writes an audit record without failing the flow: the decision in CodePipeline (which records
 * its own summary) matters more than our record of it, and a throw in the work would make Lambda
 * retry the whole asynchronous invocation. A failed write is logged.
 */
export async function audit(rt: ApprovalRuntime, record: AuditRecord): Promise<void> {
  try {
    await putAudit(record, rt.config.auditRetentionDays);
  } catch (err: unknown) {
    rt.log.error("audit write failed", {
      auditAction: record.action,
      pipeline: record.pipeline,
      error: errorMessage(err),
    });
  }
}

/**
 * The audit record fields that name a claim: the pipeline (its key, contracts/pipeline-id.ts:
 * the name at home, else its ARN), its account and region when known, execution and who.
 */
export function claimRecord(
  claim: ApprovalClaim,
): Pick<AuditRecord, "pipeline" | "account" | "region" | "executionId" | "actor"> {
  return {
    ...approvalAuditPipeline(claim),
    executionId: claim.executionId,
    actor: actorLabel(claim.user),
  };
}

/** The audit record `detail` of a claim: stage, action, decision, time and reason if any. */
export function claimDetail(claim: ApprovalClaim): Record<string, unknown> {
  const detail: Record<string, unknown> = {
    stage: claim.stage,
    action: claim.action,
    decision: claim.decision,
    at: claim.at,
  };
  if (claim.actionExecutionId !== undefined) detail.actionExecutionId = claim.actionExecutionId;
  if (claim.reason !== undefined) detail.reason = claim.reason;
  return detail;
}

/** Audits a click or submission by someone who may not decide (see {@link authorizeApprover}). */
export async function auditDenied(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  reason: DenialReason,
  why?: string,
): Promise<void> {
  const results: Record<DenialReason, string> = {
    "not-an-approver": "not an approver",
    "not-configured": "not configured",
    "no-source-access": `no access to the pipeline's account: ${why ?? "no role"}`,
    "unconfigured-source": `not a configured source: ${why ?? "account or region not configured"}`,
  };
  await audit(rt, {
    action: "approval-denied",
    ...claimRecord(claim),
    result: results[reason],
    detail: claimDetail(claim),
  });
}

/**
 * What the clicker is told when the work of an earlier claim was lost and theirs restarts it:
 * "The earlier approval by <@U…> at <!date^…|2026-12-01 14:02 UTC> did not finish; …" (times as
 * slack-text.ts `slackTime`). "Nothing was decided yet" only when that work never began deciding
 * (no `workStartedAt`: work.ts marks the claim before it calls CodePipeline); one that began may
 * have decided before it died (then the new work reports what CodePipeline holds).
 */
export function takeOverText(stale: StoredDecision): string {
  const verb = stale.decision === "Approved" ? "approval" : "rejection";
  const earlier = `The earlier ${verb} by ${mentionOf(stale.user.id)} at ${slackTime(stale.at)}`;
  if (stale.workStartedAt !== undefined) {
    return (
      `${earlier} did not finish and may have reached CodePipeline: yours is sent only if the ` +
      "request still waits; the message updates either way."
    );
  }
  return `${earlier} did not finish; nothing was decided yet, so your decision is being sent to CodePipeline now.`;
}

/** Audits a click or submission that came after someone else (`first`) decided. */
export async function auditAlreadyDecided(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  first: StoredDecision | undefined,
): Promise<void> {
  await audit(rt, {
    action: "approval-click",
    ...claimRecord(claim),
    result: lateClickResult(first),
    detail: claimDetail(claim),
  });
}

/**
 * The audit result of a late click, by the claim that was first (as {@link alreadyClaimedText}
 * tells the clicker): a request that could no longer be decided is "not decided: <why>" or
 * "refused: the request was <replaced>" as the first click's record says (the why in its audit
 * form, ISO 8601 times, when stored: store/approvals.ts `auditOutcome`), never "already decided
 * by" whoever clicked first and decided nothing; a claim still being worked on is "already being
 * decided by …"; a decision, "already decided by …" (scripts/audit.ts reads "already" as a late
 * click).
 */
export function lateClickResult(first: StoredDecision | undefined): string {
  if (!first) return "already decided";
  if (first.status === "final" && first.outcome === "superseded") {
    return `refused: the request was ${REPLACED} (late click)`;
  }
  if (first.status === "final" && first.outcome) {
    const why = first.auditOutcome ?? first.outcome;
    return `not decided: ${why.replace(/\.$/, "")} (late click)`;
  }
  const by = `${actorLabel(first.user)} (${first.decision}) at ${first.at}`;
  if (first.status === "claimed") return `already being decided by ${by}`;
  return `already decided by ${by}`;
}

/** What the refused clicker of a run that was replaced is told (messages.ts `REPLACED`). */
export const SUPERSEDED_TEXT = `This request was ${REPLACED}; ${REPLACED_NEXT}.`;

/**
 * What a late clicker is told about the claim that is there: replaced by a newer run, settled
 * without a decision (why), being decided right now (work not finished yet), or who decided.
 * mrkdwn with mentions; `plain` for a modal's error, where mentions do not render.
 */
export function alreadyClaimedText(first: StoredDecision | undefined, plain = false): string {
  if (!first) return "This approval was already decided.";
  if (first.status === "final" && first.outcome === "superseded") return SUPERSEDED_TEXT;
  if (first.status === "final" && first.outcome) {
    const outcome = first.outcome.replace(/\.$/, "");
    const why = plain ? outcome : escapeSlackText(outcome);
    return `This approval can no longer be decided from Slack: ${why}.`;
  }
  if (first.status === "claimed") {
    const verb = first.decision === "Approved" ? "approved" : "rejected";
    const who = plain ? actorLabel(first.user) : mentionOf(first.user.id);
    return (
      `Already being ${verb} by ${who} at ${plain ? humanTime(first.at) : slackTime(first.at)}; ` +
      "the message updates once CodePipeline has the decision." +
      decideAgainAfter(first.leaseUntil, plain ? humanTime : slackTime)
    );
  }
  return plain
    ? alreadyDecidedPlain(first.decision, first.user, first.at)
    : alreadyDecidedText(first.decision, first.user.id, first.at);
}

/**
 * " If it has not by <time>, you can decide then." (`time`: slack-text.ts `slackTime`, or
 * `humanTime` for plain text): when a claim whose work died, or whose
 * release DynamoDB refused, stops holding the request (its `leaseUntil`, rounded up to the
 * minute, as the message shows minutes); "" for a claim without one.
 */
function decideAgainAfter(leaseUntil: string | undefined, time: (iso: string) => string): string {
  const until = leaseUntil === undefined ? Number.NaN : Date.parse(leaseUntil);
  if (Number.isNaN(until)) return "";
  const minute = new Date(Math.ceil(until / 60_000) * 60_000).toISOString();
  return ` If it has not by ${time(minute)}, you can decide then.`;
}

/** Tells the clicker (ephemeral) about the claim that was first, and audits the late click. */
export async function tellAlreadyDecided(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  first: StoredDecision | undefined,
  responseUrl: string | undefined,
): Promise<void> {
  const text = alreadyClaimedText(first);
  await auditAlreadyDecided(rt, claim, first);
  await postToResponseUrl(rt.log, responseUrl, ephemeral(text), clickPostTimeout(rt));
}

/**
 * Audits a click or rejection (`what`) whose claim DynamoDB did not record within the request's
 * budget (`reason`: the error's name) as `approval-error`: nothing was decided. Waited for only
 * within the budget (budget.ts `waitWithin`); a write still running then is not abandoned, and
 * its record is logged.
 */
export async function auditNotRecorded(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  what: "click" | "rejection",
  reason: string,
): Promise<void> {
  const record = {
    action: "approval-error" as const,
    ...claimRecord(claim),
    result: `${what} not recorded in time (${reason}); nothing was decided`,
    detail: claimDetail(claim),
  };
  if (!(await waitWithin(rt, audit(rt, record)))) {
    rt.log.error("audit write still running at the answer", { ...record });
  }
}
