/**
 * HTTP for the channel drivers: one POST helper with a bounded timeout and the DeliveryError
 * factory. The response classifier (http-response.ts) and redaction (redact.ts) are re-exported
 * here, so a driver imports its HTTP pieces from one module.
 *
 * Node's own `http`/`https` modules, with a timer that destroys the request: no HTTP library may
 * ship in the Lambda archive (handlers/README.md rule 5), and the built-in `fetch` would cost
 * every cold start about 40 ms to load undici, where `http` is already loaded by the AWS SDK.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { DeliveryError } from "./channels/types";
import { DEFAULT_TIMEOUT_MS } from "./channels/types";
import { redact } from "./redact";
import { checkHttpUrl } from "./url";

export { classifyResponse, parseRetryAfter, type ResponseClass } from "./http-response";
export { redact } from "./redact";

/**
 * Environment variable: how many times faster than AWS the sandbox runs its clock (a positive
 * number; unset or invalid means 1, so on AWS nothing changes). `npm start` sets it on the fan-out
 * together with a function timeout and a queue visibility divided by the same number
 * (sandbox/wiring.ts `scaleTimes`), so that the fan-out's own durations (the HTTP timeout, the
 * deadline margin, the retry backoff) keep AWS's ratios to them.
 */
export const TIME_SCALE_ENV = "TIME_SCALE";

/** The divisor of {@link TIME_SCALE_ENV} (1 when unset or not a positive finite number). */
export function timeScale(): number {
  const factor = Number(process.env[TIME_SCALE_ENV]);
  return Number.isFinite(factor) && factor > 0 ? factor : 1;
}

/** `ms` of AWS time on this clock: `ms / timeScale()`, rounded, at least 1. */
export function scaledMs(ms: number): number {
  return scaleMs(ms, timeScale());
}

/** `ms` of AWS time on a clock `factor` times faster: `ms / factor`, rounded, at least 1. */
export function scaleMs(ms: number, factor: number): number {
  return Math.max(1, Math.round(ms / factor));
}

/**
 * A timeout for one round trip to a LOCAL stand-in (DynamoDB, CodePipeline, SNS…) when time is
 * scaled: {@link scaledMs} of `ms`, but never under `floorMs` real milliseconds (nor over `ms`).
 * The sandbox divides AWS's durations by its time scale, but the machine does not get faster: at
 * 1/50 a 5 s SDK request timeout would be 100 ms, which a local dynalite on a busy 2-core machine
 * exceeds, turning the machine's load into DynamoDB "timeouts" AWS would never produce. On AWS
 * (scale 1) this is `ms`.
 */
export function roundTripTimeoutMs(ms: number, floorMs: number): number {
  return Math.max(scaledMs(ms), Math.min(ms, floorMs));
}

/**
 * Real milliseconds the local Lambda lets an invocation run under a scaled clock before it resets
 * the environment, at most (testing/lambda.ts `killAfterMs`: the machine does not get faster with
 * the scale). A delivery claim's lease is never shorter than this, so no other receive takes a
 * slot that a still-running local invocation holds (fanout/invocation.ts `claimLease`). On AWS
 * the lease is longer anyway (5 s after the deadline; the function stops 3 s after it).
 */
export const LOCAL_OVERRUN_FLOOR_MS = 5000;

/**
 * The real-time floor of a receiver's HTTP timeout under scaled time (ms): at 1/50 the 5 s
 * timeout would be 100 ms, which a local receiver in the sandbox's busy process misses on a cold
 * start (the sandbox demo then saw Slack's first message twice: a reply later than 100 ms, retried;
 * at 200 ms it still did, once, on a CI machine that also ran the benchmark tests). 300 ms still
 * lets withRetries' 3 attempts fit in the scaled 60 s function timeout (1.2 s, with its 60 ms
 * margin), as 3 × 5 s fit in 60 s on AWS.
 */
export const RECEIVER_TIMEOUT_FLOOR_MS = 300;

