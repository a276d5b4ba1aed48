/**
 * What every channel receiver shares: the recording of requests (`attempts`, and the accepted
 * ones in `deliveries`, with listeners), fault and latency injection per receiver kind, and the
 * small answer helpers. The channels themselves are pure functions from a request to an
 * {@link Answer} (plus their own state, e.g. PagerDuty incidents).
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { sendJson } from "../http";
import { seededRandom } from "../random";

/** The kinds of receiver this server stands in for. */
export const RECEIVER_KINDS = [
  "slack",
  "slack-api",
  "slack-response",
  "pagerduty",
  "teams",
  "discord",
  "webhook",
] as const;
/** One of {@link RECEIVER_KINDS}. */
export type ReceiverKind = (typeof RECEIVER_KINDS)[number];

/** One request a receiver accepted. */
export interface Delivery {
  receiver: ReceiverKind;
  /**
   * Which instance: the `<name>` path segment (slack, teams, discord, webhook), the response id
   * (slack-response), the API method (slack-api), or "enqueue" / "change" (pagerduty).
   */
  name: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, form fields as an object, or the raw text. */
  body: unknown;
  /** The size of the request body in bytes, as sent (the services' size limits count these). */
  bytes?: number;
  /** The query string's parameters (Discord's `wait`). */
  query?: Record<string, string>;
  at: Date;
}

/**
 * What became of one request. `lost-reply`: accepted (the channel acted on it, it is in
 * `deliveries`) but the connection was reset before the answer; `replayed`: a repeat the receiver
 * recognized by its idempotency key and answered with the first answer, not delivered again.
 */
export type AttemptOutcome =
  "delivered" | "lost-reply" | "replayed" | "rejected" | "fault" | "timeout" | "reset";

/** Outcomes where the channel acted on the message (it is in `deliveries`). */
export const ACCEPTED_OUTCOMES: readonly AttemptOutcome[] = ["delivered", "lost-reply"];

/** One request, whatever became of it. */
export interface Attempt extends Delivery {
  outcome: AttemptOutcome;
  /** HTTP status answered (none for timeout and reset). */
  status?: number;
  /**
   * Why a request answered with a success status was `rejected` all the same (see
   * {@link Answer.dropped}: a Teams Workflows run that failed after its 202).
   */
  reason?: string;
}

/**
 * An injected failure. `times` = how many requests fail before the receiver recovers (undefined
 * = until cleared).
 * - a status (500, 429 with `retryAfter` seconds, …): answered instead of the channel's answer;
 * - `timeout`: the request is read and never answered (the client's timeout ends it);
 * - `reset`: the request is read and the connection reset, the message NOT accepted;
 * - `lost-reply`: the message IS accepted (the channel acts on it: a Slack message posted, a page
 *   opened) and then the connection is reset before the answer — the client cannot tell this from
 *   `reset` (TCP RST after the request was read: Node's `ECONNRESET`, "socket hang up");
 * - `gateway-timeout`: the message IS accepted, and a gateway in front of the channel answers
 *   504 instead of the channel's answer (it stopped waiting for the channel: AWS knowledge center
 *   "eks-http-504-errors": the load balancer "established a connection to the target, but the
 *   target didn't respond before the idle timeout"; RFC 9110 §15.6.5);
 * - `slow`: answered normally after `ms` more milliseconds.
 */
export type ReceiverFault =
  | { status: number; body?: unknown; retryAfter?: number; times?: number }
  | { kind: "timeout"; times?: number }
  | { kind: "reset"; times?: number }
  | { kind: "lost-reply"; times?: number }
  | { kind: "gateway-timeout"; times?: number }
  | { kind: "slow"; ms: number; times?: number };

/**
 * Random faults: each request of the receivers it is set for fails with probability `fraction`,
 * with one of `faults` picked at random (their `times` is ignored); deterministic under `seed`
 * (default 1) for a given order of requests. An explicit `setFault` takes precedence.
 */
export interface ReceiverChaos {
  fraction: number;
  faults: ReceiverFault[];
  seed?: number;
}

