/**
 * SQS stand-in (awsJson1_0, `X-Amz-Target: AmazonSQS.<Op>`): `SendMessage` only, the fan-out's
 * dead-letter queue with reasons and its deferred copies to the events queue (issue 11). Models
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html :
 * `QueueUrl` and `MessageBody` are required, `DelaySeconds` is a whole number 0–900 ("Valid
 * values: 0 to 900. Maximum: 15 minutes"), string message attributes are kept, and the answer
 * carries `MessageId` and `MD5OfMessageBody` (the SDK checks that digest). Anything else is
 * `InvalidParameterValue`. A queue registered in `state.sqs.queues` (by URL) receives the
 * message (testing/queue.ts `send`, which applies the delay in scaled time).
 *
 * What SQS refuses is refused here too:
 * - the body may hold only `#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to
 *   #x10FFFF`, and "the minimum size is one character" (SendMessage `MessageBody`). Older
 *   versions of that page said SQS replaces other characters with U+FFFD; the current one says it
 *   "rejects the message and returns an InvalidMessageContents error": both are built for by
 *   refusing (REFERENCE.md: where sources disagree, build for both);
 * - a String (or Number) attribute's value "has the same restrictions on the content as the
 *   message body", and "Name, type, value and the message body must not be empty or null"
 *   (MessageAttributeValue); at most 10 attributes ("up to 10 metadata attributes", SendMessage
 *   `MessageAttributes`);
 * - a message over the queue's `MaximumMessageSize`, the body and "all parts of the message
 *   attribute, including Name, Type, and Value" counted in UTF-8 bytes (MessageAttributeValue).
 *   The stack's queues leave it at its default, 262,144 bytes (SetQueueAttributes
 *   `MaximumMessageSize`; infra/event-intake.ts sets none), so the stand-in refuses over that.
 */