/**
 * A channel's per-call HTTP timeout (ms, this clock): `DEFAULT_TIMEOUT_MS` (5 s) on AWS; under
 * scaled time {@link roundTripTimeoutMs} with {@link RECEIVER_TIMEOUT_FLOOR_MS}.
 */
export function receiverTimeoutMs(): number {
  return roundTripTimeoutMs(DEFAULT_TIMEOUT_MS, RECEIVER_TIMEOUT_FLOOR_MS);
}

/**
 * The least time left before its deadline (ms) a notification is sent with:
 * {@link RECEIVER_TIMEOUT_FLOOR_MS}, on AWS and in the sandbox alike (channels/common.ts
 * `deliverHttp` asks for it through `PostOptions.minSendMs`). A request started with less has its
 * timeout cut to what is left (tens of ms under load), so a receiver that took it and answered in
 * an ordinary time is read as timed out, and the retry sends it again: the sandbox's demo, under
 * load, sent a Slack message twice and paged PagerDuty twice after attempts "timed out after
 * 27 ms" and "after 21 ms". Not started, it is a plain "not sent" that the next receive delivers
 * once. A send started with more can still lose its answer: README, "Exactly once".
 */
export function minSendBudgetMs(): number {
  return RECEIVER_TIMEOUT_FLOOR_MS;
}

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
  /**
   * Least time left before `deadline` to start the send, ms (notifications:
   * {@link minSendBudgetMs}); with less, a retryable DeliveryError and nothing sent. Default 0: a
   * post whose deadline is its own timeout (the approval click's answer) is always made.
   */
  minSendMs?: number;
  /**
   * Per call; default 5000 ms (`DEFAULT_TIMEOUT_MS`; under scaled time {@link receiverTimeoutMs}), always cut to
   * the time left before `deadline`.
   */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** Secret values to redact from error messages, besides every URL path and query. */
  secrets?: string[];
}

/**
 * Makes a {@link DeliveryError} (a plain Error with properties: classes do not survive closure
 * serialization). `message` must already be redacted.
 */
export function deliveryError(
  channel: string,
  message: string,
  opts: { retryable: boolean; retryAfterMs?: number; status?: number; mayHaveArrived?: boolean },
): DeliveryError {
  const props: Partial<DeliveryError> = {
    name: "DeliveryError",
    channel,
    retryable: opts.retryable,
  };
  if (opts.retryAfterMs !== undefined) props.retryAfterMs = opts.retryAfterMs;
  if (opts.status !== undefined) props.status = opts.status;
  if (opts.mayHaveArrived) props.mayHaveArrived = true;
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
    // Once the whole request is written, a failure without an answer leaves its fate unknown.
    let written = false;
    req.on("finish", () => (written = true));
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(Object.assign(e, { written }));
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
 * errors, timeouts and connection resets (`mayHaveArrived` when the request had been written
 * in full: the receiver may have taken it), a retryable one without sending when less than
 * `minSendMs` is left before the deadline, and a permanent one on an unusable URL. Redirects are
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
  const fail = (message: string, retryable: boolean, mayHaveArrived = false): DeliveryError =>
    deliveryError(opts.channel, redact(`${label}: ${message}`, secrets), {
      retryable,
      mayHaveArrived,
    });

  const checked = checkHttpUrl(url);
  if (!checked.ok) {
    const problem =
      checked.problem === "scheme" ? `unsupported URL scheme ${checked.protocol}` : "invalid URL";
    throw fail(problem, false);
  }
  const target = checked.url;
  const left = opts.deadline - Date.now();
  if (left <= 0) throw fail("deadline reached before sending", true);
  const least = opts.minSendMs ?? 0;
  if (left < least)
    throw fail(`deadline too close to send (${left} ms left, ${least} needed)`, true);
  const timeoutMs = Math.max(1, Math.min(opts.timeoutMs ?? receiverTimeoutMs(), left));

  try {
    return await post(
      target,
      JSON.stringify(body),
      { "content-type": "application/json; charset=utf-8", ...opts.headers },
      timeoutMs,
    );
  } catch (e: unknown) {
    throw fail(describeFailure(e, timeoutMs), true, (e as { written?: boolean }).written === true);
  }
}
