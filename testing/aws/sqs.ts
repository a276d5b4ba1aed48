/**
 * SQS stand-in (awsJson1_0, `X-Amz-Target: AmazonSQS.<Op>`): `SendMessage` only, the fan-out's
 * dead-letter queue with reasons and its deferred copies to the events queue (issue 11). Models
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html :
 * `QueueUrl` and `MessageBody` are required, `DelaySeconds` is a whole number 0–900 ("Valid
 * values: 0 to 900. Maximum: 15 minutes"), string message attributes are kept, and the answer
 * carries `MessageId` and `MD5OfMessageBody` (the SDK checks that digest). Anything else is
 * `InvalidParameterValue`. A queue registered in `state.sqs.queues` (by URL) receives the
 * message (testing/queue.ts `send`, which applies the delay in scaled time).
 */
import { createHash, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { sendJson } from "../http";
import type { AwsContext } from "./core";

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

/** The `InvalidParameterValue` answer of a request SQS refuses. */
function invalid(res: ServerResponse, message: string): void {
  sendJson(
    res,
    400,
    { __type: "com.amazonaws.sqs#InvalidParameterValue", message },
    {
      "x-amzn-errortype": "InvalidParameterValue",
      "content-type": "application/x-amz-json-1.0",
    },
  );
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
    MessageAttributes?: Record<string, { StringValue?: string }>;
    DelaySeconds?: unknown;
  };
  if (operation !== "SendMessage" || !input.QueueUrl || typeof input.MessageBody !== "string") {
    invalid(res, `aws stand-in: unsupported sqs ${operation}`);
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
