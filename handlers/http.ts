/**
 * HTTP for the channel drivers: one POST helper with a bounded timeout, one classifier that turns
 * a response into success / retryable / permanent for every HTTP channel, the DeliveryError
 * factory, and redaction of secrets from anything that reaches an error or a log line.
 *
 * Node's own `http`/`https` modules, with a timer that destroys the request: no HTTP library may
 * ship in the Lambda archive (handlers/README.md rule 5), and the built-in `fetch` would cost
 * every cold start about 40 ms to load undici, where `http` is already loaded by the AWS SDK.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { DeliveryError } from "./channels/types";
import { DEFAULT_TIMEOUT_MS } from "./channels/types";

/** Response bodies are read up to this many bytes: enough for any error text, bounded memory. */
export const MAX_RESPONSE_BODY_BYTES = 16 * 1024;

/** What `postJson` returns: the status, the body as (capped) text and lower-cased headers. */
export interface HttpResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** Options of {@link postJson}. */
export interface PostOptions {
  /** Channel instance name, carried by errors. */
  channel: string;
  /** Prefix of error messages, e.g. "slack slack-eng"; defaults to `channel`. */
  label?: string;
  /** Epoch ms the call must settle before. */
  deadline: number;
  /** Per call; default 5000 ms, always cut to the time left before `deadline`. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** Secret values to redact from error messages, besides every URL path and query. */
  secrets?: string[];
}

/** How a response is to be treated. */
export type ResponseClass =
  | { outcome: "success" }
  | { outcome: "retryable"; retryAfterMs?: number; reason: string }
  | { outcome: "permanent"; reason: string };

/**
 * Makes a {@link DeliveryError} (a plain Error with properties: classes do not survive closure
 * serialization). `message` must already be redacted.
 */
export function deliveryError(
  channel: string,
  message: string,
  opts: { retryable: boolean; retryAfterMs?: number; status?: number },
): DeliveryError {
  const props: Partial<DeliveryError> = {
    name: "DeliveryError",
    channel,
    retryable: opts.retryable,
  };
  if (opts.retryAfterMs !== undefined) props.retryAfterMs = opts.retryAfterMs;
  if (opts.status !== undefined) props.status = opts.status;
  return Object.assign(new Error(message), props) as DeliveryError;
}

/** True when `e` was made by {@link deliveryError}. */
export function isDeliveryError(e: unknown): e is DeliveryError {
  return (
    e instanceof Error &&
    e.name === "DeliveryError" &&
    typeof (e as Partial<DeliveryError>).retryable === "boolean"
  );
}

// scheme://[userinfo@]host[:port] then path/query/fragment; `|` and `>` end Slack-style links.
const URL_PATTERN =
  /\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@"'<>|]*@)?([^\s/?#"'<>|]+)([^\s"'<>|]*)/gi;

/**
 * The forms a secret can take in a response body or an error: as is, URL- and JSON-encoded, and,
 * for a secret URL, its path and query and their long parts (a server may echo the request line).
 */
function secretForms(secret: string): string[] {
  const forms = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
  let url: URL | undefined;
  try {
    url = new URL(secret);
  } catch {
    url = undefined; // not a URL: the plain forms are all there is
  }
  if (url) {
    if (url.username) forms.push(url.username);
    if (url.password) forms.push(url.password);
    if (url.pathname.length > 1 || url.search) {
      forms.push(url.pathname + url.search, url.pathname, url.search.slice(1));
    }
    for (const part of [...url.pathname.split("/"), ...url.searchParams.values()]) {
      if (part.length >= 16) forms.push(part, encodeURIComponent(part));
    }
  }
  return forms.filter((f) => f.length >= 4 && f !== "/");
}

