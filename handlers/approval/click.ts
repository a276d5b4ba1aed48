/**
 * A verified `block_actions` click on an Approve / Reject button. Answers Slack within its 3 s
 * budget: authorizes the clicker, then either asks for a reason (a Reject with a bot token) or
 * claims the decision and starts the asynchronous work. Always answers 200: Slack only needs the
 * ack; the user is told in an ephemeral.
 */
import { cut } from "../events/fields";
import { UNKNOWN_PIPELINE } from "../store/audit";
import { decisionOf, parseApprovalButtonValue } from "../contracts/slack-approval";
import { readDecision } from "../store/approvals";
import { isRetryableStoreError } from "../store/claim";
import { clickPostTimeout, storeBudgetOf, viewsOpenTimeout, waitWithin } from "./budget";
import {
  audit,
  auditDenied,
  auditNotRecorded,
  authorizeApprover,
  claimDetail,
  claimRecord,
  isStaleClaim,
  retryText,
  takeOverText,
  tellAlreadyDecided,
} from "./decision";
import type { BlockActionsInteraction } from "./interaction";
import { rejectReasonMetadata } from "./interaction";
import { actorLabel, ephemeral, rejectReasonModal } from "./messages";
import { ok } from "./response";
import { openView, postToResponseUrl } from "./slack-api";
import { startDecision, tellRecording } from "./start";
import {
  WORK_MARKER,
  type ApprovalClaim,
  type ApprovalResponse,
  type ApprovalRuntime,
} from "./types";
import { errorMessage, errorName } from "./util";

/**
 * A Reject click with a bot token: asks for a reason in a modal instead of deciding. Answers the
 * request when it handled the click (modal opened, or already decided); `fallback` (why) when the
 * click should reject at once instead because the modal could not be opened.
 */
async function askForReason(
  rt: ApprovalRuntime,
  click: BlockActionsInteraction,
  claim: ApprovalClaim,
  botToken: string,
): Promise<{ answer: ApprovalResponse } | { fallback: string } | { unrecorded: string }> {
  let first;
  try {
    first = await readDecision(claim, storeBudgetOf(rt));
  } catch (err: unknown) {
    if (!isRetryableStoreError(err)) throw err;
    return { unrecorded: errorName(err) };
  }
  // A claim whose work was lost does not stop a new decision: the submission takes it over.
  if (first && !isStaleClaim(rt, first)) {
    await tellAlreadyDecided(rt, claim, first, click.responseUrl);
    return { answer: ok() };
  }
  if (!click.triggerId) return { fallback: "no trigger_id" };
  if (!click.responseUrl) return { fallback: "no response_url" };
  const metadata = rejectReasonMetadata({
    pipeline: claim.pipeline,
    stage: claim.stage,
    action: claim.action,
    executionId: claim.executionId,
    actionExecutionId: claim.actionExecutionId,
    account: claim.account,
    region: claim.region,
    responseUrl: click.responseUrl,
    clickedAt: claim.at,
    channel: click.channelId,
    messageTs: click.messageTs,
    message: click.message,
  });
  if (metadata === undefined) return { fallback: "private_metadata too long" };
  try {
    const viewId = await openView(
      rt.config.slackApiUrl,
      botToken,
      click.triggerId,
      rejectReasonModal(claim, metadata),
      viewsOpenTimeout(rt),
    );
    const written = audit(rt, {
      action: "approval-click",
      ...claimRecord(claim),
      result: "reason requested",
      detail: { ...claimDetail(claim), viewId },
    });
    await waitWithin(rt, written);
    return { answer: ok() };
  } catch (err: unknown) {
    rt.log.warn("reject reason modal failed: rejecting without a reason", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: errorMessage(err),
    });
    return { fallback: errorMessage(err) };
  }
}

/**
 * The claim a click asks for, or undefined when it asks for nothing that can be decided (a
 * foreign button, a malformed value): that is audited, and the user told about a malformed one.
 */
async function claimOfClick(
  rt: ApprovalRuntime,
  click: BlockActionsInteraction,
): Promise<ApprovalClaim | undefined> {
  const decision = decisionOf(click.actionId);
  const target = parseApprovalButtonValue(click.value);
  if (!decision) {
    await audit(rt, {
      action: "ignored",
      pipeline: target?.pipeline ?? UNKNOWN_PIPELINE,
      executionId: target?.executionId,
      actor: actorLabel(click.user),
      result: "unknown action id",
      detail: { actionId: cut(click.actionId, 255) },
    });
    return undefined;
  }
  if (!target) {
    await audit(rt, {
      action: "approval-error",
      pipeline: UNKNOWN_PIPELINE,
      actor: actorLabel(click.user),
      result: "malformed button value",
    });
    await postToResponseUrl(
      rt.log,
      click.responseUrl,
      ephemeral("This approval button is malformed; nothing was decided."),
      clickPostTimeout(rt),
    );
    return undefined;
  }
  return { ...target, decision, user: click.user, at: new Date().toISOString() };
}

