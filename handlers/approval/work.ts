/**
 * The asynchronous work of a claimed decision, in an invocation of its own (no Slack deadline):
 * GetPipelineState for the current approval token → PutApprovalResult → the Slack message
 * updated through `response_url` → audit. A claim is kept when the outcome is final and released
 * when nothing was decided for a reason that may pass (then the buttons stay).
 */
import type * as CodePipelineSdk from "@aws-sdk/client-codepipeline";
import { codepipeline } from "../aws";
import { parseApprovalButtonValue } from "../contracts/slack-approval";
import { escapeSlackText } from "../slack-text";
import { audit, claimDetail, claimRecord, releaseClaim } from "./decision";
import { normalizeReason } from "./interaction";
import {
  approvalSummary,
  decisionLine,
  ephemeral,
  mentionOf,
  replaceButtons,
  utcTime,
} from "./messages";
import { postToResponseUrl, WORK_POST_TIMEOUT_MS } from "./slack-api";
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
  StageNotFoundException: "stage not found",
  ActionNotFoundException: "action not found",
};

/** The approval token of the claimed action, or why there is none to use. */
function pendingToken(
  state: CodePipelineSdk.GetPipelineStateCommandOutput,
  claim: ApprovalClaim,
): { token: string } | { final: string } {
  const stage = state.stageStates?.find((s) => s.stageName === claim.stage);
  if (!stage) return { final: "stage not found" };
  const action = stage.actionStates?.find((a) => a.actionName === claim.action);
  if (!action) return { final: "action not found" };
  const execution = action.latestExecution;
  if (
    stage.latestExecution?.pipelineExecutionId !== claim.executionId ||
    execution?.status !== "InProgress"
  ) {
    return { final: "this approval is no longer pending" };
  }
  if (!execution.token) return { final: "this approval has expired or was already handled" };
  return { token: execution.token };
}

/** Puts the decision into CodePipeline; never throws (errors become final or transient). */
async function decideInCodePipeline(
  rt: ApprovalRuntime,
  claim: ApprovalClaim,
  reason: string | undefined,
): Promise<ApprovalWorkOutcome> {
  // Required here, not at the top: only this asynchronous work calls CodePipeline, so the click
  // that Slack waits for does not pay for loading the client.
  const { GetPipelineStateCommand, PutApprovalResultCommand } =
    require("@aws-sdk/client-codepipeline") as typeof CodePipelineSdk;
  try {
    const state = await codepipeline().send(new GetPipelineStateCommand({ name: claim.pipeline }));
    const pending = pendingToken(state, claim);
    if ("final" in pending) return { outcome: "final-error", reason: pending.final };
    await codepipeline().send(
      new PutApprovalResultCommand({
        pipelineName: claim.pipeline,
        stageName: claim.stage,
        actionName: claim.action,
        result: {
          status: claim.decision,
          summary: approvalSummary(claim.decision, claim.user, reason),
        },
        token: pending.token,
      }),
    );
    return { outcome: "decided" };
  } catch (err: unknown) {
    const name = errorName(err);
    rt.log.warn("approval CodePipeline call failed", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: name,
      errorMessage: errorMessage(err),
    });
    const final = FINAL_ERRORS[name];
    return final
      ? { outcome: "final-error", reason: final }
      : { outcome: "transient-error", reason: `CodePipeline error ${name}` };
  }
}

/** Tells Slack and the audit trail what came of the decision; releases the claim if it may pass. */
async function report(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  result: ApprovalWorkOutcome,
  reason: string | undefined,
): Promise<void> {
  const { claim } = work;
  const post = (body: Parameters<typeof postToResponseUrl>[2]) =>
    postToResponseUrl(rt.log, work.responseUrl, body, WORK_POST_TIMEOUT_MS);
  const named = claimRecord(claim);
  const detail = claimDetail(claim);
  const verb = claim.decision === "Approved" ? "approve" : "reject";
  switch (result.outcome) {
    case "decided":
      await post(
        replaceButtons(
          work.message,
          decisionLine(claim.decision, claim.user.id, claim.at, reason),
          claim,
        ),
      );
      await audit(rt, { action: "approval-decided", ...named, result: claim.decision, detail });
      break;
    case "final-error":
      await post(
        replaceButtons(
          work.message,
          `⚠️ Could not ${verb}: ${escapeSlackText(result.reason)} (${mentionOf(claim.user.id)} at ${utcTime(claim.at)}).`,
        ),
      );
      await audit(rt, { action: "approval-error", ...named, result: result.reason, detail });
      break;
    case "transient-error":
    case "invalid":
      // Nothing was decided and trying again may work: keep the buttons, release the claim.
      await releaseClaim(rt, claim);
      await post(
        ephemeral(
          `⚠️ Could not ${verb} now (CodePipeline did not answer); nothing was decided. Please try again.`,
        ),
      );
      await audit(rt, {
        action: "approval-error",
        ...named,
        result: `${result.reason}; claim released`,
        detail,
      });
      break;
    default: {
      const unreachable: never = result;
      throw new Error(`approval: unhandled outcome ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Does the work of a claimed decision and returns what came of it. Never throws for CodePipeline
 * or Slack failures (a throw would make Lambda retry the asynchronous invocation); a malformed
 * event is refused as `invalid` without touching anything.
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
  // Only a rejection carries a reason; re-normalized because the event is only as good as its sender.
  const reason = claim.decision === "Rejected" ? normalizeReason(claim.reason) : undefined;
  const result = await decideInCodePipeline(rt, claim, reason);
  await report(rt, work, result, reason);
  rt.log.info("approval work done", {
    pipeline: claim.pipeline,
    executionId: claim.executionId,
    outcome: result.outcome,
  });
  return result;
}
