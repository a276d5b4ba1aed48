/**
 * Microsoft Teams Workflows webhooks ("Post to a channel when a webhook request is received",
 * the replacement of the retired Office 365 connectors; Microsoft Learn, "Create incoming webhooks
 * with Workflows for Microsoft Teams"): they accept Adaptive Card messages only,
 * `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
 * "content":{"type":"AdaptiveCard",…}}]}`, and answer `202 Accepted`; anything else is rejected
 * with 400.
 *
 * Rate limit: Microsoft documents the webhook thresholds under "Rate limiting for connectors"
 * (Microsoft Learn, "Create an Incoming Webhook": 4 requests per second, 60 per 30 seconds, …
 * per webhook; over them HTTP 429) and Workflows answer 429 with `Retry-After` like every Power
 * Automate trigger. {@link TEAMS_WEBHOOK_RATE_LIMIT} per webhook; the hourly and daily thresholds
 * (100 per hour, 1800 per day) are not modelled.
 */
import { isRecord, json, type Answer, type RateLimit } from "./core";

/** 4 per second from idle, then 60 per 30 seconds (2 per second), per webhook. */
export const TEAMS_WEBHOOK_RATE_LIMIT: RateLimit = {
  limit: 60,
  perSeconds: 30,
  burst: 4,
  source:
    "Microsoft Learn, Create an Incoming Webhook, Rate limiting for connectors: 4 requests per second, 60 per 30 seconds; HTTP 429",
};

/** The 429 of a Workflows webhook over its limit (+ `Retry-After`). */
export function teamsRateLimited(): Answer {
  return json(429, {
    error: { code: "TooManyRequests", message: "Rate limit is exceeded. Try again later." },
  });
}

const ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive";

/** Answers one Workflows webhook post. */
export function teams(body: unknown): Answer {
  const attachments = isRecord(body) && body.type === "message" ? body.attachments : undefined;
  const valid =
    Array.isArray(attachments) &&
    attachments.length > 0 &&
    attachments.every(
      (a) =>
        isRecord(a) &&
        a.contentType === ADAPTIVE_CARD &&
        isRecord(a.content) &&
        a.content.type === "AdaptiveCard",
    );
  if (!valid) {
    return json(400, {
      error: {
        code: "InvalidRequestContent",
        message: "The request body must be an Adaptive Card message",
      },
    });
  }
  return { status: 202 };
}
