/**
 * Helpers shared by the channel drivers: kind wording, text fitting with truncation tracking,
 * HTTP delivery with classification, SNS delivery with error classification.
 */
import { deliveryError, minSendBudgetMs, postJson, redact, type HttpResponse } from "../http";
import { answerMayHideDelivery, classifyResponse } from "../http-response";
import { wellFormed } from "../events/fields";
import { redactAndCut } from "../redact";
import { truncateText } from "../slack-text";
import type { ChannelConfig, ChannelType, Notification } from "../types";
import { retryAttempt } from "./lifecycle";
import type { ChannelContext, DeliveryError, DeliveryReceipt } from "./types";

/**
 * One upper-case word (or a few) per kind, most important first: used by sms, email, PagerDuty.
 * A retried stage that fails again says so ("FAILED AGAIN (attempt 2)"); a rollback says it is
 * one.
 */
export function kindWord(n: Notification): string {
  switch (n.kind) {
    case "failure": {
      if (n.rollback) return "ROLLBACK FAILED";
      const attempt = retryAttempt(n);
      return attempt ? `FAILED AGAIN (attempt ${attempt})` : "FAILED";
    }
    case "rejection":
      return "REJECTED";
    case "success":
      return n.rollback ? "ROLLED BACK" : "SUCCEEDED";
    case "approval-request":
      return "APPROVAL NEEDED";
    case "approval-expired":
      return "APPROVAL EXPIRED";
    case "superseded":
      return "SUPERSEDED";
    case "canceled":
      return "CANCELED";
    case "stopped":
      return n.state === "STOPPING" ? "STOPPING" : "STOPPED";
    case "status":
      return String(n.state).toUpperCase();
    default: {
      const never: never = n.kind;
      return String(never).toUpperCase();
    }
  }
}

export { accountRegion, accountWords, originOf, pipelineLabel } from "./origin";

export { headline, whereOf } from "./headline";

/** Collapses all whitespace (newlines included) into single spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** Records which fields were cut, so the driver can report and log the truncation. */
export interface Fitter {
  /** Names of the fields cut so far. */
  truncated: string[];
  /** Cuts `text` to `max` characters with a visible "…", recording `field` when it cut. */
  fit(field: string, text: string, max: number): string;
}

/** Makes a {@link Fitter} that cuts with `truncate` (default {@link truncateText}). */
export function fitter(truncate: typeof truncateText = truncateText): Fitter {
  const truncated: string[] = [];
  return {
    truncated,
    fit(field, text, max) {
      const out = truncate(text, max);
      if (out.truncated && !truncated.includes(field)) truncated.push(field);
      return out.text;
    },
  };
}

/** Logs a truncation (never the text itself) and says whether there was one. */
export function reportTruncation(
  ctx: ChannelContext<ChannelConfig>,
  type: ChannelType,
  n: Notification,
  fields: string[],
): boolean {
  if (fields.length === 0) return false;
  ctx.log.warn(`${type} ${ctx.name}: text truncated to fit the channel's limits`, {
    channel: ctx.name,
    type,
    notificationId: n.id,
    fields,
  });
  return true;
}

/** Reads a secret field, failing permanently (a config error) when it is missing. */
export function requireSecret(
  type: ChannelType,
  ctx: ChannelContext<ChannelConfig>,
  field: string,
): string {
  const value = ctx.secret[field];
  if (typeof value !== "string" || value === "") {
    throw deliveryError(ctx.name, `${type} ${ctx.name}: secret field ${field} is missing`, {
      retryable: false,
    });
  }
  return value;
}

/** All secret values of a channel, for redaction. */
export function secretValues(ctx: ChannelContext<ChannelConfig>): string[] {
  return Object.values(ctx.secret).filter((v): v is string => typeof v === "string");
}

function logFailure(
  ctx: ChannelContext<ChannelConfig>,
  type: ChannelType,
  err: DeliveryError,
): void {
  ctx.log.warn(err.message, {
    channel: ctx.name,
    type,
    retryable: err.retryable,
    ...(err.status !== undefined && { status: err.status }),
    ...(err.retryAfterMs !== undefined && { retryAfterMs: err.retryAfterMs }),
  });
}

/**
 * POSTs a channel payload and classifies the answer: resolves with the response on success,
 * throws a redacted DeliveryError (logged as a warning) otherwise.
 */
