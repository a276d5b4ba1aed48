/**
 * Local stand-ins for every channel endpoint (Slack webhooks, Web API and response_url, PagerDuty
 * Events v2, Teams Workflows, Discord, generic webhooks) on one HTTP server on 127.0.0.1, one
 * module per channel (each names the documentation it models) over a shared core.ts.
 *
 * Each answers like the real service, including its validation errors, so a formatter bug shows
 * up as the same 400 that production would give. Every request is recorded in `attempts`; the
 * ones the receiver accepted are also in `deliveries`. Faults (`setFault`, or random ones with
 * `setChaos`: statuses, timeouts, resets, lost replies, slow answers) and latency (`setLatency`)
 * are injected per receiver; `outcomes()` tells "delivered but the reply was lost" from "not
 * delivered".
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { startServer, type ManagedServer } from "../http";
import {
  countOutcomes,
  createRecorder,
  isRecord,
  json,
  parseBody,
  RECEIVER_KINDS,
  record,
  resetRecorder,
  send,
  setChaos,
  subscribe,
  takeFault,
  text,
  type Answer,
  type Attempt,
  type Delivery,
  type OutcomeCounts,
  type ReceiverChaos,
  type ReceiverFault,
  type ReceiverKind,
  type Recorder,
} from "./core";
import { discord } from "./discord";
import { pagerduty, type Incident } from "./pagerduty";
import {
  createSlackApiState,
  slackApi,
  type SlackApiMessage,
  type SlackApiState,
} from "./slack-api";
import { slackResponse, slackWebhook } from "./slack-webhook";
import { teams } from "./teams";
import { createWebhookState, webhook, type WebhookState } from "./webhook";

export { ACCEPTED_OUTCOMES, countOutcomes, RECEIVER_KINDS } from "./core";
export type {
  Attempt,
  AttemptOutcome,
  Delivery,
  OutcomeCounts,
  ReceiverChaos,
  ReceiverFault,
  ReceiverKind,
} from "./core";
export { idempotencyKeyOf } from "./webhook";
export type { Incident } from "./pagerduty";
export type { SlackApiMessage } from "./slack-api";

/** Options of {@link startReceivers}. */
export interface ReceiversOptions {
  /** Port on 127.0.0.1; 0 (default) = random. */
  port?: number;
}

/** The running channel receivers. */
export interface Receivers {
  url: string;
  port: number;
  /** Accepted requests, in arrival order. */
  deliveries: Delivery[];
  /** Every request, accepted or not. */
  attempts: Attempt[];
  /** PagerDuty incidents by arrival of their first trigger. */
  incidents: Incident[];
  /** Slack Web API messages by `<channel>:<ts>`. */
  slackMessages: Record<string, SlackApiMessage>;
  /** Accepted requests of one receiver kind (optionally one instance). */
  byReceiver(receiver: ReceiverKind, name?: string): Delivery[];
  /** All requests of one receiver kind (optionally one instance). */
  attemptsOf(receiver: ReceiverKind, name?: string): Attempt[];
  /** Calls `listener` for every accepted request; returns an unsubscribe function. */
  onDelivery(listener: (delivery: Delivery) => void): () => void;
  /** Calls `listener` for every request; returns an unsubscribe function. */
  onAttempt(listener: (attempt: Attempt) => void): () => void;
  setFault(receiver: ReceiverKind, fault: ReceiverFault | null): void;
  /**
   * Random faults for `receivers` (default: every kind), deterministic under `chaos.seed`; null
   * stops them. Throws when `fraction` is outside 0..1 or `faults` is empty.
   */
  setChaos(chaos: ReceiverChaos | null, receivers?: readonly ReceiverKind[]): void;
  /** Requests per outcome of one receiver kind (optionally one instance), or of all. */
  outcomes(receiver?: ReceiverKind, name?: string): OutcomeCounts;
  setLatency(receiver: ReceiverKind, ms: number): void;
  /** URL of one receiver instance, e.g. `urlFor("slack", "slack-eng")`. */
  urlFor(receiver: ReceiverKind, name: string): string;
  /** PagerDuty Events v2 enqueue URL. */
  pagerdutyEndpoint: string;
  /** Base of the Slack Web API (append `/chat.postMessage`). */
  slackApiUrl: string;
  /** Clears recordings, incidents, messages, faults and latencies (in place). */
  reset(): void;
  /** Closes the server, including requests held open by a `timeout` fault. */
  close(): Promise<void>;
}

