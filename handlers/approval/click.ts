/**
 * A verified `block_actions` click on an Approve / Reject button. Answers Slack within its 3 s
 * budget: authorizes the clicker, then either asks for a reason (a Reject with a bot token) or
 * claims the decision and starts the asynchronous work. Always answers 200: Slack only needs the
 * ack; the user is told in an ephemeral.
 */
import { UNKNOWN_PIPELINE } from "../store/audit";
import { decisionOf, parseApprovalButtonValue } from "../contracts/slack-approval";
import { readDecision } from "../store/approvals";
import {
  audit,
  auditDenied,
  authorizeApprover,
  claimDetail,
  claimRecord,
  isStaleClaim,
  startDecision,
  takeOverText,
  tellAlreadyDecided,
} from "./decision";
import type { BlockActionsInteraction } from "./interaction";
import { rejectReasonMetadata } from "./interaction";
import { actorLabel, ephemeral, rejectReasonModal } from "./messages";
import { ok } from "./response";
import { CLICK_POST_TIMEOUT_MS, openView, postToResponseUrl } from "./slack-api";
import {
  WORK_MARKER,
  type ApprovalClaim,
  type ApprovalResponse,
  type ApprovalRuntime,
} from "./types";
import { errorMessage } from "./util";

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
): Promise<{ answer: ApprovalResponse } | { fallback: string }> {
  const first = await readDecision(claim);
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
    );
    await audit(rt, {
      action: "approval-click",
      ...claimRecord(claim),
      result: "reason requested",
      detail: { ...claimDetail(claim), viewId },
    });
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
      detail: { actionId: click.actionId.slice(0, 255) },
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
      CLICK_POST_TIMEOUT_MS,
    );
    return undefined;
  }
  return { ...target, decision, user: click.user, at: new Date().toISOString() };
}

/**
 * Handles a verified `block_actions` click. Always answers 200. `botToken` (from the Slack app
 * secret) enables the reject-reason modal. DynamoDB errors of the claim are thrown.
 */
export async function handleClick(
  rt: ApprovalRuntime,
  click: BlockActionsInteraction,
  botToken: string | undefined,
): Promise<ApprovalResponse> {
  const claim = await claimOfClick(rt, click);
  if (!claim) return ok();
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
      CLICK_POST_TIMEOUT_MS,
    );
    return ok();
  }

  const note: Record<string, unknown> = {};
  if (claim.decision === "Rejected" && botToken) {
    const asked = await askForReason(rt, click, claim, botToken);
    if ("answer" in asked) return asked.answer;
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
          CLICK_POST_TIMEOUT_MS,
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
        ephemeral("⚠️ Could not start the approval; nothing was decided. Please try again."),
        CLICK_POST_TIMEOUT_MS,
      );
      break;
    default: {
      const unreachable: never = started;
      throw new Error(`approval: unhandled start result ${JSON.stringify(unreachable)}`);
    }
  }
  return ok();
}
