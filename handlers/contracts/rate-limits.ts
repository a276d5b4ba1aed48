/**
 * Each channel type's documented send rate, as one contract read by three sides: the fan-out
 * paces its sends with it (handlers/fanout/pace.ts, a GCRA shared by every concurrent invocation
 * through the table), the local fakes enforce it (testing/receivers/*, testing/aws/sns.ts), and the
 * storm bench checks attempts per second against it (scripts/lib/storm.ts).
 *
 * A limit is a token bucket: `perSecond` tokens refill per second, at most `burst` are banked, one
 * send takes one. `scope` says what one bucket covers: one Slack channel, one PagerDuty routing
 * key, one AWS account (SNS SMS). The fan-out keeps one bucket per configured channel instance
 * (`PACE#<channel>`), which is the documented scope for every type but SMS/email (account-wide:
 * several SNS channels of one account share AWS's bucket, so their instance buckets are kept
 * well under it).
 *
 * Where a service documents only "about" a rate or says the exact values change (Slack, Teams,
 * Discord), the constant is the documented figure and the receiver's `Retry-After` still wins:
 * a 429 is never a failure (issue 11).
 */
import type { ChannelType } from "../types";

/** What one rate-limit bucket covers. */
export type RateLimitScope = "channel" | "routing key" | "webhook" | "account" | "endpoint";

/** One documented send rate (a token bucket). */
export interface RateLimit {
  /** Sustained sends per second (tokens refilled per second). */
  perSecond: number;
  /** Sends allowed back to back from a full bucket (bucket size, ≥ 1). */
  burst: number;
  /** What one bucket covers. */
  scope: RateLimitScope;
  /** Where the figure comes from (URL and the words it says). */
  source: string;
}

/**
 * Slack incoming webhooks and `chat.postMessage`: "Posting messages: 1 per second. Short bursts
 * >1 allowed. If you attempt bursts, there is no guarantee that messages will be posted", per
 * channel ("chat.postMessage generally allows posting one message per second per channel, while
 * also maintaining a workspace-wide limit"). Over the limit: HTTP 429 with `Retry-After` (seconds).
 * Burst 3 is what issue 11 measured and what the local fake enforces.
 */
export const SLACK_RATE_LIMIT: RateLimit = {
  perSecond: 1,
  burst: 3,
  scope: "channel",
  source:
    "https://api.slack.com/docs/rate-limits (Posting messages: 1 per second per channel, short bursts >1 allowed; 429 + Retry-After)",
};

/**
 * PagerDuty Events API v2, "Events API Rate Limits": "approximately 120 calls/minute per
 * integration key", "calculated over a 60 second window looking back from the current time", with
 * account-level limits on top; over it "429 - Request Limit Exceeded" and the event is not
 * ingested; PagerDuty suggests "retrying 3 times with each request being 30 seconds apart".
 * 2 per second is that minute's average; the burst of 10 is ours (the sliding 60 s window would
 * admit more at once, the account-level limits are not published).
 */
export const PAGERDUTY_RATE_LIMIT: RateLimit = {
  perSecond: 2,
  burst: 10,
  scope: "routing key",
  source:
    "https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/05-Rate-Limits.md (Events API Rate Limits: approximately 120 calls/minute per integration key over a sliding 60 s window, account-level limits too; 429 Request Limit Exceeded, retry 3 times 30 s apart)",
};

/**
 * Discord webhooks. Discord's "Rate Limits" page publishes no figure for them: limits are
 * per route, webhooks (`webhook_id` or `webhook_id + webhook_token`) are a top-level resource,
 * the values "are subject to change" and "should not be hard coded" but read from the
 * `X-RateLimit-*` headers; over a limit HTTP 429 with `Retry-After` / `retry_after` (seconds,
 * float). The 5 per 2 s is what Discord staff said the webhook-execute bucket reports
 * (discord-api-docs issue #367, 2017), not a documented figure. The same thread and issue #1454
 * (2020) describe a further per-channel limit of about 30 per 60 s that no header announces, only
 * a 429 with a long `retry_after` (40–45 s seen); issue #6753 (2024) reports webhooks of one
 * server sharing one bucket. A 429's `retry_after` therefore always overrides this pace, and a
 * sustained 2.5 per second to one channel can still meet that hidden limit. Discord also
 * restricts an IP after 10,000 invalid (401/403/429) requests per 10 minutes, and asks never to
 * reuse a webhook that answered 404.
 */
export const DISCORD_RATE_LIMIT: RateLimit = {
  perSecond: 2.5,
  burst: 5,
  scope: "webhook",
  source:
    "https://discord.com/developers/docs/topics/rate-limits (no webhook figure: per-route buckets from X-RateLimit-* headers, do not hard-code; 429 + retry_after); 5 per 2 s from Discord staff in https://github.com/discord/discord-api-docs/issues/367; hidden ~30 per 60 s per channel: issues #367 and #1454",
};

