/**
 * SNS stand-in (awsQuery: form-encoded request, XML answer): `Publish` only, to a topic, a phone
 * number (SMS) or a target ARN. Models https://docs.aws.amazon.com/sns/latest/api/API_Publish.html :
 * `Message` is required, so is one of `TopicArn`/`TargetArn`/`PhoneNumber` (`InvalidParameter`
 * otherwise); message attributes arrive as `MessageAttributes.entry.N.*`; the answer is
 * `<PublishResponse><PublishResult><MessageId>`; errors are the awsQuery `<ErrorResponse>` with
 * `Type` `Sender` (4xx) or `Receiver` (5xx).
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { isServiceError, serviceError, takeFault, type AwsContext } from "./core";

/** One SNS Publish the stand-in accepted. */
export interface SnsPublish {
  topicArn?: string;
  phoneNumber?: string;
  targetArn?: string;
  message: string;
  subject?: string;
  messageAttributes: Record<string, { dataType: string; stringValue?: string }>;
  messageId: string;
  at: Date;
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** Reads `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue`. */
function messageAttributes(form: URLSearchParams): SnsPublish["messageAttributes"] {
  const out: SnsPublish["messageAttributes"] = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const prefix = `MessageAttributes.entry.${n}`;
    out[String(form.get(`${prefix}.Name`))] = {
      dataType: String(form.get(`${prefix}.Value.DataType`)),
      stringValue: form.get(`${prefix}.Value.StringValue`) ?? undefined,
    };
  }
  return out;
}

/** Validates and records one Publish; returns the `<PublishResult>` element. */
function publish(ctx: AwsContext, form: URLSearchParams): string {
  const message = form.get("Message");
  const topicArn = form.get("TopicArn") ?? undefined;
  const phoneNumber = form.get("PhoneNumber") ?? undefined;
  const targetArn = form.get("TargetArn") ?? undefined;
  if (message === null || message === "") {
    throw serviceError("InvalidParameter", "Invalid parameter: Message");
  }
  if (!topicArn && !phoneNumber && !targetArn) {
    throw serviceError(
      "InvalidParameter",
      "Invalid parameter: TopicArn or TargetArn or PhoneNumber Reason: no value for required parameter",
    );
  }
  // SMS: 1600 characters at most (several segments); topics: 256 KB.
  if (phoneNumber && message.length > 1600) {
    throw serviceError("InvalidParameter", "Invalid parameter: Message too long");
  }
  const messageId = randomUUID();
  ctx.state.sns.published.push({
    topicArn,
    phoneNumber,
    targetArn,
    message,
    subject: form.get("Subject") ?? undefined,
    messageAttributes: messageAttributes(form),
    messageId,
    at: new Date(),
  });
  return `<PublishResult><MessageId>${messageId}</MessageId></PublishResult>`;
}

function sendQueryXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { "content-type": "text/xml", "content-length": Buffer.byteLength(xml) });
  res.end(xml);
}

function sendQueryError(
  res: ServerResponse,
  error: { code: string; status: number; message: string },
): void {
  const type = error.status >= 500 ? "Receiver" : "Sender";
  sendQueryXml(
    res,
    error.status,
    `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type>` +
      `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
      `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

/** Answers one awsQuery (form-encoded) request: SNS `Publish`, with injected delay and fault. */
export async function handleSnsQuery(
  ctx: AwsContext,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  const form = new URLSearchParams(body.toString("utf8"));
  const action = form.get("Action") ?? "";
  await ctx.sleep(ctx.delays.sns[action] ?? 0);
  if (res.destroyed) return;
  try {
    if (action !== "Publish") {
      throw serviceError(
        "UnknownOperationException",
        `aws stand-in: no stand-in for sns ${action || "(no Action)"}`,
      );
    }
    const fault = takeFault(ctx, "sns", action);
    if (fault) throw fault;
    const result = publish(ctx, form);
    sendQueryXml(
      res,
      200,
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">${result}` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  } catch (err: unknown) {
    if (!isServiceError(err)) throw err;
    sendQueryError(res, err);
  }
}
