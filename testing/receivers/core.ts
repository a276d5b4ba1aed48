/**
 * What every channel receiver shares: the recording of requests (`attempts`, and the accepted
 * ones in `deliveries`, with listeners), fault and latency injection per receiver kind, and the
 * small answer helpers. The channels themselves are pure functions from a request to an
 * {@link Answer} (plus their own state, e.g. PagerDuty incidents).
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { sendJson } from "../http";

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

/** What became of one request. */
export type AttemptOutcome = "delivered" | "rejected" | "fault" | "timeout" | "reset";

/** One request, whatever became of it. */
export interface Attempt extends Delivery {
  outcome: AttemptOutcome;
  /** HTTP status answered (none for timeout and reset). */
  status?: number;
}

/**
 * An injected failure. `times` = how many requests fail before the receiver recovers (undefined
 * = until cleared). `timeout` accepts the request and never answers; `reset` destroys the socket.
 */
export type ReceiverFault =
  | { status: number; body?: unknown; retryAfter?: number; times?: number }
  | { kind: "timeout"; times?: number }
  | { kind: "reset"; times?: number };

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
    latencies: {},
    deliveryListeners: [],
    attemptListeners: [],
  };
}

/** Takes one use of the receiver's fault, if any. */
export function takeFault(recorder: Recorder, receiver: ReceiverKind): ReceiverFault | undefined {
  const fault = recorder.faults[receiver];
  if (!fault) return undefined;
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
  if (outcome !== "delivered") return;
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
    delete recorder.latencies[key];
  }
}