export async function deliverHttp(
  type: ChannelType,
  ctx: ChannelContext<ChannelConfig>,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResponse> {
  const label = `${type} ${ctx.name}`;
  const secrets = secretValues(ctx);
  let res: HttpResponse;
  try {
    res = await postJson(url, body, {
      channel: ctx.name,
      label,
      deadline: ctx.deadline,
      minSendMs: minSendBudgetMs(),
      timeoutMs: ctx.timeoutMs,
      headers,
      secrets,
    });
  } catch (e: unknown) {
    if (e instanceof Error && e.name === "DeliveryError") logFailure(ctx, type, e as DeliveryError);
    throw e;
  }
  const verdict = classifyResponse(res.status, res.body, res.headers, [url, ...secrets]);
  if (verdict.outcome === "success") return res;
  const err = deliveryError(ctx.name, redact(`${label}: ${verdict.reason}`, [url, ...secrets]), {
    retryable: verdict.outcome === "retryable",
    status: res.status,
    mayHaveArrived: answerMayHideDelivery(res.status, res.body),
    ...(verdict.outcome === "retryable" &&
      verdict.retryAfterMs !== undefined && { retryAfterMs: verdict.retryAfterMs }),
  });
  logFailure(ctx, type, err);
  throw err;
}

// SNS error codes (docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors), SDK names.
const SNS_RETRYABLE_ERRORS = [
  "Throttled",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "KMSThrottlingException",
  "InternalError",
  "InternalErrorException",
  "InternalFailure",
  "ServiceUnavailable",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
];

/**
 * Classifies an SNS SDK error: throttling, 5xx and network errors (no HTTP status) retryable;
 * validation, authorization and other 4xx permanent.
 */
export function snsDeliveryError(
  type: ChannelType,
  ctx: ChannelContext<ChannelConfig>,
  e: unknown,
): DeliveryError {
  const err = (typeof e === "object" && e !== null ? e : {}) as {
    name?: unknown;
    message?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const name = typeof err.name === "string" ? err.name : "Error";
  const status =
    typeof err.$metadata?.httpStatusCode === "number" ? err.$metadata.httpStatusCode : undefined;
  let retryable: boolean;
  // The SDK could not even serialize the request (a lone surrogate): no retry can fix that.
  if (name === "URIError") retryable = false;
  else if (SNS_RETRYABLE_ERRORS.includes(name)) retryable = true;
  else if (status !== undefined) retryable = status >= 500 || status === 429;
  else if (err.$fault === "client") retryable = false;
  else retryable = true; // no response at all: a network error
  // Redact, then cut (redactAndCut): a secret the SDK echoes across the cut must not leave its start.
  const secrets = secretValues(ctx);
  const detail =
    typeof err.message === "string" ? redactAndCut(oneLine(err.message), secrets, 200) : "";
  const message = redact(
    `${type} ${ctx.name}: SNS ${name}${status !== undefined ? ` (HTTP ${status})` : ""}${detail ? `: ${detail}` : ""}`,
    secrets,
  );
  // No answer at all (a request timeout, a reset): SNS may have accepted the Publish. Not when
  // the request never left: no connection (refused, no DNS; the SDK's connection timeout says
  // "did not establish a connection", @smithy/node-http-handler).
  // The code may only be in the message (the SDK's "error wrapper" for a foreign Error).
  const said = `${String((err as { code?: unknown }).code ?? "")} ${String(err.message ?? "")}`;
  const neverSent = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|did not establish a connection/.test(said);
  const mayHaveArrived = status === undefined && retryable && !neverSent;
  return deliveryError(ctx.name, message, {
    retryable,
    ...(status !== undefined && { status }),
    mayHaveArrived,
  });
}

/** Publishes to the channel's SNS topic and makes the receipt; failures become DeliveryErrors. */
export async function publishSns(
  type: ChannelType,
  ctx: ChannelContext<ChannelConfig>,
  input: {
    Message: string;
    Subject?: string;
    MessageAttributes?: Record<string, { DataType: string; StringValue: string }>;
  },
  truncated: boolean,
): Promise<DeliveryReceipt> {
  if (!ctx.topicArn) {
    throw deliveryError(ctx.name, `${type} ${ctx.name}: no SNS topic configured`, {
      retryable: false,
    });
  }
  let out: { MessageId?: string };
  try {
    // Well-formed text only: the SDK's Query serializer throws `URIError: URI malformed` on a lone
    // surrogate (half an emoji) before anything is sent (issue 12).
    const text = {
      Message: wellFormed(input.Message),
      ...(input.Subject !== undefined && { Subject: wellFormed(input.Subject) }),
    };
    out = await ctx.sns.publish({ TopicArn: ctx.topicArn, ...input, ...text });
  } catch (e: unknown) {
    const err = snsDeliveryError(type, ctx, e);
    logFailure(ctx, type, err);
    throw err;
  }
  return {
    channel: ctx.name,
    type,
    ...(out.MessageId !== undefined && { id: out.MessageId }),
    ...(truncated && { truncated }),
  };
}
