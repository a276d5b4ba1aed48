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
 *
 * Each enforces its service's documented rate limit by default ({@link DEFAULT_RATE_LIMITS}, per
 * channel / routing key / webhook, on the world's time scale: `setTimeScale`), answering 429 in
 * the service's own shape; `rateStats()` gives attempts per second and 429s per scope. A test
 * about something else may turn a limit off (`setRateLimit(name, null)`) or change it, saying why;
 * `reset()` restores the documented limits.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { startServer, type Handler, type ManagedServer } from "../http";
import {
  admit,
  countOutcomes,
  createRecorder,
  limiterStats,
  retryAfterHeader,
  setLimit,
  setLimiterTimeScale,
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
  type RateLimit,
  type RateScopeStats,
  type ReceiverChaos,
  type ReceiverFault,
  type ReceiverKind,
  type Recorder,
  awsNowMs,
} from "./core";
import {
  discord,
  DISCORD_WEBHOOK_RATE_LIMIT,
  discordRateHeaders,
  discordRateLimited,
} from "./discord";
import {
  pagerduty,
  PAGERDUTY_EVENTS_RATE_LIMIT,
  pagerdutyRateLimited,
  pagerdutyRateScope,
  type Incident,
} from "./pagerduty";
import {
  createSlackApiState,
  SLACK_POST_MESSAGE_RATE_LIMIT,
  SLACK_TIER3_RATE_LIMIT,
  slackApi,
  slackApiRateLimited,
  slackApiRateScope,
  type SlackApiMessage,
  type SlackApiState,
} from "./slack-api";
import {
  createResponseUrlState,
  SLACK_WEBHOOK_RATE_LIMIT,
  slackResponse,
  slackWebhook,
  slackWebhookRateLimited,
  type ResponseUrlOveruse,
  type ResponseUrlState,
} from "./slack-webhook";
import { teams, TEAMS_WEBHOOK_RATE_LIMIT, teamsRateLimited } from "./teams";
import { createWebhookState, webhook, type WebhookState } from "./webhook";

export { ACCEPTED_OUTCOMES, countOutcomes, RECEIVER_KINDS } from "./core";
export type {
  Attempt,
  AttemptOutcome,
  RateLimit,
  RateScopeStats,
  Delivery,
  OutcomeCounts,
  ReceiverChaos,
  ReceiverFault,
  ReceiverKind,
} from "./core";
export { idempotencyKeyOf } from "./webhook";
export type { Incident, PagerDutyCounts } from "./pagerduty";
export { pagerdutyCounts } from "./pagerduty";
export type { SlackApiMessage } from "./slack-api";
export { RESPONSE_URL_BUDGET, type ResponseUrlOveruse } from "./slack-webhook";

/**
 * The limits the receivers enforce, by name: `slack` (incoming webhooks, per webhook = channel),
 * `slack-api` (`chat.postMessage`, per channel), `slack-api:chat.update` (Tier 3, per workspace),
 * `pagerduty` (per routing key), `teams` and `discord` (per webhook). Each constant names its
 * documentation in its module.
 */
export const DEFAULT_RATE_LIMITS = {
  slack: SLACK_WEBHOOK_RATE_LIMIT,
  "slack-api": SLACK_POST_MESSAGE_RATE_LIMIT,
  "slack-api:chat.update": SLACK_TIER3_RATE_LIMIT,
  pagerduty: PAGERDUTY_EVENTS_RATE_LIMIT,
  teams: TEAMS_WEBHOOK_RATE_LIMIT,
  discord: DISCORD_WEBHOOK_RATE_LIMIT,
} as const satisfies Record<string, RateLimit>;
/** A name of {@link DEFAULT_RATE_LIMITS}. */
export type RateLimitName = keyof typeof DEFAULT_RATE_LIMITS;

