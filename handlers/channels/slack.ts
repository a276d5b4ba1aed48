/**
 * Slack: a Block Kit message (formatted in slack-format.ts), posted to an incoming webhook
 * (`mode: "webhook"`, secret `webhookUrl`) or with `chat.postMessage` (`mode: "bot"`, secret
 * `botToken`, config `channel`).
 *
 * In bot mode the message carries Slack message metadata (Slack, "Using message metadata",
 * https://docs.slack.dev/messaging/message-metadata): `event_type` {@link SLACK_METADATA_EVENT_TYPE}
 * and an `event_payload` with the notification id and the channel name, so a re-send of the same
 * notification can be recognized in the channel's history (`conversations.history` with
 * `include_all_metadata`). Incoming webhooks carry no metadata.
 */
import { deliveryError } from "../http";
import type { Digest, Notification } from "../types";
import { deliverHttp, reportTruncation, requireSecret } from "./common";
import { reportDigestCut } from "./digest";
import { formatSlackDigest, renderSlackDigest } from "./slack-digest";
import { formatSlack, renderSlack, type SlackConfig } from "./slack-format";
import { postThreaded, slackWebApi } from "./slack-thread";
import type { ChannelContext, ChannelDriver, DeliveryReceipt } from "./types";

export { formatSlack, renderSlack, SLACK_LIMITS } from "./slack-format";
export { formatSlackDigest, renderSlackDigest } from "./slack-digest";
export type { SlackConfig, SlackMessage } from "./slack-format";

/** The `event_type` of the message metadata of every notification posted in bot mode. */
export const SLACK_METADATA_EVENT_TYPE = "deploy_notification";

/** The message metadata of `n` posted to channel instance `channel` (bot mode). */
export function slackMetadata(
  n: Notification,
  channel: string,
): { event_type: string; event_payload: Record<string, string> } {
  return {
    event_type: SLACK_METADATA_EVENT_TYPE,
    event_payload: {
      notification_id: n.id,
      channel,
      kind: n.kind,
      pipeline: n.pipeline,
      execution_id: n.executionId,
    },
  };
}

/** Posts `n` to Slack by webhook or bot token; the receipt's `id` is the message `ts` in bot mode. */
export async function sendSlack(
  n: Notification,
  ctx: ChannelContext<SlackConfig>,
): Promise<DeliveryReceipt> {
  const { message, truncated } = renderSlack(n, ctx.config);
  const wasCut = reportTruncation(ctx, "slack", n, truncated);
  if (ctx.config.mode === "bot") {
    requireChannel(ctx);
    const body = { ...message, metadata: slackMetadata(n, ctx.name) };
    // With a thread store, one thread per execution (slack-thread.ts); else a message of its own.
    const res = ctx.threads
      ? await postThreaded(n, ctx, ctx.threads, body)
      : await slackWebApi(ctx, "chat.postMessage", body);
    const ts = res.ts;
    return {
      channel: ctx.name,
      type: "slack",
      status: res.status,
      ...(ts && { id: ts }),
      ...(wasCut && { truncated: true }),
    };
  }
  const url = requireSecret("slack", ctx, "webhookUrl");
  const res = await deliverHttp("slack", ctx, url, message);
  return {
    channel: ctx.name,
    type: "slack",
    status: res.status,
    ...(wasCut && { truncated: true }),
  };
}

/**
 * Posts digest `d` (slack-digest.ts) by webhook or bot token, as a message of its own (never in a
 * thread: it spans executions). In bot mode its metadata carries the digest id.
 */
export async function sendSlackDigest(
  d: Digest,
  ctx: ChannelContext<SlackConfig>,
): Promise<DeliveryReceipt> {
  const { message, truncated } = renderSlackDigest(d, ctx.config);
  const cut = reportDigestCut(ctx, "slack", d, truncated) ? { truncated: true } : {};
  if (ctx.config.mode === "bot") {
    requireChannel(ctx);
    const metadata = {
      event_type: SLACK_DIGEST_EVENT_TYPE,
      event_payload: { digest_id: d.id, channel: ctx.name, count: d.count },
    };
    const res = await slackWebApi(ctx, "chat.postMessage", { ...message, metadata });
    return {
      channel: ctx.name,
      type: "slack",
      status: res.status,
      ...(res.ts && { id: res.ts }),
      ...cut,
    };
  }
  const res = await deliverHttp("slack", ctx, requireSecret("slack", ctx, "webhookUrl"), message);
  return { channel: ctx.name, type: "slack", status: res.status, ...cut };
}

/** The `event_type` of the message metadata of a digest posted in bot mode. */
export const SLACK_DIGEST_EVENT_TYPE = "deploy_digest";

/** Bot mode needs the conversation id in config: a permanent failure without it. */
function requireChannel(ctx: ChannelContext<SlackConfig>): void {
  requireSecret("slack", ctx, "botToken");
  if (!ctx.config.channel) {
    throw deliveryError(ctx.name, `slack ${ctx.name}: bot mode needs a channel id`, {
      retryable: false,
    });
  }
}

/** The Slack channel driver. */
export const slackDriver: ChannelDriver<SlackConfig> = {
  type: "slack",
  format: formatSlack,
  send: sendSlack,
  formatDigest: formatSlackDigest,
  sendDigest: sendSlackDigest,
};
