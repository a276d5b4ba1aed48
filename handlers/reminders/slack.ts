/**
 * The scan's Slack calls, through the channel instance the request was posted to:
 * - bot mode (secret `botToken`): a reminder is `chat.postMessage` with `thread_ts` = the
 *   request's `ts`, a reply in its thread (https://api.slack.com/methods/chat.postMessage,
 *   `thread_ts`: "Provide another message's ts value to make this message a reply"); expiry is
 *   `chat.update` of the request with its `channel` and `ts` and new blocks without the buttons
 *   (https://api.slack.com/methods/chat.update: "channel … containing the message to be updated",
 *   "ts: Timestamp of the message to be updated"; errors such as `message_not_found`,
 *   `cant_update_message`, `edit_window_closed` answer HTTP 200 with `ok: false`);
 * - webhook mode (secret `webhookUrl`): an incoming webhook only posts new messages, so both are
 *   new messages in the channel.
 * Answers are classified like every delivery (handlers/http-response.ts): Slack's `ok: false`
 * with `ratelimited` or a server error is retryable, any other error permanent.
 */
import { deliverHttp, requireSecret } from "../channels/common";
import type { SlackConfig } from "../channels/slack-format";
import type { ChannelContext, Logger, SnsPublisher } from "../channels/types";
import type { PendingApproval } from "../store/pending";
import type { ReminderMessage } from "./messages";

const DEFAULT_API_URL = "https://slack.com/api";

/** The channel instance a request was posted to, with what a call needs. */
export interface SlackTarget {
  /** Channel instance name (stack config). */
  name: string;
  config: SlackConfig;
  /** The instance's secret fields (`botToken` or `webhookUrl`). */
  secret: Record<string, string>;
  /** Epoch ms every call must settle before. */
  deadline: number;
  log: Logger;
}

/** The scan never publishes to SNS; the channel context requires a publisher. */
const NO_SNS: SnsPublisher = {
  publish: () => Promise.reject(new Error("reminders: SNS is not used")),
};

function contextOf(t: SlackTarget): ChannelContext<SlackConfig> {
  return {
    name: t.name,
    config: t.config,
    secret: t.secret,
    deadline: t.deadline,
    sns: NO_SNS,
    log: t.log,
  };
}

/** Calls Web API `method` with the bot token. */
async function webApi(t: SlackTarget, method: string, body: Record<string, unknown>) {
  const ctx = contextOf(t);
  const token = requireSecret("slack", ctx, "botToken");
  const base = (t.config.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, "");
  return deliverHttp("slack", ctx, `${base}/${method}`, body, {
    authorization: `Bearer ${token}`,
  });
}

/** Posts a new message: chat.postMessage in bot mode (in `threadTs`'s thread if given), else the webhook. */
async function postNew(
  t: SlackTarget,
  p: PendingApproval,
  message: ReminderMessage,
  threadTs?: string,
): Promise<void> {
  if (t.config.mode === "bot") {
    const channel = p.slackChannelId ?? t.config.channel;
    await webApi(t, "chat.postMessage", {
      channel,
      ...message,
      ...(threadTs && { thread_ts: threadTs }),
    });
    return;
  }
  const ctx = contextOf(t);
  await deliverHttp("slack", ctx, requireSecret("slack", ctx, "webhookUrl"), message);
}

/**
 * Posts the reminder of `p`: in the request's thread when the request was posted with the bot
 * token (its channel id and `ts` are known), else as a new message. Resolves with where it went;
 * throws a DeliveryError that says whether a retry can help.
 */
export async function postReminder(
  t: SlackTarget,
  p: PendingApproval,
  message: ReminderMessage,
): Promise<"thread" | "message"> {
  const threaded = t.config.mode === "bot" && !!p.messageTs && !!p.slackChannelId;
  await postNew(t, p, message, threaded ? p.messageTs : undefined);
  return threaded ? "thread" : "message";
}

/**
 * Replaces the request message of `p` with `message` (chat.update with the request's channel id
 * and `ts`). Only in bot mode with a known `ts`; throws a DeliveryError otherwise or when Slack
 * refuses.
 */
export async function updateRequest(
  t: SlackTarget,
  p: PendingApproval,
  message: ReminderMessage,
): Promise<void> {
  await webApi(t, "chat.update", { channel: p.slackChannelId, ts: p.messageTs, ...message });
}

/** Whether the request message of `p` can be updated in place (bot mode, channel and ts known). */
export function canUpdate(t: SlackTarget, p: PendingApproval): boolean {
  return t.config.mode === "bot" && !!p.messageTs && !!p.slackChannelId;
}

/** Posts `message` as a new message (the expiry notice when the request cannot be updated). */
export function postMessage(
  t: SlackTarget,
  p: PendingApproval,
  message: ReminderMessage,
): Promise<void> {
  return postNew(t, p, message);
}
