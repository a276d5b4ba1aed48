/**
 * The Slack approval handler: Slack button click → verified, authorized, first click wins →
 * CodePipeline PutApprovalResult → the Slack message updated → audit records.
 *
 * One Lambda behind a function URL does two jobs:
 * - the **click** (handler.ts, click.ts, submission.ts): answers Slack within its 3 s budget. It
 *   verifies the signature, refuses replays, authorizes the clicker, claims the decision in
 *   DynamoDB (first click wins) and invokes itself asynchronously with an `approval-work` event;
 * - the **work** (work.ts): finds the token of exactly the run the request was posted for
 *   (token.ts: GetPipelineState, or ListActionExecutions in PARALLEL mode), calls
 *   PutApprovalResult, records how the claim settled and replaces the buttons in the Slack
 *   message (update.ts: `response_url`, else `chat.update` with the bot token). A request whose
 *   run was replaced by a newer action execution (a retried stage) is refused and its message
 *   says so (messages.ts `REPLACED`).
 *
 * A work event can only come from the Lambda Invoke API (IAM-authorized): a function URL event
 * always carries `requestContext` and its body is a string, so a caller on the URL cannot forge
 * one.
 *
 * Claims (store/approvals.ts) are kept once the outcome is final: decided, already decided in
 * CodePipeline, expired token, no longer pending, not found. Nobody can decide those from Slack
 * any more, so later clicks are told who clicked first. A claim is released (deleted) only when
 * nothing was decided for a reason that may pass: the self-invoke failed, or CodePipeline timed
 * out, throttled or failed; then the buttons stay and anyone may click again. A claim whose work
 * never settled (the work invocation died) is taken over by the next click once the function's
 * timeout (`workTimeoutSeconds`) plus a margin has passed, and its work restarts.
 *
 * Rejecting with a reason: when the Slack app secret has a `botToken`, a Reject click by an
 * approver (while nobody decided yet) opens a modal with `views.open` instead of deciding. The
 * `trigger_id` expires 3 s after the click, so the modal is opened before the ack, with a short
 * timeout; if Slack refuses or is slow, the click rejects at once without a reason, as without a
 * bot token. The modal's `view_submission` (same URL, same signature check) re-authorizes the
 * user, claims the decision and hands the same work event, with the reason, to the async work.
 */
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { createLogger, invocationFields } from "../telemetry";
import { handleRequest } from "./handler";
import { respond, unauthorized } from "./response";
import {
  WORK_MARKER,
  type ApprovalHandler,
  type ApprovalHandlerConfig,
  type ApprovalWorkEvent,
} from "./types";
import { errorMessage, isRecord } from "./util";
import { handleWork } from "./work";

export type {
  ApprovalClaim,
  ApprovalHandler,
  ApprovalHandlerConfig,
  ApprovalResponse,
  ApprovalWorkEvent,
  ApprovalWorkOutcome,
} from "./types";

function isWorkEvent(event: unknown): event is ApprovalWorkEvent {
  return (
    isRecord(event) && event["deploy-notifier"] === WORK_MARKER && !("requestContext" in event)
  );
}

/**
 * Builds the approval Lambda handler. This is the only entry point: `index.ts` hands it to
 * `CallbackFunction` as `callbackFactory: () => createApprovalHandler(config)`.
 *
 * Environment: `AUDIT_TABLE`, `SLACK_APP_SECRET_ARN` (JSON `{ signingSecret, botToken? }`) and
 * `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda; the function invokes itself asynchronously).
 */
export function createApprovalHandler(config: ApprovalHandlerConfig): ApprovalHandler {
  return async (event, context) => {
    const log = createLogger({ service: "approval", ...invocationFields(context) });
    const rt = { config, log, context };
    if (isWorkEvent(event)) return handleWork(rt, event);
    if (!isRecord(event) || !isRecord(event.requestContext)) {
      log.warn("approval handler received an unknown event");
      return unauthorized();
    }
    try {
      return await handleRequest(rt, event as LambdaFunctionURLEvent);
    } catch (err: unknown) {
      // DynamoDB or Lambda down: Slack shows the user an error and nothing was decided.
      log.error("approval request failed", { error: errorMessage(err) });
      return respond(500, "internal error");
    }
  };
}