/** The channels' own state. */
interface ChannelState {
  incidents: Incident[];
  slack: SlackApiState;
  webhooks: WebhookState;
}

/** Maps a path to its receiver, or undefined for an unknown path. */
function route(path: string): { receiver: ReceiverKind; name: string } | undefined {
  const parts = path
    .split("/")
    .filter((p) => p !== "")
    .map(decodeURIComponent);
  if (parts[0] === "slack" && parts[1] === "response" && parts.length === 3) {
    return { receiver: "slack-response", name: parts[2] };
  }
  if (parts[0] === "pagerduty" && parts[1] === "v2") {
    if (parts.length === 3 && parts[2] === "enqueue")
      return { receiver: "pagerduty", name: "enqueue" };
    if (parts.length === 4 && parts[2] === "change" && parts[3] === "enqueue") {
      return { receiver: "pagerduty", name: "change" };
    }
    return undefined;
  }
  const kinds: Record<string, ReceiverKind> = {
    slack: "slack",
    "slack-api": "slack-api",
    teams: "teams",
    discord: "discord",
    webhook: "webhook",
  };
  const receiver = kinds[parts[0] ?? ""];
  if (receiver && parts.length === 2) return { receiver, name: parts[1] };
  return undefined;
}

/**
 * The channel's answer to a request that reached it (not faulted); `replayed` when the channel
 * recognized a repeat by its idempotency key and did not act on it again.
 */
function answerFor(
  channels: ChannelState,
  target: { receiver: ReceiverKind; name: string },
  headers: IncomingHttpHeaders,
  body: unknown,
): { answer: Answer; replayed?: boolean } {
  if (target.receiver === "webhook") return webhook(channels.webhooks, target.name, headers);
  return { answer: channelAnswer(channels, target, headers, body) };
}

/** The answer of the channels without idempotency keys. */
function channelAnswer(
  channels: ChannelState,
  target: { receiver: ReceiverKind; name: string },
  headers: IncomingHttpHeaders,
  body: unknown,
): Answer {
  const { receiver, name } = target;
  switch (receiver) {
    case "slack":
      return slackWebhook(body);
    case "slack-response":
      return slackResponse();
    case "slack-api":
      return slackApi(channels.slack, name, headers, body);
    case "pagerduty":
      return pagerduty(channels.incidents, name, body);
    case "teams":
      return teams(body);
    case "discord":
      return discord(body);
    case "webhook":
      return webhook(channels.webhooks, name, headers).answer;
    default: {
      const unreachable: never = receiver;
      throw new Error(`receivers: unknown receiver ${String(unreachable)}`);
    }
  }
}

/**
 * Lets the channel answer; records what became of the request. With `loseReply` the channel acts
 * on the request, and then the connection is reset instead of answering.
 */
function answerChannel(
  recorder: Recorder,
  channels: ChannelState,
  delivery: Delivery,
  req: IncomingMessage,
  res: ServerResponse,
  loseReply = false,
): void {
  const { answer, replayed } = answerFor(channels, delivery, req.headers, delivery.body);
  const accepted = answer.status < 300 && !(isRecord(answer.body) && answer.body.ok === false);
  const outcome = replayed
    ? "replayed"
    : !accepted
      ? "rejected"
      : loseReply
        ? "lost-reply"
        : "delivered";
  record(recorder, delivery, outcome, loseReply ? undefined : answer.status);
  if (loseReply) req.socket.destroy();
  else send(res, answer);
}

/**
 * Answers an injected fault; returns false when there is none for this receiver (or when it was
 * a `slow` one that has passed: the channel answers then).
 */
async function answerFault(
  recorder: Recorder,
  channels: ChannelState,
  delivery: Delivery,
  io: { req: IncomingMessage; res: ServerResponse; sleep: (ms: number) => Promise<void> },
): Promise<boolean> {
  const { req, res } = io;
  const fault = takeFault(recorder, delivery.receiver);
  if (!fault) return false;
  if ("kind" in fault) {
    if (fault.kind === "slow") {
      await io.sleep(fault.ms);
      return res.destroyed;
    }
    if (fault.kind === "lost-reply") {
      answerChannel(recorder, channels, delivery, req, res, true);
      return true;
    }
    record(recorder, delivery, fault.kind);
    // "timeout": keep the request open until the client gives up or close() ends it.
    if (fault.kind === "reset") req.socket.destroy();
    return true;
  }
  record(recorder, delivery, "fault", fault.status);
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
  const body = fault.body ?? `injected fault: ${fault.status}`;
  send(
    res,
    typeof body === "string" ? text(fault.status, body) : json(fault.status, body),
    headers,
  );
  return true;
}

