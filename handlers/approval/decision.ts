/**
 * What the click and the modal submission share: who may decide, the audit records of a decision,
 * and starting it — claim the decision (first click wins), then invoke this same function
 * asynchronously with the work event.
 */
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { putAudit, type AuditRecord } from "../store/audit";
import { lambda } from "../aws";
import { findPipelineRule } from "../routing";
import { claimDecision, releaseDecision } from "../store/approvals";
import { escapeSlackText } from "../slack-text";
import type { PipelineRule } from "../types";
import { actorLabel, alreadyDecidedText, ephemeral } from "./messages";
import { CLICK_POST_TIMEOUT_MS, postToResponseUrl } from "./slack-api";
import type { ApprovalClaim, ApprovalRuntime, ApprovalWorkEvent } from "./types";
import { errorMessage, errorName } from "./util";

/** Whether a user may decide an approval, and if not, why (shown to them, and audited). */
export type Authorization =
  | { allowed: true }
  | { allowed: false; reason: "not-configured" | "not-an-approver"; message: string };

/**
 * Decides whether `userId` may approve or reject `pipeline`: the pipeline must match a configured
 * rule with Slack approvals, and the user must be one of its approvers. `message` is safe mrkdwn.
 */
export function authorizeApprover(
  pipelines: PipelineRule[],
  pipeline: string,
  userId: string,
): Authorization {
  const rule = findPipelineRule(pipelines, pipeline);
  const name = escapeSlackText(pipeline);
  if (!rule?.approvals) {
    return {
      allowed: false,
      reason: "not-configured",
      message: `${name} is not configured for Slack approvals.`,
    };
  }
  if (!rule.approvals.approvers.includes(userId)) {
    return {
      allowed: false,
      reason: "not-an-approver",
      message: `You are not an approver for ${name}.`,
    };
  }
  return { allowed: true };
}

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

/** The audit record fields that name a claim: pipeline, execution and who. */
export function claimRecord(
  claim: ApprovalClaim,
): Pick<AuditRecord, "pipeline" | "executionId" | "actor"> {
  return {
    pipeline: claim.pipeline,
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
  if (claim.reason !== undefined) detail.reason = claim.reason;
  return detail;
}

/** Audits a click or submission by someone who may not decide (see {@link authorizeApprover}). */
export async function auditDenied(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  reason: "not-configured" | "not-an-approver",
): Promise<void> {
  await audit(rt, {
    action: "approval-denied",
    ...claimRecord(claim),
    result: reason === "not-an-approver" ? "not an approver" : "not configured",
    detail: claimDetail(claim),
  });
}

/** Releases a claim so that someone can retry (only if it is still ours); failures are logged. */
export async function releaseClaim(rt: ApprovalRuntime, claim: ApprovalClaim): Promise<void> {
  try {
    await releaseDecision(claim);
  } catch (err: unknown) {
    rt.log.error("approval claim release failed", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: errorName(err),
    });
  }
}

/** What became of an attempt to claim a decision and start its work. */
export type StartResult =
  | { status: "started" }
  | { status: "taken"; existing: ApprovalClaim | undefined }
  | { status: "failed" };

/**
 * Claims the decision (first click wins) and invokes this function asynchronously to do the
 * work. Audits the claim (with `note` in its detail), or the failure to start (then the claim is
 * released). DynamoDB errors of the claim itself are thrown.
 */
export async function startDecision(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  note: Record<string, unknown> = {},
): Promise<StartResult> {
  const { claim } = work;
  const claimed = await claimDecision(claim, rt.config.auditRetentionDays);
  if (!claimed.won) return { status: "taken", existing: claimed.existing };
  try {
    const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME || rt.context?.functionName;
    if (!functionName) throw new Error("environment variable AWS_LAMBDA_FUNCTION_NAME is not set");
    await lambda().send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "Event",
        Payload: Buffer.from(JSON.stringify(work)),
      }),
    );
  } catch (err: unknown) {
    // Nothing was decided: release the claim so that the click can be retried.
    await releaseClaim(rt, claim);
    rt.log.error("approval self-invoke failed", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: errorMessage(err),
    });
    await audit(rt, {
      action: "approval-error",
      ...claimRecord(claim),
      result: `could not start the approval: ${errorName(err)}`,
      detail: claimDetail(claim),
    });
    return { status: "failed" };
  }
  await audit(rt, {
    action: "approval-click",
    ...claimRecord(claim),
    result: "claimed",
    detail: { ...claimDetail(claim), ...note },
  });
  return { status: "started" };
}

/** Audits a click or submission that came after someone else (`first`) decided. */
export async function auditAlreadyDecided(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  first: ApprovalClaim | undefined,
): Promise<void> {
  await audit(rt, {
    action: "approval-click",
    ...claimRecord(claim),
    result: first
      ? `already decided by ${actorLabel(first.user)} (${first.decision}) at ${first.at}`
      : "already decided",
    detail: claimDetail(claim),
  });
}

/** Tells the clicker (ephemeral) who decided first, and audits the late click. */
export async function tellAlreadyDecided(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  first: ApprovalClaim | undefined,
  responseUrl: string | undefined,
): Promise<void> {
  const text = first
    ? alreadyDecidedText(first.decision, first.user.id, first.at)
    : "This approval was already decided.";
  await auditAlreadyDecided(rt, claim, first);
  await postToResponseUrl(rt.log, responseUrl, ephemeral(text), CLICK_POST_TIMEOUT_MS);
}
