/**
 * The one classifier that turns an HTTP response into success / retryable / permanent for every
 * HTTP channel (after Prometheus Alertmanager's `notify/`), with `Retry-After` parsing.
 */
import { redactAndCut } from "./redact";

/** How a response is to be treated. */
export type ResponseClass =
  | { outcome: "success" }
  | { outcome: "retryable"; retryAfterMs?: number; reason: string }
  | { outcome: "permanent"; reason: string };

/**
 * Parses a `Retry-After` header value (delay seconds or an HTTP date) into milliseconds from
 * `now`; undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

const SLACK_RETRYABLE_ERRORS = [
  "ratelimited",
  "rate_limited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
];

/** Longest body quote in a reason (characters, "…" included). */
const MAX_BODY_SNIPPET_CHARS = 200;

function header(headers: Record<string, string> | Headers, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") {
    return (headers as Headers).get(name) ?? undefined;
  }
  const bag = headers as Record<string, string>;
  return bag[name] ?? bag[Object.keys(bag).find((k) => k.toLowerCase() === name) ?? ""];
}

function parseJsonObject(body: string): Record<string, unknown> | undefined {
  if (!body.trimStart().startsWith("{")) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed !== null && typeof parsed === "object"
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined; // a capped or non-JSON body: classify on the status alone
  }
}

/** The wait a 429/503 asks for: `Retry-After` header, else Discord's JSON `retry_after` (seconds). */
function retryAfterOf(
  headers: Record<string, string> | Headers,
  json: Record<string, unknown> | undefined,
): number | undefined {
  const fromHeader = parseRetryAfter(header(headers, "retry-after"));
  if (fromHeader !== undefined) return fromHeader;
  const fromBody = json?.retry_after;
  return typeof fromBody === "number" && fromBody >= 0 ? Math.ceil(fromBody * 1000) : undefined;
}

/**
 * Classifies an HTTP response for every HTTP channel: 2xx success (except Slack Web API
 * `{"ok":false}`: `ratelimited` and server-side errors retryable, others permanent); 429, 408 and
 * 5xx retryable, honouring `Retry-After` (seconds or HTTP date) or a JSON `retry_after`; any other
 * status (other 4xx, unexpected 1xx/3xx) permanent. The reason quotes at most 200 characters of
 * the body, redacted of `secrets` (and of every URL's path and query) before it is cut
 * ({@link redactAndCut}): a secret echoed across the cut would otherwise leave its beginning.
 */
export function classifyResponse(
  status: number,
  bodyText: string,
  headers: Record<string, string> | Headers = {},
  secrets: readonly (string | undefined)[] = [],
): ResponseClass {
  const json = parseJsonObject(bodyText);
  if (status >= 200 && status < 300) {
    if (json && json.ok === false) {
      const error = typeof json.error === "string" ? json.error : "unknown_error";
      if (SLACK_RETRYABLE_ERRORS.includes(error)) {
        const retryAfterMs = retryAfterOf(headers, json);
        return {
          outcome: "retryable",
          reason: `ok:false ${error}`,
          ...(retryAfterMs !== undefined && { retryAfterMs }),
        };
      }
      return { outcome: "permanent", reason: `ok:false ${error}` };
    }
    return { outcome: "success" };
  }
  const snippet = bodyText ? redactAndCut(bodyText, secrets, MAX_BODY_SNIPPET_CHARS) : "";
  const reason = `HTTP ${status}${snippet ? `: ${snippet}` : ""}`;
  if (status === 429 || status === 408 || (status >= 500 && status < 600)) {
    const retryAfterMs = retryAfterOf(headers, json);
    return { outcome: "retryable", reason, ...(retryAfterMs !== undefined && { retryAfterMs }) };
  }
  return { outcome: "permanent", reason };
}

/**
 * Statuses a gateway in front of the receiver answers when it stopped waiting for it (502 Bad
 * Gateway, 504 Gateway Timeout; RFC 9110 §15.6.3, §15.6.5): the receiver may have taken the
 * request (AWS knowledge center "eks-http-504-errors": the load balancer "established a
 * connection to the target, but the target didn't respond before the idle timeout").
 */
export const GATEWAY_GAVE_UP: readonly number[] = [502, 504];

/**
 * Slack Web API errors (HTTP 200, `ok: false`) after which the message may have been posted:
 * Slack's method reference (chat.postMessage, chat.update, …) says of both "It's possible some
 * aspect of the operation succeeded before the error was raised".
 */
const SLACK_MAYBE_DONE_ERRORS = ["internal_error", "fatal_error"];

/**
 * Whether a failed answer may hide a delivery the receiver did make, so that a repeat may be a
 * duplicate, recorded as such (`mayHaveArrived`): a gateway's 502 / 504 ({@link GATEWAY_GAVE_UP})
 * or Slack's `internal_error` / `fatal_error`. Any other failed answer (a 500, a 503, a 429,
 * `ratelimited`) came from the receiver, which did not take the message.
 */
export function answerMayHideDelivery(status: number, bodyText: string): boolean {
  if (GATEWAY_GAVE_UP.includes(status)) return true;
  if (status < 200 || status >= 300) return false;
  const json = parseJsonObject(bodyText);
  return json?.ok === false && SLACK_MAYBE_DONE_ERRORS.includes(String(json.error));
}

/**
 * What a receiver answers when a message is too big, as it appears in a delivery error's reason:
 * Slack `msg_blocks_too_long` (chat.postMessage: block text over about 12,000 characters,
 * slackapi/bolt-js#2509), `msg_too_long` and `invalid_blocks` (incoming webhooks answer them with
 * HTTP 400), HTTP 413 Content Too Large (RFC 9110 §15.5.14), Discord's 50035 "Invalid Form Body"
 * ("Embed size exceeds maximum size of 6000"). A shorter message may pass where no retry of the
 * same one can.
 */
const SIZE_REFUSAL = /\b(?:msg_blocks_too_long|msg_too_long|invalid_blocks|HTTP 413|50035)\b/;

/** Whether `reason` (a permanent delivery error's message) refuses the message for its size. */
export function isSizeRefusal(reason: string): boolean {
  return SIZE_REFUSAL.test(reason);
}