/** The request handler: route, record, apply latency and fault, answer as the channel would. */
function handler(
  recorder: Recorder,
  channels: ChannelState,
  sleep: (ms: number) => Promise<void>,
): (req: IncomingMessage, res: ServerResponse, raw: Buffer) => Promise<void> {
  return async (req, res, raw) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/health") {
      send(res, json(200, { ok: true }));
      return;
    }
    const target = route(path);
    if (!target || req.method !== "POST") {
      send(res, text(404, `receivers: no receiver for ${req.method ?? "?"} ${path}`));
      return;
    }
    const delivery: Delivery = {
      ...target,
      path,
      headers: req.headers,
      body: parseBody(req.headers, raw),
      at: new Date(),
    };
    await sleep(recorder.latencies[target.receiver] ?? 0);
    if (res.destroyed) return;
    if (await answerFault(recorder, channels, delivery, { req, res, sleep })) return;
    answerChannel(recorder, channels, delivery, req, res);
  };
}

/** URL of one receiver instance on the server at `base`. */
function receiverUrl(base: string, receiver: ReceiverKind, name: string): string {
  const segment = encodeURIComponent(name);
  switch (receiver) {
    case "slack-response":
      return `${base}/slack/response/${segment}`;
    case "pagerduty":
      return name === "change"
        ? `${base}/pagerduty/v2/change/enqueue`
        : `${base}/pagerduty/v2/enqueue`;
    default:
      return `${base}/${receiver}/${segment}`;
  }
}

/** Starts the channel receivers on 127.0.0.1. */
export async function startReceivers(opts: ReceiversOptions = {}): Promise<Receivers> {
  const recorder = createRecorder();
  const channels: ChannelState = {
    incidents: [],
    slack: createSlackApiState(),
    webhooks: createWebhookState(),
  };
  // The server is started after the handler exists; latencies sleep on it.
  const started: { server?: ManagedServer } = {};
  const sleep = (ms: number) => started.server?.sleep(ms) ?? Promise.resolve();
  const server = await startServer(handler(recorder, channels, sleep), opts.port ?? 0);
  started.server = server;
  const base = server.url;
  const { deliveries, attempts } = recorder;
  return {
    url: base,
    port: server.port,
    deliveries,
    attempts,
    incidents: channels.incidents,
    slackMessages: channels.slack.messages,
    byReceiver: (receiver, name) =>
      deliveries.filter((d) => d.receiver === receiver && (name === undefined || d.name === name)),
    attemptsOf: (receiver, name) =>
      attempts.filter((a) => a.receiver === receiver && (name === undefined || a.name === name)),
    onDelivery: (listener) => subscribe(recorder.deliveryListeners, listener),
    onAttempt: (listener) => subscribe(recorder.attemptListeners, listener),
    setFault(receiver, fault): void {
      if (fault === null) delete recorder.faults[receiver];
      else recorder.faults[receiver] = { ...fault };
    },
    setChaos(chaos, receivers = RECEIVER_KINDS): void {
      setChaos(recorder, chaos, receivers);
    },
    outcomes: (receiver, name) =>
      countOutcomes(
        attempts.filter(
          (a) =>
            (receiver === undefined || a.receiver === receiver) &&
            (name === undefined || a.name === name),
        ),
      ),
    setLatency(receiver, ms): void {
      recorder.latencies[receiver] = ms;
    },
    urlFor: (receiver, name) => receiverUrl(base, receiver, name),
    pagerdutyEndpoint: `${base}/pagerduty/v2/enqueue`,
    slackApiUrl: `${base}/slack-api`,
    reset(): void {
      resetRecorder(recorder);
      channels.incidents.length = 0;
      for (const key of Object.keys(channels.slack.messages)) delete channels.slack.messages[key];
      for (const key of Object.keys(channels.webhooks.answers))
        delete channels.webhooks.answers[key];
    },
    close: () => server.close(),
  };
}
