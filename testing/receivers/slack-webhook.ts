/**
 * Slack incoming webhooks (`hooks.slack.com/services/…`) and interaction `response_url`s.
 *
 * Incoming webhooks, as documented in "Sending messages using incoming webhooks"
 * (https://api.slack.com/messaging/webhooks, "Handling errors"): the answer is `text/plain`,
 * `ok` on success, or HTTP 400 with an error word: `invalid_payload` for a body that is not a JSON
 * object, `no_text` when there is neither `text` nor `blocks` (nor legacy `attachments`),
 * `invalid_blocks` for blocks that are not an array.
 *
 * `response_url` ("Handling user interaction", https://api.slack.com/interactivity/handling#message_responses):
 * accepts a message (optionally `replace_original`) and answers `ok`; the stand-in records it and
 * does not validate it.
 */
import { isRecord, text, type Answer } from "./core";

/** Answers one incoming-webhook post. */
export function slackWebhook(body: unknown): Answer {
  if (!isRecord(body)) return text(400, "invalid_payload");
  if (body.text === undefined && body.blocks === undefined && body.attachments === undefined) {
    return text(400, "no_text");
  }
  if (body.blocks !== undefined && !Array.isArray(body.blocks)) {
    return text(400, "invalid_blocks");
  }
  return text(200, "ok");
}

/** Answers one post to a `response_url`. */
export function slackResponse(): Answer {
  return text(200, "ok");
}
