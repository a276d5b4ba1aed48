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
 * PagerDuty Events API v2: about 120 events per minute per integration (routing) key; over it,
 * HTTP 429 ("retry with backoff"). REFERENCE.md, PagerDuty Events API v2; PagerDuty community
 * answer "Events - 120/min (enforced per-integration-key)".
 */
export const PAGERDUTY_RATE_LIMIT: RateLimit = {
  perSecond: 2,
  burst: 10,
  scope: "routing key",
  source:
    "https://developer.pagerduty.com/docs/events-api-v2/overview (about 120 events/min per integration key; 429 → retry with backoff)",
};

/**
 * Discord webhooks: per-route buckets keyed by webhook id + token, reported by the
 * `X-RateLimit-Limit` / `X-RateLimit-Remaining` / `X-RateLimit-Reset-After` / `X-RateLimit-Bucket`
 * headers; 429 carries `retry_after` (seconds, float) in the body. Discord says the values change
 * and must be read from the headers ("rate limits should not be hard coded"); the bucket it
 * reports for webhook executions is 5 requests per 2 s, so we pace at that and let a 429's
 * `retry_after` override it.
 */
export const DISCORD_RATE_LIMIT: RateLimit = {
  perSecond: 2.5,
  burst: 5,
  scope: "webhook",
  source:
    "https://discord.com/developers/docs/topics/rate-limits (per-route buckets from X-RateLimit-* headers, webhook_id + token is a top-level resource; webhook bucket reported as 5 per 2 s)",
};

/**
 * Microsoft Teams incoming webhooks / Workflows ("When a Teams webhook request is received"):
 * "Rate limiting for connectors" allows 4 requests per second per webhook (and 60 per 30 s,
 * 100 per hour… beyond that 429); Microsoft says exact values change and callers must back off
 * on HTTP 429. Bots: "Optimize your bot with rate limiting in Teams".
 */
export const TEAMS_RATE_LIMIT: RateLimit = {
  perSecond: 2,
  burst: 4,
  scope: "webhook",
  source:
    "https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using (Rate limiting for connectors: 4 requests per 1 s per webhook, 60 per 30 s; 429 → back off)",
};

/**
 * Amazon SNS SMS: the account's SMS throughput (Publish to phone numbers / SMS topics), 20
 * messages per second by default, per account and Region; over it `ThrottlingException`
 * ("Rate exceeded"). The per-instance bucket stays well under it: a pager needs few texts.
 */
export const SMS_RATE_LIMIT: RateLimit = {
  perSecond: 1,
  burst: 5,
  scope: "account",
  source:
    "https://docs.aws.amazon.com/general/latest/gr/sns.html (SMS: 20 messages per second per account and Region by default; ThrottlingException: Rate exceeded)",
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
