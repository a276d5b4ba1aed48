/**
 * SNS stand-in (awsQuery: form-encoded request, XML answer): `Publish` only, to a topic, a phone
 * number (SMS) or a target ARN. Models https://docs.aws.amazon.com/sns/latest/api/API_Publish.html :
 * `Message` is required, so is one of `TopicArn`/`TargetArn`/`PhoneNumber` (`InvalidParameter`
 * otherwise); message attributes arrive as `MessageAttributes.entry.N.*`; the answer is
 * `<PublishResponse><PublishResult><MessageId>`; errors are the awsQuery `<ErrorResponse>` with
 * `Type` `Sender` (4xx) or `Receiver` (5xx).
 *
 * Publish's constraints (the same page), each refused with `InvalidParameter` (HTTP 400):
 * - `Subject`: "must be ASCII text that begins with a letter, number, or punctuation mark; must
 *   not include line breaks or control characters; and must be less than 100 characters long"
 *   (so at most {@link SNS_SUBJECT_MAX} characters of printable ASCII, the first not a space);
 * - `Message`, except SMS: "UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not
 *   262,144 characters)" ({@link SNS_MESSAGE_MAX_BYTES});
 * - SMS: "The total size limit for a single SMS Publish action is 1,600 characters"
 *   ({@link SNS_SMS_MAX_CHARS}); applied to every Publish that sends SMS (to a `PhoneNumber`, or
 *   to a topic with the `AWS.SNS.SMS.*` attributes: for a topic SNS would accept the publish and
 *   fail the SMS deliveries, the stand-in refuses the publish, as for the rate limit below), and
 *   `AWS.SNS.SMS.SMSType` is `Promotional` or `Transactional` (Amazon SNS developer guide,
 *   "Publishing to a mobile phone", message attributes).
 *
 * SMS throughput: the account's SMS messages per second ({@link SNS_SMS_RATE_LIMIT}) apply to
 * every Publish that sends SMS (to a `PhoneNumber`, or carrying the `AWS.SNS.SMS.*` attributes
 * of an SMS topic publish); over it Publish fails with the awsQuery common error `Throttling`
 * (HTTP 400, "Rate exceeded"; https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html, and
 * AWS re:Post "sns-throttling-exception-errors": "An error occurred (ThrottlingException) when
 * calling the publish operation: Rate exceeded"). Real SNS would accept a topic publish and
 * throttle its SMS deliveries; the stand-in refuses the publish, the less friendly case. Time is
 * scaled like the receivers' ({@link setSmsTimeScale}).
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import {
  admit,
  createLimiter,
  limiterStats,
  setLimit,
  setLimiterTimeScale,
  type Limiter,
  type RateLimit,
  type RateScopeStats,
} from "../receivers/core";
import {
  isServiceError,
  serviceError,
  STANDIN_ACCOUNT,
  takeFault,
  type AwsContext,
  type AwsState,
} from "./core";

/**
 * The account's SMS throughput: 20 SMS messages per second by default ("Amazon SNS endpoints and
 * quotas", https://docs.aws.amazon.com/general/latest/gr/sns.html, SMS transactions per second;
 * raised through a quota request), per account and Region.
 */
export const SNS_SMS_RATE_LIMIT: RateLimit = {
  limit: 20,
  perSeconds: 1,
  burst: 20,
  source:
    "Amazon SNS endpoints and quotas (https://docs.aws.amazon.com/general/latest/gr/sns.html): SMS messages per second, 20 per account and Region; Publish fails with Throttling",
};

/** `Subject`: "must be less than 100 characters long" (API_Publish). */
export const SNS_SUBJECT_MAX = 99;
/** Non-SMS messages: "at most 256 KB in size (262,144 bytes, not 262,144 characters)". */
export const SNS_MESSAGE_MAX_BYTES = 262_144;
/** "The total size limit for a single SMS Publish action is 1,600 characters." */
export const SNS_SMS_MAX_CHARS = 1600;

/** What is wrong with a `Subject` by API_Publish's rule, or undefined when it is valid. */
function subjectProblem(subject: string): string | undefined {
  if (subject.length === 0) return "Subject must not be empty";
  if (/[\r\n]/.test(subject)) return "Subject must not include line breaks";
  if (/[^\x20-\x7e]/.test(subject)) return "Subject must be ASCII text without control characters";
  if (subject.startsWith(" "))
    return "Subject must begin with a letter, number, or punctuation mark";
  if (subject.length > SNS_SUBJECT_MAX) return "Subject must be less than 100 characters long";
  return undefined;
}

/** The limit name of the SMS limiter (in {@link smsRateStats}). */
const SMS = "sns-sms";

