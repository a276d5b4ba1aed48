/**
 * Re-sends a message to the events queue (`EVENTS_QUEUE_URL`) with a delay: how the fan-out waits
 * for something without holding an invocation and without counting toward the DLQ — a channel's
 * turn under its rate limit or its `Retry-After` (issue 11, pacing), a digest window's end
 * (issue 11, grouping). The copy is a new SQS message: its `ApproximateReceiveCount` starts at 1,
 * so a receiver that asks us to come back later never pushes the event toward `maxReceiveCount`
 * (SQS developer guide, "Using dead-letter queues": the count is per message). The original record
 * is then reported processed by its caller. Exactly once still holds: the ledger's slots tell the
 * copy which channels were already delivered.
 */
import type * as Sqs from "@aws-sdk/client-sqs";
import { sqs, requireEnv } from "../aws";
import { cutToUtf8Bytes } from "../events/fields";
import { ENV } from "../types";

/**
 * Longest delay SQS accepts on one message, seconds (SQS API reference, SendMessage
 * `DelaySeconds`: "Valid values: 0 to 900. Maximum: 15 minutes").
 */
export const MAX_DELAY_SECONDS = 900;

/**
 * The characters SQS does not allow in a message body or a String attribute value: only `#x9 | #xA
 * | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF` (SQS API reference,
 * SendMessage `MessageBody`; MessageAttributeValue: a String value "has the same restrictions on
 * the content as the message body"). SQS answers `InvalidMessageContents` to the rest (older
 * versions of the page said it replaced them with U+FFFD).
 */
const NOT_SQS_TEXT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * A String message attribute value SQS accepts: `value` with every character SQS refuses (a
 * control character from a receiver's error text, a lone surrogate) replaced by U+FFFD, and `-`
 * for an empty value ("Name, type, value and the message body must not be empty or null").
 */
export function sqsAttribute(value: string): { DataType: "String"; StringValue: string } {
  return { DataType: "String", StringValue: value.replace(NOT_SQS_TEXT, "\uFFFD") || "-" };
}

/**
 * The stack's queues' message size limit, bytes: `MaximumMessageSize` at its default, 262,144
 * (SetQueueAttributes; infra/event-intake.ts sets none). The body and "all parts of the message
 * attribute, including Name, Type, and Value" count toward it, in UTF-8 (MessageAttributeValue).
 */
export const SQS_MAX_MESSAGE_BYTES = 262_144;

/** UTF-8 bytes of `s`. */
const bytes = (s: string): number => Buffer.byteLength(s, "utf8");

/**
 * `attributes` as String message attributes ({@link sqsAttribute} each) that fit in
 * {@link SQS_MAX_MESSAGE_BYTES} with `body`: when they would not, the value of attribute `cut`
 * (the longest one, e.g. a DLQ `reason`) is shortened to what is left, ending in "…" (at least
 * "…"), so that SQS takes the message with the rest of its reason instead of refusing it whole.
 * The others are kept as they are; a message that still does not fit is refused by SQS.
 */
export function fittedAttributes(
  body: string,
  attributes: Record<string, string>,
  cut: string,
): Record<string, ReturnType<typeof sqsAttribute>> {
  const out = Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, sqsAttribute(v)]));
  let total = bytes(body);
  for (const [k, v] of Object.entries(out)) {
    total += bytes(k) + bytes(v.DataType) + bytes(v.StringValue);
  }
  const value = out[cut]?.StringValue;
  const over = total - SQS_MAX_MESSAGE_BYTES;
  if (over <= 0 || value === undefined) return out;
  const room = Math.max(0, bytes(value) - over - bytes("…"));
  out[cut] = sqsAttribute(`${cutToUtf8Bytes(value, room)}…`);
  return out;
}

/** A message to put back on the events queue. */
export interface Requeue {
  /** The message body (the original record's body, or a fan-out message such as a digest flush). */
  body: string;
  /** Seconds before SQS delivers it, rounded up and clamped to 0..{@link MAX_DELAY_SECONDS}. */
  delaySeconds: number;
  /**
   * String message attributes (e.g. `deferrals: "2"`, `deferredFor: "slack: HTTP 429"`); an empty
   * value is sent as `-` (SQS refuses empty String attributes). At most 10 attributes in all
   * (SQS: "up to 10 metadata attributes").
   */
  attributes?: Record<string, string>;
  /**
   * The attribute to shorten when body and attributes would exceed {@link SQS_MAX_MESSAGE_BYTES}
   * ({@link fittedAttributes}): one that only describes (e.g. `deferredFor`). None: nothing is cut.
   */
  cutToFit?: string;
}

/**
 * Sends `m` to the events queue. Resolves with the new message's id; SQS errors are thrown (the
 * caller keeps the original record for redelivery then, so nothing is lost).
 */
export async function requeue(m: Requeue): Promise<string | undefined> {
  const { SendMessageCommand } = require("@aws-sdk/client-sqs") as typeof Sqs;
  const delay = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(m.delaySeconds)));
  const attrs = fittedAttributes(m.body, m.attributes ?? {}, m.cutToFit ?? "");
  const out = await sqs().send(
    new SendMessageCommand({
      QueueUrl: requireEnv(ENV.eventsQueueUrl),
      MessageBody: m.body,
      DelaySeconds: delay,
      ...(Object.keys(attrs).length > 0 ? { MessageAttributes: attrs } : {}),
    }),
  );
  return out.MessageId;
}
