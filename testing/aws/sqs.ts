/**
 * SQS stand-in (awsJson1_0, `X-Amz-Target: AmazonSQS.<Op>`): `SendMessage` only, the fan-out's
 * dead-letter queue with reasons. Models
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html :
 * `QueueUrl` and `MessageBody` are required, string message attributes are kept, and the answer
 * carries `MessageId` and `MD5OfMessageBody` (the SDK checks that digest). Anything else is
 * `InvalidParameterValue`.
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
  messageId: string;
  at: Date;
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
  };
  if (operation !== "SendMessage" || !input.QueueUrl || typeof input.MessageBody !== "string") {
    sendJson(
      res,
      400,
      {
        __type: "com.amazonaws.sqs#InvalidParameterValue",
        message: `aws stand-in: unsupported sqs ${operation}`,
      },
      {
        "x-amzn-errortype": "InvalidParameterValue",
        "content-type": "application/x-amz-json-1.0",
      },
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
    messageId,
    at: new Date(),
  });
  const md5 = createHash("md5").update(input.MessageBody).digest("hex");
  sendJson(
    res,
    200,
    { MessageId: messageId, MD5OfMessageBody: md5 },
    { "content-type": "application/x-amz-json-1.0" },
  );
}