/**
 * Microsoft Teams incoming webhooks (Office 365 connectors), "Rate limiting for connectors": the
 * traffic a connector or incoming webhook may generate on a channel, counted in fixed windows —
 * 4 requests per 1 s, 60 per 30 s, 100 per 3600 s, 150 per 7200 s, 1800 per 86400 s; over one,
 * the connection is throttled until that window refreshes. Microsoft's sample notes that
 * "Connectors do not throw 429s": the throttling shows in the response body as "Microsoft Teams
 * endpoint returned HTTP error 429". Bots: "Optimize your bot with rate limiting in Teams" (exact
 * values change; back off on HTTP 429). Workflows ("When a Teams webhook request is received")
 * publish no figure of their own here.
 *
 * This bucket (2 per second, burst 4) follows only the 1 s and 30 s windows. The hourly and
 * daily windows are far lower: a sustained rate that keeps under all of them is about one
 * request per 49 s (146 per 7200 s after a burst of 4), which a single token bucket cannot
 * express next to the 4 per second burst; beyond 100 requests in an hour the webhook throttles.
 */
export const TEAMS_RATE_LIMIT: RateLimit = {
  perSecond: 2,
  burst: 4,
  scope: "webhook",
  source:
    "https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using#rate-limiting-for-connectors (per webhook on a channel: 4 per 1 s, 60 per 30 s, 100 per hour, 150 per 2 h, 1800 per day; throttling reported in the body as 'Microsoft Teams endpoint returned HTTP error 429')",
};

/**
 * Amazon SNS SMS. SMS throughput is measured in message parts per second (MPS) and "depends on
 * the destination country of your messages, and the type of phone number, known as the
 * origination number": a US short code sends 100 MPS, a US toll-free number 3 MPS, 10DLC "varies
 * based on your 10DLC registration" up to 100 (AWS End User Messaging SMS user guide, "Message
 * Parts per Second (MPS) limits"; SNS developer guide, "Origination numbers"). Our texts are one
 * part (channels/sms.ts `SMS_MAX_CHARS`, 140 GSM-7 characters). Separately, SNS API calls over
 * the account's per-Region request quota fail with `ThrottlingException` "Rate exceeded" (AWS
 * knowledge center "sns-throttling-exception-errors"). One text per second sits under the lowest
 * of these (toll-free, 3 MPS); a burst of 5 back to back can exceed a toll-free number's 3 per
 * second. No AWS page found here states a flat "20 SMS per second per account" default.
 */
export const SMS_RATE_LIMIT: RateLimit = {
  perSecond: 1,
  burst: 5,
  scope: "account",
  source:
    "https://docs.aws.amazon.com/sms-voice/latest/userguide/sms-limitations-mps.html (MPS per origination number and destination country: US short code 100, US toll-free 3, 10DLC by registration); https://docs.aws.amazon.com/sns/latest/dg/channels-sms-originating-identities-origination-numbers.html; API throttling: ThrottlingException, Rate exceeded",
};

/**
 * Email through SNS (email subscriptions of a topic): SNS Publish is throttled per account and
 * Region (`ThrottlingException`, AWS knowledge center "sns-throttling-exception-errors"); email
 * endpoints are also rate limited per subscriber by SNS (10 messages per second per email
 * subscription in the SNS quotas table).
 */
export const EMAIL_RATE_LIMIT: RateLimit = {
  perSecond: 2,
  burst: 5,
  scope: "account",
  source:
    "https://docs.aws.amazon.com/general/latest/gr/sns.html (Publish throttled per account and Region; email delivery 10 messages/s per subscription)",
};

/**
 * Generic webhook: no provider documents it; a sensible default that a receiver's 429 +
 * `Retry-After` overrides, and that config may raise or lower per channel.
 */
export const WEBHOOK_RATE_LIMIT: RateLimit = {
  perSecond: 5,
  burst: 10,
  scope: "endpoint",
  source: "our default (no provider limit; a 429's Retry-After overrides it)",
};

/** Each channel type's limit. */
export const RATE_LIMITS: Readonly<Record<ChannelType, RateLimit>> = {
  slack: SLACK_RATE_LIMIT,
  pagerduty: PAGERDUTY_RATE_LIMIT,
  discord: DISCORD_RATE_LIMIT,
  teams: TEAMS_RATE_LIMIT,
  sms: SMS_RATE_LIMIT,
  email: EMAIL_RATE_LIMIT,
  webhook: WEBHOOK_RATE_LIMIT,
};

/** Milliseconds between two sends at the sustained rate (the GCRA emission interval). */
export function emissionIntervalMs(limit: RateLimit): number {
  return Math.ceil(1000 / limit.perSecond);
}