import { createHash, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { sendJson } from "../http";
import { takeFault, type AwsContext } from "./core";

/** The `X-Amz-Target` prefix of SQS operations. */
export const SQS_TARGET = "AmazonSQS.";

/** One message sent with SQS SendMessage. */
export interface SqsMessage {
  queueUrl: string;
  body: string;
  attributes: Record<string, string>;
  /** `DelaySeconds` as sent (AWS seconds; 0 when absent). */
  delaySeconds: number;
  messageId: string;
  at: Date;
}

/** A local queue that SendMessage to its URL hands messages to (testing/queue.ts `send`). */
export type SqsQueueSink = (
  body: string,
  options: { delaySeconds: number; attributes: Record<string, string> },
) => void;

/** The answer of a request SQS refuses (`InvalidParameterValue` unless said otherwise). */
function invalid(res: ServerResponse, message: string, code = "InvalidParameterValue"): void {
  sendJson(
    res,
    400,
    { __type: `com.amazonaws.sqs#${code}`, message },
    { "x-amzn-errortype": code, "content-type": "application/x-amz-json-1.0" },
  );
}

/** A character SQS does not allow in a body or a String attribute value (see the module). */
const NOT_ALLOWED = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** At most this many message attributes (SendMessage `MessageAttributes`). */
const MAX_ATTRIBUTES = 10;

/**
 * The queues' `MaximumMessageSize`, bytes: its default (SetQueueAttributes: "from 1,024 bytes
 * (1 KiB) up to 1,048,576 bytes (1 MiB). Default: 262,144 (256 KiB)").
 */
export const SQS_MAX_MESSAGE_BYTES = 262_144;

/** The bytes a message counts against {@link SQS_MAX_MESSAGE_BYTES}: body and every attribute part. */
export function sqsMessageBytes(
  body: string,
  attributes: Record<string, { DataType?: string; StringValue?: string }>,
): number {
  let n = Buffer.byteLength(body, "utf8");
  for (const [name, v] of Object.entries(attributes)) {
    n += Buffer.byteLength(name, "utf8");
    n += Buffer.byteLength(v.DataType ?? "", "utf8");
    n += Buffer.byteLength(v.StringValue ?? "", "utf8");
  }
  return n;
}

/** Why SQS refuses the message's attributes, with the error code, or undefined. */
function attributesProblem(
  attributes: Record<string, { DataType?: string; StringValue?: string }>,
): { message: string; code?: string } | undefined {
  const names = Object.keys(attributes);
  if (names.length > MAX_ATTRIBUTES) {
    return {
      message: `Number of message attributes [${names.length}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`,
    };
  }
  for (const [name, value] of Object.entries(attributes)) {
    if (!value.DataType || !value.StringValue) {
      return {
        message: `Message (user) attribute '${name}' must contain a non-empty value of type '${value.DataType ?? "String"}'.`,
      };
    }
    if (NOT_ALLOWED.test(value.StringValue)) {
      return {
        message: `Message (user) attribute '${name}' value contains characters outside the allowed set.`,
        code: "InvalidMessageContents",
      };
    }
  }
  return undefined;
}

/** Answers one SQS request (`operation` = the `X-Amz-Target` suffix) and records the message. */
export function handleSqs(
  ctx: AwsContext,
  res: ServerResponse,
  body: Buffer,
  operation: string,
): void {
  const input = JSON.parse(body.toString("utf8") || "{}") as {
    QueueUrl?: string;
    MessageBody?: string;
    MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }>;
    DelaySeconds?: unknown;
  };
  if (operation !== "SendMessage" || !input.QueueUrl || typeof input.MessageBody !== "string") {
    invalid(res, `aws stand-in: unsupported sqs ${operation}`);
    return;
  }
  // An injected error, as SendMessage answers it (API_SendMessage.html "Errors": e.g.
  // QueueDoesNotExist, RequestThrottled, HTTP 400; CommonErrors.html: InternalFailure, 500).
  const fault = takeFault(ctx, "sqs", operation);
  if (fault) {
    sendJson(
      res,
      fault.status,
      { __type: `com.amazonaws.sqs#${fault.code}`, message: fault.message },
      { "x-amzn-errortype": fault.code, "content-type": "application/x-amz-json-1.0" },
    );
    return;
  }
  if (input.MessageBody === "") {
    invalid(res, "The request must contain the parameter MessageBody.", "MissingParameter");
    return;
  }
  if (NOT_ALLOWED.test(input.MessageBody)) {
    invalid(res, "Invalid characters found. Deleted message.", "InvalidMessageContents");
    return;
  }
  const refused = attributesProblem(input.MessageAttributes ?? {});
  if (refused) {
    invalid(res, refused.message, refused.code);
    return;
  }
  if (sqsMessageBytes(input.MessageBody, input.MessageAttributes ?? {}) > SQS_MAX_MESSAGE_BYTES) {
    invalid(
      res,
      `One or more parameters are invalid. Reason: Message must be shorter than ${SQS_MAX_MESSAGE_BYTES} bytes.`,
    );
    return;
  }
  const delaySeconds = input.DelaySeconds === undefined ? 0 : input.DelaySeconds;
  if (
    typeof delaySeconds !== "number" ||
    !Number.isInteger(delaySeconds) ||
    delaySeconds < 0 ||
    delaySeconds > 900
  ) {
    invalid(
      res,
      `Value ${String(delaySeconds)} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.`,
    );
    return;
  }
  const messageId = randomUUID();
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.MessageAttributes ?? {}))
    attributes[k] = v.StringValue ?? "";
  ctx.state.sqs.sent.push({
    queueUrl: input.QueueUrl,
    body: input.MessageBody,
    attributes,
    delaySeconds,
    messageId,
    at: new Date(),
  });
  ctx.state.sqs.queues?.[input.QueueUrl]?.(input.MessageBody, { delaySeconds, attributes });
  const md5 = createHash("md5").update(input.MessageBody).digest("hex");
  sendJson(
    res,
    200,
    { MessageId: messageId, MD5OfMessageBody: md5 },
    { "content-type": "application/x-amz-json-1.0" },
  );
}