/**
 * Removes every secret value (also URL- and JSON-encoded, and a secret URL's path and query) and
 * every URL's credentials, path, query and fragment (keeping scheme and host) from `text`. Apply
 * to anything that goes into an error message or a log line.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  const forms = secrets
    .filter((s): s is string => typeof s === "string" && s.length >= 4)
    .flatMap(secretForms)
    // Longest first, so a form that contains another is removed whole.
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const form of forms) out = out.split(form).join("[redacted]");
  return out.replace(URL_PATTERN, (_m, scheme: string, host: string, rest: string) =>
    rest.length > 0 ? `${scheme}${host}/[redacted]` : `${scheme}${host}`,
  );
}

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

function bodySnippet(body: string): string {
  const line = body.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

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
 * status (other 4xx, unexpected 1xx/3xx) permanent. The reason quotes the body: redact it before
 * it reaches an error.
 */
export function classifyResponse(
  status: number,
  bodyText: string,
  headers: Record<string, string> | Headers = {},
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
  const reason = `HTTP ${status}${bodyText ? `: ${bodySnippet(bodyText)}` : ""}`;
  if (status === 429 || status === 408 || (status >= 500 && status < 600)) {
    const retryAfterMs = retryAfterOf(headers, json);
    return { outcome: "retryable", reason, ...(retryAfterMs !== undefined && { retryAfterMs }) };
  }
  return { outcome: "permanent", reason };
}

/** Our timer's error, told apart from Node's network errors by its name. */
function timeoutError(): Error {
  return Object.assign(new Error("timed out"), { name: "TimeoutError" });
}

/**
 * One POST with Node's http(s): resolves with the status, the capped body and the headers once
 * the response ends (or breaks off: a body cut short by a reset or the timer does not change the
 * outcome once the status has arrived); rejects on errors before a response.
 */
function post(
  target: URL,
  payload: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const request = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = request(target, {
      method: "POST",
      headers: { ...headers, "content-length": String(Buffer.byteLength(payload)) },
    });
    const timer = setTimeout(() => req.destroy(timeoutError()), timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on("response", (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const flat: Record<string, string> = {};
        for (const [key, value] of Object.entries(res.headers)) {
          if (value !== undefined) {
            flat[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
          }
        }
        const body = Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BODY_BYTES).toString("utf8");
        resolve({ status: res.statusCode ?? 0, body, headers: flat });
      };
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_RESPONSE_BODY_BYTES) {
          finish();
          res.destroy();
        }
      });
      res.on("end", finish);
      res.on("close", finish);
      res.on("error", finish);
    });
    req.end(payload);
  });
}

/** Names a request failure without quoting it: Node's messages may carry the host or URL. */
function describeFailure(e: unknown, timeoutMs: number): string {
  const err = typeof e === "object" && e !== null ? (e as { name?: unknown; code?: unknown }) : {};
  if (err.name === "TimeoutError") return `timed out after ${timeoutMs} ms`;
  if (typeof err.code === "string" && /^[A-Z0-9_]+$/.test(err.code)) {
    return `network error (${err.code})`;
  }
  return "network error";
}

/**
 * POSTs `body` as JSON with a timeout bounded by the deadline. Resolves with any HTTP response
 * (classify it with {@link classifyResponse}); throws a retryable DeliveryError on network
 * errors, timeouts and connection resets, and a permanent one on an unusable URL. Redirects are
 * not followed (a 3xx is returned and classified permanent): a webhook that moved is a config
 * error, and following it could carry the Authorization header elsewhere.
 */
export async function postJson(
  url: string,
  body: unknown,
  opts: PostOptions,
): Promise<HttpResponse> {
  const label = opts.label ?? opts.channel;
  const secrets = [url, ...(opts.secrets ?? [])];
  const fail = (message: string, retryable: boolean): DeliveryError =>
    deliveryError(opts.channel, redact(`${label}: ${message}`, secrets), { retryable });

  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw fail("invalid URL", false);
  }
  if (target.protocol !== "https:" && target.protocol !== "http:") {
    throw fail(`unsupported URL scheme ${target.protocol}`, false);
  }
  const left = opts.deadline - Date.now();
  if (left <= 0) throw fail("deadline reached before sending", true);
  const timeoutMs = Math.max(1, Math.min(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, left));

  try {
    return await post(
      target,
      JSON.stringify(body),
      { "content-type": "application/json; charset=utf-8", ...opts.headers },
      timeoutMs,
    );
  } catch (e: unknown) {
    throw fail(describeFailure(e, timeoutMs), true);
  }
}
