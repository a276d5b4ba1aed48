/**
 * Slack incoming webhooks (`hooks.slack.com/services/…`) and interaction `response_url`s.
 *
 * Incoming webhooks, as documented in "Sending messages using incoming webhooks"
 * (https://api.slack.com/messaging/webhooks, "Handling errors"): the answer is `text/plain`,
 * `ok` on success, or HTTP 400 with an error word: `invalid_payload` for a body that is not a JSON
 * object, `no_text` when there is neither `text` nor `blocks` (nor legacy `attachments`),
 * `invalid_blocks` for blocks that are not an array or break a Block Kit limit (50 blocks, section
 * text 3000, header 150, 10 fields of 2000, …: slack-blocks.ts names each with its page), and
 * `msg_too_long` for a top-level `text` over 40,000 characters. Slack's current page
 * (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks, "Handling errors")
 * lists `invalid_blocks` and `msg_too_long`, both HTTP 400. The cumulative 12,000-character
 * block text that `chat.postMessage` refuses is not applied here: slackapi/bolt-js#2867 reports
 * the same blocks accepted through `respond()` (a response_url) and refused by chat.postMessage.
 *
 * `response_url` ("Handling user interaction", https://api.slack.com/interactivity/handling#message_responses):
 * accepts a message (optionally `replace_original`) and answers `ok`; the stand-in records it and
 * does not validate it. Its budget, "You can use response_url to publish up to 5 times within 30
 * minutes", is counted per URL ({@link RESPONSE_URL_BUDGET}); what Slack answers past it is not
 * documented, so the stand-in records the overuse and does not invent a refusal.
 *
 * Rate limit ("Rate limits", https://api.slack.com/docs/rate-limits, "Posting messages: 1 per
 * second, short bursts >1 allowed"; incoming webhooks are named there among "our HTTP based APIs":
 * over the limit Slack answers "HTTP 429 Too Many Requests" with "a Retry-After header containing
 * the number of seconds until you can retry"): {@link SLACK_WEBHOOK_RATE_LIMIT} per webhook (one
 * webhook posts to one channel), answered with {@link slackWebhookRateLimited}.
 */
import { isRecord, text, type Answer, type RateLimit } from "./core";
import { blocksErrors, SLACK_BLOCK_LIMITS } from "./slack-blocks";

/**
 * 1 message per second per channel, short bursts allowed. Slack gives no burst size; 3 is what the
 * storm measurement of issue 11 observed and what this stand-in allows from idle.
 */
export const SLACK_WEBHOOK_RATE_LIMIT: RateLimit = {
  limit: 1,
  perSeconds: 1,
  burst: 3,
  source:
    "https://api.slack.com/docs/rate-limits: posting messages 1 per second (per channel), short bursts >1 allowed; HTTP 429 with Retry-After",
};

/** The 429 of an incoming webhook over its limit: text/plain `rate_limited` (+ `Retry-After`). */
export function slackWebhookRateLimited(): Answer {
  return text(429, "rate_limited");
}

/** Answers one incoming-webhook post. */
export function slackWebhook(body: unknown): Answer {
  if (!isRecord(body)) return text(400, "invalid_payload");
  if (body.text === undefined && body.blocks === undefined && body.attachments === undefined) {
    return text(400, "no_text");
  }
  if (body.blocks !== undefined && blocksErrors(body.blocks).length > 0) {
    return text(400, "invalid_blocks");
  }
  if (typeof body.text === "string" && body.text.length > SLACK_BLOCK_LIMITS.messageText) {
    return text(400, "msg_too_long");
  }
  return text(200, "ok");
}

/**
 * The budget of one `response_url`: "You can use response_url to publish up to 5 times within 30
 * minutes" (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses;
 * REFERENCE.md, "Slack, more"). What Slack answers to a 6th use, or to a use after 30 minutes,
 * is NOT documented: neither that page nor the Web API or webhook error lists name it (searched
 * the docs and issues corpora, round 13; third-party code guesses a 404 `expired_url`, Slack
 * does not say so). So the stand-in models only the documented part: it counts the uses of each
 * URL on the world's scaled clock and records a use beyond the budget in
 * {@link ResponseUrlState.overuse}, answering `ok` as to any other use. The 30 minutes run from
 * the URL's first use: the stand-in does not see the click that issued it (the sender's first
 * use follows the click within Slack's 3 s acknowledgement window).
 */
export const RESPONSE_URL_BUDGET = { uses: 5, withinMs: 30 * 60_000 } as const;

/** One use of a `response_url` beyond {@link RESPONSE_URL_BUDGET}. */
export interface ResponseUrlOveruse {
  /** The URL's name (its last path segment). */
  name: string;
  /** Which use of the URL this was (1 = the first). */
  use: number;
  /** AWS-clock ms since the URL's first use. */
  afterMs: number;
  /** Which half of the budget it broke, in words. */
  why: string;
  at: Date;
}

/** Uses of every `response_url` so far, and those beyond the budget. */
export interface ResponseUrlState {
  /** URL name → how many times it was used and the AWS-clock ms of its first use. */
  uses: Record<string, { count: number; firstAtMs: number }>;
  overuse: ResponseUrlOveruse[];
}

/** An empty {@link ResponseUrlState}. */
export function createResponseUrlState(): ResponseUrlState {
  return { uses: {}, overuse: [] };
}

/**
 * Answers one post to the `response_url` named `name` at `nowMs` on the AWS clock: `ok`, and a
 * use beyond {@link RESPONSE_URL_BUDGET} recorded in `state.overuse`.
 */
export function slackResponse(
  state: ResponseUrlState,
  name: string,
  nowMs: number,
  at: Date,
): Answer {
  const seen = (state.uses[name] ??= { count: 0, firstAtMs: nowMs });
  seen.count += 1;
  const afterMs = nowMs - seen.firstAtMs;
  const why = [
    seen.count > RESPONSE_URL_BUDGET.uses && `use ${seen.count} of at most 5`,
    afterMs > RESPONSE_URL_BUDGET.withinMs && "more than 30 minutes after its first use",
  ].filter(Boolean);
  if (why.length > 0)
    state.overuse.push({ name, use: seen.count, afterMs, why: why.join("; "), at });
  return text(200, "ok");
}