/** Options of {@link startReceivers}. */
export interface ReceiversOptions {
  /** Port on 127.0.0.1; 0 (default) = random. */
  port?: number;
  /**
   * Ports on 127.0.0.1 tried in order before `port`: the receivers listen on the first one that
   * is free (one that another world or process listens on is skipped: `EADDRINUSE`), and on
   * `port` when none is (testing/world.ts `worldReceiverPorts`).
   */
  ports?: readonly number[];
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
  /**
   * Uses of a `response_url` beyond Slack's documented budget (5 uses within 30 minutes:
   * slack-webhook.ts `RESPONSE_URL_BUDGET`), oldest first; each was answered `ok`, since what
   * Slack answers then is not documented.
   */
  responseUrlOveruse: ResponseUrlOveruse[];
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
  /**
   * Changes one documented limit (its scopes start afresh), or turns it off with null: for a test
   * about something else, which says why. `reset()` restores the documented limits.
   * @throws when a number of `limit` is not positive.
   */
  setRateLimit(name: RateLimitName, limit: RateLimit | null): void;
  /** Turns every rate limit off (until `reset()`); for tests about something else. */
  disableRateLimits(): void;
  /**
   * AWS time / local time (sandbox/wiring.ts `scaleTimes`): at 50 a bucket refills 50 times
   * faster; answers stay in AWS seconds. Default: this process's `TIME_SCALE`, else 1.
   * @throws when `scale` is not a number ≥ 1.
   */
  setTimeScale(scale: number): void;
  /** Attempts, most attempts in one AWS second, and 429s per limited scope (optionally of one limit). */
  rateStats(name?: RateLimitName): RateScopeStats[];
  /** URL of one receiver instance, e.g. `urlFor("slack", "slack-eng")`. */
  urlFor(receiver: ReceiverKind, name: string): string;
  /** PagerDuty Events v2 enqueue URL. */
  pagerdutyEndpoint: string;
  /** Base of the Slack Web API (append `/chat.postMessage`). */
  slackApiUrl: string;
  /** Clears recordings, incidents, messages, faults and latencies (in place) and restores the documented rate limits. */
  reset(): void;
  /** Closes the server, including requests held open by a `timeout` fault. */
  close(): Promise<void>;
}

/** The channels' own state. */
interface ChannelState {
  incidents: Incident[];
  slack: SlackApiState;
  webhooks: WebhookState;
  responseUrls: ResponseUrlState;
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
  delivery: Delivery,
  nowMs: number,
): { answer: Answer; replayed?: boolean } {
  if (delivery.receiver === "webhook") {
    return webhook(channels.webhooks, delivery.name, delivery.headers);
  }
  if (delivery.receiver === "slack-response") {
    return { answer: slackResponse(channels.responseUrls, delivery.name, nowMs, delivery.at) };
  }
  return { answer: channelAnswer(channels, delivery) };
}

/** The answer of the channels without idempotency keys. */
function channelAnswer(channels: ChannelState, delivery: Delivery): Answer {
  const { receiver, name, headers, body, bytes, query } = delivery;
  switch (receiver) {
    case "slack":
      return slackWebhook(body);
    case "slack-response":
      throw new Error("receivers: a response_url is answered by answerFor");
    case "slack-api":
      return slackApi(channels.slack, name, headers, body);
    case "pagerduty":
      return pagerduty(channels.incidents, name, body, bytes);
    case "teams":
      return teams(body, bytes);
    case "discord":
      return discord(body, query);
    case "webhook":
      return webhook(channels.webhooks, name, headers).answer;
    default: {
      const unreachable: never = receiver;
      throw new Error(`receivers: unknown receiver ${String(unreachable)}`);
    }
  }
}

/** Which limit, and which of its scopes, a request counts against (undefined: not limited). */
function rateScope(delivery: Delivery): { name: RateLimitName; scope: string } | undefined {
  const { receiver, name, body } = delivery;
  switch (receiver) {
    case "slack":
    case "teams":
    case "discord":
      return { name: receiver, scope: name };
    case "pagerduty":
      return { name: receiver, scope: pagerdutyRateScope(body) };
    case "slack-api": {
      const scope = slackApiRateScope(name, body);
      if (scope === undefined) return undefined;
      return { name: name === "chat.update" ? "slack-api:chat.update" : "slack-api", scope };
    }
    default:
      return undefined;
  }
}

/**
 * Takes the request through its documented limit: the 429 to answer when it is over, and the
 * headers every answer carries (Discord's `X-RateLimit-*`).
 */
function rateGate(
  recorder: Recorder,
  delivery: Delivery,
): { limited?: Answer; headers: Record<string, string> } {
  const target = rateScope(delivery);
  const admission = target && admit(recorder.limiter, target.name, target.scope);
  if (!target || !admission) return { headers: {} };
  if (target.name === "discord") {
    const headers = discordRateHeaders(delivery.name, admission);
    if (admission.allowed) return { headers };
    const limited = discordRateLimited(admission);
    return { limited: limited.answer, headers: { ...headers, ...limited.headers } };
  }
  if (admission.allowed) return { headers: {} };
  const limited: Record<Exclude<RateLimitName, "discord">, () => Answer> = {
    slack: slackWebhookRateLimited,
    "slack-api": slackApiRateLimited,
    "slack-api:chat.update": slackApiRateLimited,
    pagerduty: pagerdutyRateLimited,
    teams: teamsRateLimited,
  };
  // PagerDuty documents no Retry-After for the Events API: the sender backs off on its own.
  const headers: Record<string, string> =
    target.name === "pagerduty" ? {} : { "retry-after": retryAfterHeader(admission) };
  return { limited: limited[target.name](), headers };
}

