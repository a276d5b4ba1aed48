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
 * - `slow`: answered normally after `ms` more milliseconds.
 */
export type ReceiverFault =
  | { status: number; body?: unknown; retryAfter?: number; times?: number }
  | { kind: "timeout"; times?: number }
  | { kind: "reset"; times?: number }
  | { kind: "lost-reply"; times?: number }
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
}

/** An empty {@link Recorder}. */
export function createRecorder(): Recorder {
  return {
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
): void {
  const attempt: Attempt = { ...delivery, outcome, status };
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

/** Clears recordings, faults and latencies in place (listeners stay). */
export function resetRecorder(recorder: Recorder): void {
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