/**
 * The SMS limiter of one stand-in: kept per `state.sns` (replaced by `reset()`, which thus
 * restores the documented limit), with the time scale per `state` (kept across resets).
 */
const smsLimiters = new WeakMap<object, Limiter>();
const smsTimeScales = new WeakMap<object, number>();

function smsLimiter(state: AwsState): Limiter {
  let limiter = smsLimiters.get(state.sns);
  if (!limiter) {
    limiter = createLimiter({ [SMS]: SNS_SMS_RATE_LIMIT });
    const scale = smsTimeScales.get(state);
    if (scale !== undefined) setLimiterTimeScale(limiter, scale);
    smsLimiters.set(state.sns, limiter);
  }
  return limiter;
}

/**
 * Changes the SMS limit of the stand-in whose `state` this is, or turns it off with null (a test
 * about something else, saying why); `reset()` restores the documented one.
 */
export function setSmsRateLimit(state: AwsState, limit: RateLimit | null): void {
  setLimit(smsLimiter(state), SMS, limit);
}

/** AWS time / local time for the SMS limit (sandbox/wiring.ts `scaleTimes`); default `TIME_SCALE` or 1. */
export function setSmsTimeScale(state: AwsState, scale: number): void {
  setLimiterTimeScale(smsLimiter(state), scale);
  smsTimeScales.set(state, scale);
}

/** SMS publishes per AWS second (max) and throttled ones, for the account. */
export function smsRateStats(state: AwsState): RateScopeStats[] {
  return limiterStats(smsLimiter(state), SMS);
}

/** Whether a Publish sends SMS: to a phone number, or with the SMS message attributes. */
function sendsSms(form: URLSearchParams): boolean {
  if (form.get("PhoneNumber")) return true;
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    if (String(form.get(`MessageAttributes.entry.${n}.Name`)).startsWith("AWS.SNS.SMS."))
      return true;
  }
  return false;
}

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
  if (sendsSms(form)) {
    if (message.length > SNS_SMS_MAX_CHARS) {
      throw serviceError("InvalidParameter", "Invalid parameter: Message too long");
    }
    const smsType = messageAttributes(form)["AWS.SNS.SMS.SMSType"]?.stringValue;
    if (smsType !== undefined && smsType !== "Promotional" && smsType !== "Transactional") {
      throw serviceError(
        "InvalidParameter",
        "Invalid parameter: MessageAttributes AWS.SNS.SMS.SMSType must be Promotional or Transactional",
      );
    }
  } else if (Buffer.byteLength(message, "utf8") > SNS_MESSAGE_MAX_BYTES) {
    throw serviceError(
      "InvalidParameter",
      "Invalid parameter: Message too long (at most 262144 bytes)",
    );
  }
  const subject = form.get("Subject");
  const problem = subject === null ? undefined : subjectProblem(subject);
  if (problem) throw serviceError("InvalidParameter", `Invalid parameter: Subject (${problem})`);
  const messageId = randomUUID();
  const publish: SnsPublish = {
    topicArn,
    phoneNumber,
    targetArn,
    message,
    subject: subject ?? undefined,
    messageAttributes: messageAttributes(form),
    messageId,
    at: new Date(),
  };
  ctx.state.sns.published.push(publish);
  ctx.state.sns.onPublish?.(publish);
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

/**
 * Answers one awsQuery (form-encoded) request: SNS `Publish`, with injected delay and fault. A
 * request SNS has received is processed even when the client stops waiting for the answer (its
 * request timeout, a reset): a Publish the client gave up on during the delay is still delivered,
 * as on AWS — a standard topic's Publish has no idempotency, so the client's repeat is a second
 * message ("Amazon SNS message deduplication for FIFO topics" is FIFO-only). Only the answer is
 * lost.
 */
export async function handleSnsQuery(
  ctx: AwsContext,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  const form = new URLSearchParams(body.toString("utf8"));
  const action = form.get("Action") ?? "";
  await ctx.sleep(ctx.delays.sns[action] ?? 0);
  try {
    if (action !== "Publish") {
      throw serviceError(
        "UnknownOperationException",
        `aws stand-in: no stand-in for sns ${action || "(no Action)"}`,
      );
    }
    const fault = takeFault(ctx, "sns", action);
    if (fault) throw fault;
    if (sendsSms(form)) {
      const admission = admit(smsLimiter(ctx.state), SMS, `${STANDIN_ACCOUNT}:${ctx.region}`);
      if (admission && !admission.allowed) throw serviceError("Throttling", "Rate exceeded", 400);
    }
    const result = publish(ctx, form);
    if (res.destroyed) return;
    sendQueryXml(
      res,
      200,
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">${result}` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  } catch (err: unknown) {
    if (!isServiceError(err)) throw err;
    if (!res.destroyed) sendQueryError(res, err);
  }
}