/** What reaches the sender instead of the channel's answer (a `lost-reply` or `gateway-timeout`). */
type LostReply = "reset" | "gateway-504";

/**
 * Lets the channel answer (unless its rate limit answers 429 first); records what became of the
 * request. With `lost` the channel acts on the request, and then the connection is reset
 * (`reset`), or a gateway answers 504 (`gateway-504`), instead of the channel's answer.
 */
function answerChannel(
  recorder: Recorder,
  channels: ChannelState,
  delivery: Delivery,
  req: IncomingMessage,
  res: ServerResponse,
  lost?: LostReply,
): void {
  const loseReply = lost !== undefined;
  const gate = rateGate(recorder, delivery);
  if (gate.limited) {
    // A 429 answered at once passes through a gateway.
    const reset = lost === "reset";
    record(recorder, delivery, "rejected", reset ? undefined : gate.limited.status);
    if (reset) req.socket.destroy();
    else send(res, gate.limited, gate.headers);
    return;
  }
  const { answer, replayed } = answerFor(channels, delivery, awsNowMs(recorder.limiter));
  const accepted =
    answer.status < 300 &&
    answer.dropped === undefined &&
    !(isRecord(answer.body) && answer.body.ok === false);
  const outcome = replayed
    ? "replayed"
    : !accepted
      ? "rejected"
      : loseReply
        ? "lost-reply"
        : "delivered";
  if (lost === "gateway-504") {
    record(recorder, delivery, outcome, 504, answer.dropped);
    send(res, text(504, "504 Gateway Time-out"));
    return;
  }
  record(recorder, delivery, outcome, loseReply ? undefined : answer.status, answer.dropped);
  if (loseReply) req.socket.destroy();
  else send(res, answer, gate.headers);
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
    if (fault.kind === "lost-reply" || fault.kind === "gateway-timeout") {
      const lost = fault.kind === "lost-reply" ? "reset" : "gateway-504";
      answerChannel(recorder, channels, delivery, req, res, lost);
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
    const [path, search = ""] = (req.url ?? "/").split("?");
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
      bytes: raw.length,
      query: Object.fromEntries(new URLSearchParams(search)),
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

/**
 * Starts `serve` on the first of `ports` that is free, else on `fallback` (0: a random port).
 * Rejects with the listen error of a port for another reason than `EADDRINUSE`.
 */
async function listenOnFirstFree(
  serve: Handler,
  ports: readonly number[],
  fallback: number,
): Promise<ManagedServer> {
  for (const port of ports) {
    try {
      return await startServer(serve, port);
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    }
  }
  return startServer(serve, fallback);
}

/** Starts the channel receivers on 127.0.0.1. */
export async function startReceivers(opts: ReceiversOptions = {}): Promise<Receivers> {
  const recorder = createRecorder(DEFAULT_RATE_LIMITS);
  const channels: ChannelState = {
    incidents: [],
    slack: createSlackApiState(),
    webhooks: createWebhookState(),
    responseUrls: createResponseUrlState(),
  };
  // The server is started after the handler exists; latencies sleep on it.
  const started: { server?: ManagedServer } = {};
  const sleep = (ms: number) => started.server?.sleep(ms) ?? Promise.resolve();
  const server = await listenOnFirstFree(
    handler(recorder, channels, sleep),
    opts.ports ?? [],
    opts.port ?? 0,
  );
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
    responseUrlOveruse: channels.responseUrls.overuse,
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
    setRateLimit(name, limit): void {
      setLimit(recorder.limiter, name, limit);
    },
    disableRateLimits(): void {
      for (const name of Object.keys(DEFAULT_RATE_LIMITS)) setLimit(recorder.limiter, name, null);
    },
    setTimeScale(scale): void {
      setLimiterTimeScale(recorder.limiter, scale);
    },
    rateStats: (name) => limiterStats(recorder.limiter, name),
    urlFor: (receiver, name) => receiverUrl(base, receiver, name),
    pagerdutyEndpoint: `${base}/pagerduty/v2/enqueue`,
    slackApiUrl: `${base}/slack-api`,
    reset(): void {
      resetRecorder(recorder);
      channels.incidents.length = 0;
      for (const key of Object.keys(channels.slack.messages)) delete channels.slack.messages[key];
      for (const key of Object.keys(channels.webhooks.answers))
        delete channels.webhooks.answers[key];
      for (const key of Object.keys(channels.responseUrls.uses))
        delete channels.responseUrls.uses[key];
      channels.responseUrls.overuse.length = 0;
    },
    close: () => server.close(),
  };
}
