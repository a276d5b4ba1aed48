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
import type { Notification } from "../types";
import { deliverHttp, reportTruncation, requireSecret } from "./common";
import { formatSlack, renderSlack, type SlackConfig } from "./slack-format";
import type { ChannelContext, ChannelDriver, DeliveryReceipt } from "./types";

export { formatSlack, renderSlack, SLACK_LIMITS } from "./slack-format";
export type { SlackConfig, SlackMessage } from "./slack-format";

const DEFAULT_API_URL = "https://slack.com/api";

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
    const token = requireSecret("slack", ctx, "botToken");
    if (!ctx.config.channel) {
      throw deliveryError(ctx.name, `slack ${ctx.name}: bot mode needs a channel id`, {
        retryable: false,
      });
    }
    const base = (ctx.config.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, "");
    const body = { ...message, metadata: slackMetadata(n, ctx.name) };
    const res = await deliverHttp("slack", ctx, `${base}/chat.postMessage`, body, {
      authorization: `Bearer ${token}`,
    });
    let ts: string | undefined;
    try {
      const parsed = JSON.parse(res.body) as { ts?: unknown };
      ts = typeof parsed.ts === "string" ? parsed.ts : undefined;
    } catch {
      ts = undefined; // delivered (status says so); the ts is only a convenience
    }
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

/** The Slack channel driver. */
export const slackDriver: ChannelDriver<SlackConfig> = {
  type: "slack",
  format: formatSlack,
  send: sendSlack,
};