/** A receiver's answer. */
export interface Answer {
  status: number;
  body?: unknown;
  contentType?: string;
  /**
   * The service answered `status` (a success) before acting on the request and then did not act
   * on it, for this reason: the request is recorded as `rejected` (not in `deliveries`), with
   * the reason in its {@link Attempt}, while the sender sees only the success.
   */
  dropped?: string;
}

/** A text/plain answer. */
export function text(status: number, body: string): Answer {
  return { status, body, contentType: "text/plain; charset=utf-8" };
}

/** A JSON answer. */
export function json(status: number, body: unknown): Answer {
  return { status, body, contentType: "application/json" };
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses JSON, or gives the text back unchanged when it is not JSON. */
export function safeJson(textValue: string): unknown {
  try {
    return JSON.parse(textValue);
  } catch {
    return textValue;
  }
}

/** Parses a body by content type, falling back to JSON when it looks like JSON. */
export function parseBody(headers: IncomingHttpHeaders, raw: Buffer): unknown {
  const textBody = raw.toString("utf8");
  const contentType = String(headers["content-type"] ?? "");
  if (contentType.startsWith("application/x-www-form-urlencoded")) {
    return Object.fromEntries(new URLSearchParams(textBody));
  }
  if (textBody === "") return undefined;
  try {
    return JSON.parse(textBody);
  } catch {
    return textBody;
  }
}

/** Writes an answer (JSON for objects, the content type given for text, no body when none). */
export function send(
  res: ServerResponse,
  answer: Answer,
  extra: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  if (answer.body === undefined) {
    res.writeHead(answer.status, extra).end();
    return;
  }
  if (answer.contentType === "application/json" || typeof answer.body !== "string") {
    sendJson(res, answer.status, answer.body, extra);
    return;
  }
  res.writeHead(answer.status, { "content-type": answer.contentType ?? "text/plain", ...extra });
  res.end(answer.body);
}

/** The recording, faults and latencies of one receivers server. */
export interface Recorder {
  /** Accepted requests, in arrival order. */
  deliveries: Delivery[];
  /** Every request, accepted or not. */
  attempts: Attempt[];
  faults: Partial<Record<ReceiverKind, ReceiverFault>>;
  /** Random faults per receiver kind, with their generator. */
  chaos: Partial<Record<ReceiverKind, ReceiverChaos & { random: () => number }>>;
  latencies: Partial<Record<ReceiverKind, number>>;
  deliveryListeners: Array<(delivery: Delivery) => void>;
  attemptListeners: Array<(attempt: Attempt) => void>;
  /** The documented rate limits, enforced per scope (on by default). */
  limiter: Limiter;
}

/** An empty {@link Recorder} enforcing the rate limits `defaults` (per receiver kind). */
export function createRecorder(defaults: Record<string, RateLimit> = {}): Recorder {
  return {
    limiter: createLimiter(defaults),
    deliveries: [],
    attempts: [],
    faults: {},
    chaos: {},
    latencies: {},
    deliveryListeners: [],
    attemptListeners: [],
  };
}

/** Validates and installs random faults for `receivers`; the error names the setting. */
export function setChaos(
  recorder: Recorder,
  chaos: ReceiverChaos | null,
  receivers: readonly ReceiverKind[],
): void {
  if (chaos && !(chaos.fraction >= 0 && chaos.fraction <= 1)) {
    throw new Error(`receivers chaos: fraction must be within 0..1, got ${chaos.fraction}`);
  }
  if (chaos && chaos.faults.length === 0) {
    throw new Error("receivers chaos: faults must name at least one fault");
  }
  // One generator for all the receivers named together: one seed, one sequence.
  const random = seededRandom(chaos?.seed ?? 1);
  for (const receiver of receivers) {
    if (chaos === null) delete recorder.chaos[receiver];
    else recorder.chaos[receiver] = { ...chaos, random };
  }
}

/** Takes one use of the receiver's fault (explicit first, then random), if any. */
export function takeFault(recorder: Recorder, receiver: ReceiverKind): ReceiverFault | undefined {
  const fault = recorder.faults[receiver];
  if (!fault) {
    const chaos = recorder.chaos[receiver];
    if (!chaos || chaos.random() >= chaos.fraction) return undefined;
    return chaos.faults[Math.floor(chaos.random() * chaos.faults.length)];
  }
  if (fault.times !== undefined) {
    fault.times -= 1;
    if (fault.times <= 0) delete recorder.faults[receiver];
  }
  return fault;
}

/** Records one request with its outcome and tells the listeners. */
export function record(
  recorder: Recorder,
  delivery: Delivery,
  outcome: AttemptOutcome,
  status?: number,
  reason?: string,
): void {
  const attempt: Attempt = {
    ...delivery,
    outcome,
    status,
    ...(reason !== undefined && { reason }),
  };
  recorder.attempts.push(attempt);
  for (const listener of [...recorder.attemptListeners]) listener(attempt);
  if (!ACCEPTED_OUTCOMES.includes(outcome)) return;
  recorder.deliveries.push(delivery);
  for (const listener of [...recorder.deliveryListeners]) listener(delivery);
}

/** Adds `listener` to `list`; returns the function that removes it again. */
export function subscribe<T>(
  list: Array<(value: T) => void>,
  listener: (value: T) => void,
): () => void {
  list.push(listener);
  return () => {
    const at = list.indexOf(listener);
    if (at >= 0) list.splice(at, 1);
  };
}

/**
 * Clears recordings, faults and latencies in place and restores the documented rate limits
 * (listeners and the time scale stay).
 */
export function resetRecorder(recorder: Recorder): void {
  resetLimiter(recorder.limiter);
  recorder.deliveries.length = 0;
  recorder.attempts.length = 0;
  for (const key of RECEIVER_KINDS) {
    delete recorder.faults[key];
    delete recorder.chaos[key];
    delete recorder.latencies[key];
  }
}

/** Requests per outcome (every outcome present, 0 when none). */
export type OutcomeCounts = Record<AttemptOutcome, number>;

/**
 * Counts `attempts` by outcome, so a test can tell "delivered but the reply was lost"
 * (`lost-reply`) from "not delivered" (`reset`, `timeout`, `fault`, `rejected`).
 */
export function countOutcomes(attempts: readonly Attempt[]): OutcomeCounts {
  const counts: OutcomeCounts = {
    delivered: 0,
    "lost-reply": 0,
    replayed: 0,
    rejected: 0,
    fault: 0,
    timeout: 0,
    reset: 0,
  };
  for (const attempt of attempts) counts[attempt.outcome] += 1;
  return counts;
}

// ---- documented rate limits ---------------------------------------------------------------------

/**
 * A rate limit a service documents, in AWS (real) time. Each receiver module names its own with
 * the documentation it comes from; the receivers enforce them per scope (a Slack channel, a
 * PagerDuty routing key, a Discord or Teams webhook, the SNS account) by default.
 */
export interface RateLimit {
  /** Requests per `perSeconds` once a burst is spent (the sustained rate). */
  limit: number;
  /** The interval of `limit`, in seconds of AWS time. */
  perSeconds: number;
  /**
   * `bucket` (default): a token bucket of `burst` tokens refilled at `limit / perSeconds` per
   * second; `window`: a fixed window of `limit` requests that resets `perSeconds` after its
   * first request (Discord's buckets, whose `X-RateLimit-Reset-After` counts down to that reset).
   */
  algorithm?: "bucket" | "window";
  /** Requests accepted at once from idle (the bucket's capacity); ignored by `window`. */
  burst: number;
  /** Where the numbers come from (a URL and the sentence), for the reader of a 429. */
  source: string;
}

/** What the receivers measured on one scope. */
export interface RateScopeStats {
  /** Receiver kind (or "sns-sms"). */
  receiver: string;
  /** The scope: channel, webhook name, routing key, account. */
  scope: string;
  /** Requests that reached the limiter (accepted or answered 429). */
  attempts: number;
  /** Requests answered 429 (or Throttling) by the limiter. */
  http429: number;
  /** The most requests in any one second of AWS time (scaled: see {@link Limiter.timeScale}). */
  maxPerSecond: number;
  /** Requests per AWS second since the limiter started (index = second). */
  perSecond: Record<number, number>;
}

/** One scope's bucket or window and its statistics. */
interface ScopeState {
  /** Token bucket: tokens left; window: requests used in the current window. */
  level: number;
  /** AWS-clock ms of the last refill (bucket) or of the window's start (window). */
  atMs: number;
  stats: RateScopeStats;
}

/**
 * The limiter of one receivers server (or of the SNS stand-in). Time is the world's: with
 * `timeScale` 50 (sandbox/wiring.ts `DEFAULT_TIME_SCALE`) one second of AWS time passes in 20 ms,
 * so a bucket refills 50 times faster and the receiver accepts 50 times the real-time rate, while
 * every number it answers (`Retry-After`, Discord's `X-RateLimit-Reset-After`) stays in AWS
 * seconds, as the service would say it (the fan-out divides its waits by its `TIME_SCALE`).
 */
export interface Limiter {
  /** The limit per receiver kind; absent or null = not limited. */
  limits: Record<string, RateLimit | null | undefined>;
  /** The documented defaults that {@link resetLimiter} restores. */
  defaults: Record<string, RateLimit>;
  /** AWS time / local time (1 = real time). */
  timeScale: number;
  /** The AWS clock: `awsBaseMs + (Date.now() - realBaseMs) * timeScale`. */
  awsBaseMs: number;
  realBaseMs: number;
  scopes: Record<string, ScopeState>;
}

/** The default time scale: `TIME_SCALE` of this process when set (≥ 1), else 1 (real time). */
export function defaultTimeScale(): number {
  const scale = Number(process.env.TIME_SCALE);
  return Number.isFinite(scale) && scale >= 1 ? scale : 1;
}

/** A limiter enforcing `defaults` (copied) on the default time scale. */
export function createLimiter(defaults: Record<string, RateLimit>): Limiter {
  return {
    limits: { ...defaults },
    defaults,
    timeScale: defaultTimeScale(),
    awsBaseMs: 0,
    realBaseMs: Date.now(),
    scopes: {},
  };
}

/** Now on the limiter's AWS clock, in ms. */
export function awsNowMs(limiter: Limiter, nowMs = Date.now()): number {
  return limiter.awsBaseMs + (nowMs - limiter.realBaseMs) * limiter.timeScale;
}

/**
 * Changes the time scale (AWS time / local time) from now on.
 * @throws when `scale` is not a number ≥ 1 (the message names `timeScale`).
 */
export function setLimiterTimeScale(limiter: Limiter, scale: number): void {
  if (!Number.isFinite(scale) || scale < 1) {
    throw new Error(
      `rate limits: timeScale ${scale}: expected a number ≥ 1 (AWS time / local time)`,
    );
  }
  const now = Date.now();
  limiter.awsBaseMs = awsNowMs(limiter, now);
  limiter.realBaseMs = now;
  limiter.timeScale = scale;
}

/**
 * Sets (or with null, turns off) the limit of one receiver kind; its scopes start afresh.
 * @throws when a number of `limit` is not positive (the message names the field).
 */
export function setLimit(limiter: Limiter, receiver: string, limit: RateLimit | null): void {
  if (limit) {
    const bad = (["limit", "perSeconds", "burst"] as const).filter(
      (k) => !(Number.isFinite(limit[k]) && limit[k] > 0),
    );
    if (bad.length > 0) {
      throw new Error(`rate limits: ${receiver}: ${bad.join(", ")} must be positive numbers`);
    }
  }
  limiter.limits[receiver] = limit;
  for (const key of Object.keys(limiter.scopes)) {
    if (key.startsWith(`${receiver}\n`)) delete limiter.scopes[key];
  }
}

/** Restores the documented defaults and forgets every scope (the time scale stays). */
export function resetLimiter(limiter: Limiter): void {
  for (const key of Object.keys(limiter.limits)) delete limiter.limits[key];
  Object.assign(limiter.limits, limiter.defaults);
  for (const key of Object.keys(limiter.scopes)) delete limiter.scopes[key];
}

/** The verdict on one request. All durations are seconds of AWS time. */
export interface Admission {
  allowed: boolean;
  limit: RateLimit;
  /** Requests left right now (after this one when allowed). */
  remaining: number;
  /** When a request would be accepted again (0 when allowed). */
  retryAfterSeconds: number;
  /** Until the bucket is full again (bucket) or the window resets (window). */
  resetAfterSeconds: number;
  /** Local epoch seconds of that reset (Discord's `X-RateLimit-Reset`). */
  resetAtEpochSeconds: number;
}

/** The scope's state, created on first use. */
function scopeState(limiter: Limiter, receiver: string, scope: string, nowAws: number): ScopeState {
  const key = `${receiver}\n${scope}`;
  limiter.scopes[key] ??= {
    level: Number.NaN,
    atMs: nowAws,
    stats: { receiver, scope, attempts: 0, http429: 0, maxPerSecond: 0, perSecond: {} },
  };
  return limiter.scopes[key];
}

/** Counts one attempt in its AWS second. */
function countAttempt(stats: RateScopeStats, nowAws: number): void {
  const second = Math.floor(nowAws / 1000);
  stats.attempts += 1;
  stats.perSecond[second] = (stats.perSecond[second] ?? 0) + 1;
  stats.maxPerSecond = Math.max(stats.maxPerSecond, stats.perSecond[second]);
}

/**
 * Takes one request of `receiver` on `scope` through its limit; undefined when the receiver is
 * not limited (or the request has no scope). Counts it either way in the scope's statistics.
 */
export function admit(
  limiter: Limiter,
  receiver: string,
  scope: string | undefined,
  nowMs = Date.now(),
): Admission | undefined {
  const limit = limiter.limits[receiver];
  if (!limit || scope === undefined) return undefined;
  const nowAws = awsNowMs(limiter, nowMs);
  const state = scopeState(limiter, receiver, scope, nowAws);
  countAttempt(state.stats, nowAws);
  const verdict =
    limit.algorithm === "window"
      ? windowAdmit(state, limit, nowAws)
      : bucketAdmit(state, limit, nowAws);
  if (!verdict.allowed) state.stats.http429 += 1;
  const resetAtEpochSeconds =
    (nowMs + (verdict.resetAfterSeconds * 1000) / limiter.timeScale) / 1000;
  return { ...verdict, limit, resetAtEpochSeconds };
}

type Verdict = Omit<Admission, "limit" | "resetAtEpochSeconds">;

function bucketAdmit(state: ScopeState, limit: RateLimit, nowAws: number): Verdict {
  const perMs = limit.limit / (limit.perSeconds * 1000);
  const level = Number.isNaN(state.level)
    ? limit.burst
    : Math.min(limit.burst, state.level + (nowAws - state.atMs) * perMs);
  state.atMs = nowAws;
  const allowed = level >= 1;
  state.level = allowed ? level - 1 : level;
  return {
    allowed,
    remaining: Math.floor(state.level),
    retryAfterSeconds: allowed ? 0 : (1 - state.level) / perMs / 1000,
    resetAfterSeconds: (limit.burst - state.level) / perMs / 1000,
  };
}

function windowAdmit(state: ScopeState, limit: RateLimit, nowAws: number): Verdict {
  const windowMs = limit.perSeconds * 1000;
  if (Number.isNaN(state.level) || nowAws - state.atMs >= windowMs) {
    state.level = 0;
    state.atMs = nowAws;
  }
  const allowed = state.level < limit.limit;
  if (allowed) state.level += 1;
  const resetAfterSeconds = (windowMs - (nowAws - state.atMs)) / 1000;
  return {
    allowed,
    remaining: limit.limit - state.level,
    retryAfterSeconds: allowed ? 0 : resetAfterSeconds,
    resetAfterSeconds,
  };
}

/** The statistics of every scope seen (optionally of one receiver kind), copies. */
export function limiterStats(limiter: Limiter, receiver?: string): RateScopeStats[] {
  return Object.values(limiter.scopes)
    .filter((s) => receiver === undefined || s.stats.receiver === receiver)
    .map((s) => structuredClone(s.stats));
}

/** `Retry-After` as HTTP gives it: whole seconds, rounded up, at least 1 (RFC 9110 §10.2.3). */
export function retryAfterHeader(admission: Admission): string {
  return String(Math.max(1, Math.ceil(admission.retryAfterSeconds)));
}
