/**
 * Local stand-ins for every channel endpoint (Slack webhooks, Web API and response_url, PagerDuty
 * Events v2, Teams Workflows, Discord, generic webhooks) on one HTTP server on 127.0.0.1.
 *
 * Each answers like the real service, including its validation errors, so a formatter bug shows
 * up as the same 400 that production would give. Every request is recorded in `attempts`; the
 * ones the receiver accepted are also in `deliveries`. Faults (`setFault`) and latency
 * (`setLatency`) are injected per receiver.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { sendJson, startServer } from "./http";

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

/** A PagerDuty incident, as the Events API v2 would open and change it. */
export interface Incident {
  routingKey: string;
  dedupKey: string;
  status: "triggered" | "acknowledged" | "resolved";
  summary: string;
  severity: string;
  source: string;
  /** Number of trigger events folded into this incident (deduplicated repeats count). */
  triggers: number;
  openedAt: Date;
  updatedAt: Date;
}

/** A message posted through the Slack Web API stand-in, as chat.update leaves it. */
export interface SlackApiMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  /** How many times chat.update changed it. */
  updates: number;
}

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

/** PagerDuty Events v2 limits (PagerDuty developer docs, events-API-v2). */
const PAGERDUTY = {
  routingKeyLength: 32,
  dedupKeyMax: 255,
  summaryMax: 1024,
  severities: ["critical", "error", "warning", "info"],
  actions: ["trigger", "acknowledge", "resolve"],
};

const ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive";

/** A receiver's answer. */
interface Answer {
  status: number;
  body?: unknown;
  contentType?: string;
}

function text(status: number, body: string): Answer {
  return { status, body, contentType: "text/plain; charset=utf-8" };
}