/**
 * What a clicker is told when DynamoDB did not record the click within Slack's 3 s (budget.ts)
 * and nothing will record it: refused until the budget ran out, or not answered and the work
 * that would settle it could not be started. Nothing was decided, and trying again works (a claim
 * of theirs left behind is replaced by their next click with the same decision, start.ts).
 */
export const NOT_RECORDED_TEXT =
  "⚠️ Could not record your click in time (the decision store was too slow to answer); " +
  "nothing was decided. Please try again.";

/**
 * What a clicker is told when DynamoDB did not answer the claim within Slack's 3 s and the work
 * was started to settle it (start.ts `recording`): the work decides (or says who holds the
 * request) off the 3 s path.
 */
export const RECORDING_TEXT =
  "⏳ Your click is being recorded (AWS was slow to answer); " +
  "the message updates once CodePipeline has the decision.";

/**
 * A click that could not be recorded within the request's budget (`reason`: the DynamoDB error's
 * name): the clicker told {@link NOT_RECORDED_TEXT} and `approval-error` audited, both within the
 * budget; the audit write is not abandoned when it takes longer, only no longer waited for
 * (logged with its record then).
 */
async function tellNotRecorded(
  rt: ApprovalRuntime,
  click: BlockActionsInteraction,
  claim: ApprovalClaim,
  reason: string,
): Promise<ApprovalResponse> {
  rt.log.warn("approval click not recorded in time", { pipeline: claim.pipeline, error: reason });
  await Promise.all([
    postToResponseUrl(
      rt.log,
      click.responseUrl,
      ephemeral(NOT_RECORDED_TEXT),
      clickPostTimeout(rt),
    ),
    auditNotRecorded(rt, claim, "click", reason),
  ]);
  return ok();
}

/**
 * Handles a verified `block_actions` click within the request's budget (budget.ts). Always
 * answers 200. `botToken` (from the Slack app secret) enables the reject-reason modal;
 * `unrecorded` (the error's name) when the replay guard could not be written in time: then
 * nothing is decided and the clicker is told so. DynamoDB errors of the claim other than running
 * out of time are thrown.
 */
export async function handleClick(
  rt: ApprovalRuntime,
  click: BlockActionsInteraction,
  opts: { botToken?: string; unrecorded?: string },
): Promise<ApprovalResponse> {
  const { botToken, unrecorded } = opts;
  const claim = await claimOfClick(rt, click);
  if (!claim) return ok();
  if (unrecorded) return tellNotRecorded(rt, click, claim, unrecorded);
  const authorization = authorizeApprover(
    rt.config.pipelines,
    claim,
    click.user.id,
    rt.config.sources,
  );
  if (!authorization.allowed) {
    await auditDenied(rt, claim, authorization.reason, authorization.detail);
    await postToResponseUrl(
      rt.log,
      click.responseUrl,
      ephemeral(authorization.message),
      clickPostTimeout(rt),
    );
    return ok();
  }

  const note: Record<string, unknown> = {};
  if (claim.decision === "Rejected" && botToken) {
    const asked = await askForReason(rt, click, claim, botToken);
    if ("answer" in asked) return asked.answer;
    if ("unrecorded" in asked) return tellNotRecorded(rt, click, claim, asked.unrecorded);
    note.reasonPrompt = `failed: ${asked.fallback}`;
  }

  const started = await startDecision(
    rt,
    {
      "deploy-notifier": WORK_MARKER,
      claim,
      responseUrl: click.responseUrl,
      responseUrlAt: claim.at,
      channel: click.channelId,
      messageTs: click.messageTs,
      message: click.message,
    },
    note,
  );
  switch (started.status) {
    case "started":
      if (started.tookOver) {
        await postToResponseUrl(
          rt.log,
          click.responseUrl,
          ephemeral(takeOverText(started.tookOver)),
          clickPostTimeout(rt),
        );
      }
      break;
    case "taken":
      await tellAlreadyDecided(rt, claim, started.existing, click.responseUrl);
      break;
    case "failed":
      await postToResponseUrl(
        rt.log,
        click.responseUrl,
        ephemeral(
          `⚠️ Could not start the approval; nothing was decided. ${retryText(started.release)}`,
        ),
        clickPostTimeout(rt),
      );
      break;
    case "recording":
      await tellRecording(rt, click.responseUrl, RECORDING_TEXT, started.audit);
      break;
    case "unrecorded":
      return tellNotRecorded(rt, click, claim, started.reason);
    default: {
      const unreachable: never = started;
      throw new Error(`approval: unhandled start result ${JSON.stringify(unreachable)}`);
    }
  }
  return ok();
}
