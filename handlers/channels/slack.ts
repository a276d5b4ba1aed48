/**
 * Slack: a Block Kit message (formatted in slack-format.ts), posted to an incoming webhook
 * (`mode: "webhook"`, secret `webhookUrl`) or with `chat.postMessage` (`mode: "bot"`, secret
 * `botToken`, config `channel`).
 */
import { deliveryError } from "../http";
import type { Notification } from "../types";
import { deliverHttp, reportTruncation, requireSecret } from "./common";
import { formatSlack, renderSlack, type SlackConfig } from "./slack-format";
import type { ChannelContext, ChannelDriver, DeliveryReceipt } from "./types";

export { formatSlack, renderSlack, SLACK_LIMITS } from "./slack-format";
export type { SlackConfig, SlackMessage } from "./slack-format";

const DEFAULT_API_URL = "https://slack.com/api";

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
    const res = await deliverHttp("slack", ctx, `${base}/chat.postMessage`, message, {
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