function json(status: number, body: unknown): Answer {
  return { status, body, contentType: "application/json" };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses a body by content type, falling back to JSON when it looks like JSON. */
function parseBody(headers: IncomingHttpHeaders, raw: Buffer): unknown {
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

/** Starts the channel receivers on 127.0.0.1. */
export async function startReceivers(opts: ReceiversOptions = {}): Promise<Receivers> {
  const deliveries: Delivery[] = [];
  const attempts: Attempt[] = [];
  const incidents: Incident[] = [];
  const slackMessages: Record<string, SlackApiMessage> = {};
  const faults: Partial<Record<ReceiverKind, ReceiverFault>> = {};
  const latencies: Partial<Record<ReceiverKind, number>> = {};
  const deliveryListeners: Array<(delivery: Delivery) => void> = [];
  const attemptListeners: Array<(attempt: Attempt) => void> = [];
  const counters = { slackTs: 0, viewId: 0 };

  /** Takes one use of the receiver's fault, if any. */
  function takeFault(receiver: ReceiverKind): ReceiverFault | undefined {
    const fault = faults[receiver];
    if (!fault) return undefined;
    if (fault.times !== undefined) {
      fault.times -= 1;
      if (fault.times <= 0) delete faults[receiver];
    }
    return fault;
  }

  function record(delivery: Delivery, outcome: AttemptOutcome, status?: number): void {
    const attempt: Attempt = { ...delivery, outcome, status };
    attempts.push(attempt);
    for (const listener of [...attemptListeners]) listener(attempt);
    if (outcome !== "delivered") return;
    deliveries.push(delivery);
    for (const listener of [...deliveryListeners]) listener(delivery);
  }

  // ---- the receivers ----

  function slackWebhook(body: unknown): Answer {
    // hooks.slack.com answers text/plain: "ok", or an error word with 400.
    if (!isRecord(body)) return text(400, "invalid_payload");
    if (body.text === undefined && body.blocks === undefined && body.attachments === undefined) {
      return text(400, "no_text");
    }
    if (body.blocks !== undefined && !Array.isArray(body.blocks)) {
      return text(400, "invalid_blocks");
    }
    return text(200, "ok");
  }

  function slackApi(method: string, headers: IncomingHttpHeaders, body: unknown): Answer {
    // The Web API answers HTTP 200 with ok:false for application errors.
    const fields = isRecord(body) ? body : {};
    const bearer = /^Bearer \S+/.test(String(headers.authorization ?? ""));
    if (!bearer && typeof fields.token !== "string") {
      return json(200, { ok: false, error: "not_authed" });
    }
    if (method === "views.open") return viewsOpen(fields);
    if (method !== "chat.postMessage" && method !== "chat.update") {
      return json(200, { ok: false, error: "unknown_method" });
    }
    const channel = typeof fields.channel === "string" ? fields.channel : "";
    if (channel === "") return json(200, { ok: false, error: "channel_not_found" });
    const blocks = typeof fields.blocks === "string" ? safeJson(fields.blocks) : fields.blocks;
    if (blocks !== undefined && !Array.isArray(blocks)) {
      return json(200, { ok: false, error: "invalid_blocks" });
    }
    const messageText = typeof fields.text === "string" ? fields.text : undefined;
    if (method === "chat.postMessage") {
      if (messageText === undefined && blocks === undefined && fields.attachments === undefined) {
        return json(200, { ok: false, error: "no_text" });
      }
      counters.slackTs += 1;
      const ts = `${Math.floor(Date.now() / 1000)}.${String(counters.slackTs).padStart(6, "0")}`;
      slackMessages[`${channel}:${ts}`] = { channel, ts, text: messageText, blocks, updates: 0 };
      return json(200, {
        ok: true,
        channel,
        ts,
        message: { type: "message", text: messageText, blocks, ts },
      });
    }
    const ts = typeof fields.ts === "string" ? fields.ts : "";
    const message = slackMessages[`${channel}:${ts}`];
    if (!message) return json(200, { ok: false, error: "message_not_found" });
    message.text = messageText ?? message.text;
    message.blocks = blocks ?? message.blocks;
    message.updates += 1;
    return json(200, { ok: true, channel, ts, text: message.text });
  }

  /**
   * `views.open` (api.slack.com/methods/views.open): a trigger_id and a view are required; a
   * modal's title is at most 24 characters and its private_metadata at most 3000.
   */
  function viewsOpen(fields: Record<string, unknown>): Answer {
    const triggerId = typeof fields.trigger_id === "string" ? fields.trigger_id : "";
    if (triggerId === "") return json(200, { ok: false, error: "invalid_trigger_id" });
    const view = typeof fields.view === "string" ? safeJson(fields.view) : fields.view;
    if (!isRecord(view) || typeof view.type !== "string" || !Array.isArray(view.blocks)) {
      return json(200, { ok: false, error: "invalid_arguments" });
    }
    const title = isRecord(view.title) ? view.title.text : undefined;
    const metadata = view.private_metadata;
    if (
      (view.type === "modal" && (typeof title !== "string" || title.length > 24)) ||
      (metadata !== undefined && (typeof metadata !== "string" || metadata.length > 3000))
    ) {
      return json(200, { ok: false, error: "invalid_arguments" });
    }
    counters.viewId += 1;
    const id = `V${String(counters.viewId).padStart(10, "0")}`;
    return json(200, { ok: true, view: { ...view, id, hash: `${Date.now()}.${id}` } });
  }

  function pagerduty(name: string, body: unknown): Answer {
    const invalid = (error: string): Answer =>
      json(400, { status: "invalid event", message: "Event object is invalid", errors: [error] });
    if (!isRecord(body)) return invalid("Event object is not valid JSON");
    const routingKey = body.routing_key;
    if (typeof routingKey !== "string" || routingKey.length !== PAGERDUTY.routingKeyLength) {
      return invalid("Length of 'routing_key' is incorrect (should be 32 characters)");
    }
    if (name === "change") {
      // Change events never page anyone: accepted, no incident.
      if (!isRecord(body.payload) || typeof body.payload.summary !== "string") {
        return invalid("'payload.summary' is missing or blank");
      }
      return json(202, { status: "success", message: "Change event processed" });
    }
    const action = body.event_action;
    if (typeof action !== "string" || !PAGERDUTY.actions.includes(action)) {
      return invalid("'event_action' is missing or invalid");
    }
    if (body.dedup_key !== undefined) {
      if (typeof body.dedup_key !== "string" || body.dedup_key.length > PAGERDUTY.dedupKeyMax) {
        return invalid("'dedup_key' must be a string of at most 255 characters");
      }
    }
    const now = new Date();
    if (action === "trigger") {
      const payload = body.payload;
      if (!isRecord(payload)) return invalid("'payload' is missing or not an object");
      if (typeof payload.summary !== "string" || payload.summary === "") {
        return invalid("'payload.summary' is missing or blank");
      }
      if (payload.summary.length > PAGERDUTY.summaryMax) {
        return invalid("'payload.summary' is longer than 1024 characters");
      }
      if (typeof payload.source !== "string" || payload.source === "") {
        return invalid("'payload.source' is missing or blank");
      }
      if (
        typeof payload.severity !== "string" ||
        !PAGERDUTY.severities.includes(payload.severity)
      ) {
        return invalid("'payload.severity' is invalid (expected critical, error, warning or info)");
      }
      // Without a dedup_key every trigger opens a new alert.
      const dedupKey = (body.dedup_key as string | undefined) ?? randomUUID().replace(/-/g, "");
      const open = openIncident(routingKey, dedupKey);
      if (open) {
        open.triggers += 1;
        open.updatedAt = now;
      } else {
        incidents.push({
          routingKey,
          dedupKey,
          status: "triggered",
          summary: payload.summary,
          severity: payload.severity,
          source: payload.source,
          triggers: 1,
          openedAt: now,
          updatedAt: now,
        });
      }
      return json(202, { status: "success", message: "Event processed", dedup_key: dedupKey });
    }
    if (typeof body.dedup_key !== "string" || body.dedup_key === "") {
      return invalid("'dedup_key' is required for acknowledge and resolve events");
    }
    // Acknowledge/resolve of an unknown or closed incident is accepted and does nothing.
    const open = openIncident(routingKey, body.dedup_key);
    if (open) {
      open.status = action === "resolve" ? "resolved" : "acknowledged";
      open.updatedAt = now;
    }
    return json(202, { status: "success", message: "Event processed", dedup_key: body.dedup_key });
  }

  function openIncident(routingKey: string, dedupKey: string): Incident | undefined {
    return incidents.find(
      (i) => i.routingKey === routingKey && i.dedupKey === dedupKey && i.status !== "resolved",
    );
  }

  function teams(body: unknown): Answer {
    // Workflows webhooks accept Adaptive Card messages only.
    const attachments = isRecord(body) && body.type === "message" ? body.attachments : undefined;
    const valid =
      Array.isArray(attachments) &&
      attachments.length > 0 &&
      attachments.every(
        (a) =>
          isRecord(a) &&
          a.contentType === ADAPTIVE_CARD &&
          isRecord(a.content) &&
          a.content.type === "AdaptiveCard",
      );
    if (!valid) {
      return json(400, {
        error: {
          code: "InvalidRequestContent",
          message: "The request body must be an Adaptive Card message",
        },
      });
    }
    return { status: 202 };
  }

  function discord(body: unknown): Answer {
    const fields = isRecord(body) ? body : {};
    const hasContent = typeof fields.content === "string" && fields.content !== "";
    const hasEmbeds = Array.isArray(fields.embeds) && fields.embeds.length > 0;
    if (!hasContent && !hasEmbeds) {
      return json(400, { message: "Cannot send an empty message", code: 50006 });
    }
    return { status: 204 };
  }

  function answerFor(
    receiver: ReceiverKind,
    name: string,
    headers: IncomingHttpHeaders,
    body: unknown,
  ): Answer {
    switch (receiver) {
      case "slack":
        return slackWebhook(body);
      case "slack-response":
        return text(200, "ok");
      case "slack-api":
        return slackApi(name, headers, body);
      case "pagerduty":
        return pagerduty(name, body);
      case "teams":
        return teams(body);
      case "discord":
        return discord(body);
      case "webhook":
        return text(200, "ok");
      default: {
        const unreachable: never = receiver;
        throw new Error(`receivers: unknown receiver ${String(unreachable)}`);
      }
    }
  }

  function send(res: ServerResponse, answer: Answer, extra: Record<string, string> = {}): void {
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

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
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
    await server.sleep(latencies[target.receiver] ?? 0);
    if (res.destroyed) return;
    const fault = takeFault(target.receiver);
    if (fault && "kind" in fault) {
      record(delivery, fault.kind);
      // "timeout": keep the request open until the client gives up or close() ends it.
      if (fault.kind === "reset") req.socket.destroy();
      return;
    }
    if (fault) {
      record(delivery, "fault", fault.status);
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
      const body = fault.body ?? `injected fault: ${fault.status}`;
      send(
        res,
        typeof body === "string" ? text(fault.status, body) : json(fault.status, body),
        headers,
      );
      return;
    }
    const answer = answerFor(target.receiver, target.name, req.headers, delivery.body);
    const accepted = answer.status < 300 && !(isRecord(answer.body) && answer.body.ok === false);
    record(delivery, accepted ? "delivered" : "rejected", answer.status);
    send(res, answer);
  }

  const server = await startServer(handle, opts.port ?? 0);
  const base = server.url;

  function urlFor(receiver: ReceiverKind, name: string): string {
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

  const subscribe = <T>(list: Array<(value: T) => void>, listener: (value: T) => void) => {
    list.push(listener);
    return () => {
      const at = list.indexOf(listener);
      if (at >= 0) list.splice(at, 1);
    };
  };

  return {
    url: base,
    port: server.port,
    deliveries,
    attempts,
    incidents,
    slackMessages,
    byReceiver: (receiver, name) =>
      deliveries.filter((d) => d.receiver === receiver && (name === undefined || d.name === name)),
    attemptsOf: (receiver, name) =>
      attempts.filter((a) => a.receiver === receiver && (name === undefined || a.name === name)),
    onDelivery: (listener) => subscribe(deliveryListeners, listener),
    onAttempt: (listener) => subscribe(attemptListeners, listener),
    setFault(receiver, fault): void {
      if (fault === null) delete faults[receiver];
      else faults[receiver] = { ...fault };
    },
    setLatency(receiver, ms): void {
      latencies[receiver] = ms;
    },
    urlFor,
    pagerdutyEndpoint: `${base}/pagerduty/v2/enqueue`,
    slackApiUrl: `${base}/slack-api`,
    reset(): void {
      deliveries.length = 0;
      attempts.length = 0;
      incidents.length = 0;
      for (const key of Object.keys(slackMessages)) delete slackMessages[key];
      for (const key of RECEIVER_KINDS) {
        delete faults[key];
        delete latencies[key];
      }
    },
    close: () => server.close(),
  };
}

function safeJson(textValue: string): unknown {
  try {
    return JSON.parse(textValue);
  } catch {
    return textValue;
  }
}
