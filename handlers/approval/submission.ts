/**
 * The submitted reject-reason modal (`view_submission`): re-validates the metadata the modal
 * carried through Slack, re-authorizes the user, claims the decision and starts the rejection
 * with the reason. An empty 200 closes the modal; an `errors` answer keeps it open with a message
 * under the reason.
 */
import { cut } from "../events/fields";
import { UNKNOWN_PIPELINE } from "../store/audit";
import { REJECT_REASON_CALLBACK_ID, REJECT_REASON_INPUT_ID } from "../contracts/slack-approval";
import {
  alreadyClaimedText,
  audit,
  auditAlreadyDecided,
  auditDenied,
  auditNotRecorded,
  authorizeApprover,
  retryText,
  takeOverText,
} from "./decision";
import { normalizeReason, parseRejectReasonMetadata, type ViewSubmission } from "./interaction";
import { actorLabel, ephemeral } from "./messages";
import { postToResponseUrl } from "./slack-api";
import { clickPostTimeout } from "./budget";
import { ok, respond } from "./response";
import { startDecision, tellRecording } from "./start";
import {
  WORK_MARKER,
  type ApprovalClaim,
  type ApprovalResponse,
  type ApprovalRuntime,
  type ApprovalWorkEvent,
} from "./types";

/**
 * What the submitter is told (ephemeral, the modal closed) when DynamoDB did not answer the claim
 * in time and the work was started to settle it (start.ts `recording`).
 */
export const RECORDING_REJECTION_TEXT =
  "⏳ Your rejection is being recorded (AWS was slow to answer); " +
  "the message updates once CodePipeline has the decision.";

/** The answer to a view_submission that keeps the modal open with an error under the reason. */
function modalError(message: string): ApprovalResponse {
  return respond(
    200,
    JSON.stringify({ response_action: "errors", errors: { [REJECT_REASON_INPUT_ID]: message } }),
    "application/json",
  );
}

/**
 * The rejection a submission asks for, or the answer to give when it asks for nothing that can
 * be decided (a foreign modal, malformed metadata, no reason); those are audited where useful.
 */
async function claimOfSubmission(
  rt: ApprovalRuntime,
  submission: ViewSubmission,
): Promise<{ work: ApprovalWorkEvent } | ApprovalResponse> {
  if (submission.callbackId !== REJECT_REASON_CALLBACK_ID) {
    await audit(rt, {
      action: "ignored",
      pipeline: UNKNOWN_PIPELINE,
      actor: actorLabel(submission.user),
      result: "unknown view callback_id",
      detail: { callbackId: cut(submission.callbackId, 255) },
    });
    return ok();
  }
  const meta = parseRejectReasonMetadata(submission.privateMetadata);
  if (!meta) {
    await audit(rt, {
      action: "rejected-input",
      pipeline: UNKNOWN_PIPELINE,
      actor: actorLabel(submission.user),
      result: "malformed reject-reason private_metadata",
    });
    return modalError("This form is malformed; nothing was decided.");
  }
  const reason = normalizeReason(submission.reason);
  if (reason === undefined) return modalError("Please give a reason.");
  const claim: ApprovalClaim = {
    pipeline: meta.pipeline,
    stage: meta.stage,
    action: meta.action,
    executionId: meta.executionId,
    ...(meta.actionExecutionId && { actionExecutionId: meta.actionExecutionId }),
    decision: "Rejected",
    user: submission.user,
    at: new Date().toISOString(),
    reason,
  };
  return {
    work: {
      "deploy-notifier": WORK_MARKER,
      claim,
      responseUrl: meta.responseUrl,
      responseUrlAt: meta.clickedAt,
      channel: meta.channel,
      messageTs: meta.messageTs,
      message: meta.message,
    },
  };
}

/**
 * Handles a verified `view_submission` of the reject-reason modal. DynamoDB errors of the claim
 * are thrown.
 */
export async function handleReasonSubmission(
  rt: ApprovalRuntime,
  submission: ViewSubmission,
): Promise<ApprovalResponse> {
  const asked = await claimOfSubmission(rt, submission);
  if (!("work" in asked)) return asked;
  const { claim } = asked.work;
  const authorization = authorizeApprover(
    rt.config.pipelines,
    claim,
    claim.user.id,
    rt.config.sources,
  );
  if (!authorization.allowed) {
    await auditDenied(rt, claim, authorization.reason, authorization.detail);
    return modalError(authorization.message);
  }

  const started = await startDecision(rt, asked.work);
  switch (started.status) {
    case "started":
      if (started.tookOver) {
        // The modal closes; the clicker learns in the channel why their rejection restarts.
        const text = takeOverText(started.tookOver);
        await postToResponseUrl(
          rt.log,
          asked.work.responseUrl,
          ephemeral(text),
          clickPostTimeout(rt),
        );
      }
      return ok();
    case "taken": {
      const first = started.existing;
      await auditAlreadyDecided(rt, claim, first);
      return modalError(alreadyClaimedText(first, true));
    }
    case "failed":
      return modalError(
        `Could not start the rejection; nothing was decided. ${retryText(started.release)}`,
      );
    case "recording":
      // The modal closes; the work settles the claim and decides, or tells who holds it.
      await tellRecording(rt, asked.work.responseUrl, RECORDING_REJECTION_TEXT, started.audit);
      return ok();
    case "unrecorded":
      await auditNotRecorded(rt, claim, "rejection", started.reason);
      return modalError(
        "Could not record your rejection in time; nothing was decided. Please try again.",
      );
    default: {
      const unreachable: never = started;
      throw new Error(`approval: unhandled start result ${JSON.stringify(unreachable)}`);
    }
  }
}
