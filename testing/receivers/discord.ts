/**
 * Discord webhooks, as "Execute Webhook" documents them
 * (https://discord.com/developers/docs/resources/webhook#execute-webhook): without `?wait=true`
 * a message is accepted with `204 No Content`; one of `content` or `embeds` is required, else
 * HTTP 400 with JSON error code 50006 "Cannot send an empty message"
 * (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes).
 *
 * Rate limits ("Rate Limits", https://discord.com/developers/docs/topics/rate-limits): per route
 * and per top-level resource (a webhook is one: `webhook_id` + token), reported on every answer
 * in `X-RateLimit-Limit`, `-Remaining`, `-Reset` (epoch seconds), `-Reset-After` (seconds) and
 * `-Bucket` ({@link discordRateHeaders}); over the limit HTTP 429 with `Retry-After`,
 * `X-RateLimit-Scope` and the JSON `{ message, retry_after, global }` ("Exceeding A Rate Limit",
 * {@link discordRateLimited}). Discord says not to hard-code its numbers; the stand-in uses
 * {@link DISCORD_WEBHOOK_RATE_LIMIT}, what its headers commonly announce for a webhook.
 */
import { isRecord, json, type Admission, type Answer, type RateLimit } from "./core";

/** 5 executions per 2-second bucket per webhook (`X-RateLimit-Limit: 5`, `Reset-After: 2`). */
export const DISCORD_WEBHOOK_RATE_LIMIT: RateLimit = {
  limit: 5,
  perSeconds: 2,
  burst: 5,
  algorithm: "window",
  source:
    "https://discord.com/developers/docs/topics/rate-limits: per-route limits per webhook, announced in X-RateLimit-* headers (5 per 2 s for webhook executes)",
};

/** The `X-RateLimit-*` headers Discord sends on every answer, for the webhook `name`. */
export function discordRateHeaders(name: string, admission: Admission): Record<string, string> {
  return {
    "x-ratelimit-limit": String(admission.limit.limit),
    "x-ratelimit-remaining": String(Math.max(0, admission.remaining)),
    "x-ratelimit-reset": admission.resetAtEpochSeconds.toFixed(3),
    "x-ratelimit-reset-after": admission.resetAfterSeconds.toFixed(3),
    // An opaque id of the bucket (the webhook's route bucket).
    "x-ratelimit-bucket": Buffer.from(`webhook:${name}`).toString("hex").slice(0, 32),
  };
}

/** The 429 of a webhook over its bucket, and its extra headers (`Retry-After`, scope). */
export function discordRateLimited(admission: Admission): {
  answer: Answer;
  headers: Record<string, string>;
} {
  const retryAfter = Math.round(admission.retryAfterSeconds * 1000) / 1000;
  return {
    answer: json(429, {
      message: "You are being rate limited.",
      retry_after: retryAfter,
      global: false,
    }),
    headers: {
      "retry-after": String(Math.max(1, Math.ceil(retryAfter))),
      "x-ratelimit-scope": "user",
    },
  };
}

/** Answers one webhook execution. */
export function discord(body: unknown): Answer {
  const fields = isRecord(body) ? body : {};
  const hasContent = typeof fields.content === "string" && fields.content !== "";
  const hasEmbeds = Array.isArray(fields.embeds) && fields.embeds.length > 0;
  if (!hasContent && !hasEmbeds) {
    return json(400, { message: "Cannot send an empty message", code: 50006 });
  }
  return { status: 204 };
}
