/**
 * Replaces the approval request message once the work knows the outcome: through the
 * interaction's `response_url` while it works, else with `chat.update` (the Slack app's bot token,
 * the message's channel and `ts`). Slack keeps a response_url for 30 minutes and up to 5 uses
 * (REFERENCE.md, Slack): a slow reject-with-reason, or a takeover of lost work, can outlive it.
 * When neither works, the audit trail says so (`message-not-updated`): the buttons are still live.
 */
import { requireEnv, secretJson } from "../aws";
import { ENV, type SlackAppSecrets } from "../types";
import { audit, claimDetail, claimRecord } from "./decision";
import type { ResponseUrlBody } from "./messages";
import { postResponse, updateChatMessage, WORK_POST_TIMEOUT_MS } from "./slack-api";
import type { ApprovalRuntime, ApprovalWorkEvent } from "./types";
import { errorMessage } from "./util";
import { redactAndCut } from "../redact";

/** How long Slack accepts posts to a response_url: 30 minutes (REFERENCE.md, Slack). */
export const RESPONSE_URL_MAX_AGE_MS = 30 * 60 * 1000;

/** How the message was updated, or undefined when it could not be. */
export type MessageUpdate = "response_url" | "chat.update" | undefined;

/** Why response_url cannot be used, or undefined when it may be tried. */
function responseUrlUnusable(work: ApprovalWorkEvent, now: number): string | undefined {
  if (!work.responseUrl) return "missing";
  const issued = Date.parse(work.responseUrlAt ?? work.claim.at);
  if (!Number.isNaN(issued) && now - issued > RESPONSE_URL_MAX_AGE_MS) {
    return "expired (older than 30 minutes)";
  }
  return undefined;
}

/** The bot token of the Slack app secret, or why there is none. Never throws. */
async function botToken(rt: ApprovalRuntime): Promise<{ token: string } | { why: string }> {
  try {
    const secrets = await secretJson<SlackAppSecrets>(requireEnv(ENV.slackAppSecretArn));
    return secrets.botToken ? { token: secrets.botToken } : { why: "no bot token" };
  } catch (err: unknown) {
    rt.log.warn("slack app secret unavailable for chat.update", { error: errorMessage(err) });
    return { why: "slack app secret unavailable" };
  }
}

/** Replaces the message with `chat.update`; undefined when done, else why not. Never throws. */
async function updateWithBot(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  body: ResponseUrlBody,
): Promise<string | undefined> {
  if (!work.channel || !work.messageTs) return "no channel and ts";
  const bot = await botToken(rt);
  if ("why" in bot) return bot.why;
  try {
    await updateChatMessage(
      rt.config.slackApiUrl,
      bot.token,
      { channel: work.channel, ts: work.messageTs, text: body.text, blocks: body.blocks },
      WORK_POST_TIMEOUT_MS,
    );
    return undefined;
  } catch (err: unknown) {
    rt.log.warn("slack chat.update failed", { error: errorMessage(err) });
    return redactAndCut(errorMessage(err), [bot.token], 200);
  }
}

/**
 * Replaces the request message with `body` (a `replace_original` body): response_url first
 * unless it is missing or older than 30 minutes, then `chat.update`. Audits
 * `message-not-updated` with both reasons when neither worked. Never throws.
 */
export async function updateRequestMessage(
  rt: ApprovalRuntime,
  work: ApprovalWorkEvent,
  body: ResponseUrlBody,
  now: number = Date.now(),
): Promise<MessageUpdate> {
  let responseUrl = responseUrlUnusable(work, now);
  if (responseUrl === undefined) {
    const posted = await postResponse(rt.log, work.responseUrl, body, WORK_POST_TIMEOUT_MS);
    if (posted.ok) return "response_url";
    responseUrl = posted.why;
  }
  const chatUpdate = await updateWithBot(rt, work, body);
  if (chatUpdate === undefined) return "chat.update";
  await audit(rt, {
    action: "message-not-updated",
    ...claimRecord(work.claim),
    result: `response_url: ${responseUrl}; chat.update: ${chatUpdate}`,
    detail: claimDetail(work.claim),
  });
  return undefined;
}
