/**
 * PagerDuty Events API v2, as PagerDuty's developer documentation describes it
 * (https://developer.pagerduty.com/docs/events-api-v2/overview/, "Send Alert Events" and
 * "Send Change Events"; summarized in ../shared/REFERENCE.md):
 * - `POST /v2/enqueue`: `routing_key` of 32 characters, `event_action` trigger | acknowledge |
 *   resolve, `dedup_key` at most 255 characters; a trigger needs `payload.summary` (≤ 1024),
 *   `payload.source` and `payload.severity` (critical | error | warning | info). Accepted events
 *   answer 202 `{ status: "success", message, dedup_key }`; invalid ones 400
 *   `{ status: "invalid event", message, errors }`.
 * - Without a `dedup_key` every trigger opens a new alert; a trigger with the key of an open
 *   incident folds into it; acknowledge/resolve need the key, and of an unknown or resolved
 *   incident are accepted and do nothing. After a resolve, the same key opens a new incident.
 * - `POST /v2/change/enqueue`: change events never page anyone (accepted, no incident).
 * - Size: "Events API payloads are limited to 512 KB" (Events API v2 Overview, "API Limits",
 *   PagerDuty/developer-docs `docs/events-API-v2/01-Overview.md`): a request body of more than
 *   {@link PAGERDUTY_MAX_EVENT_BYTES} bytes is refused. PagerDuty does not document the answer;
 *   the stand-in gives the 400 of every invalid event ("400 Bad Request … Retry? No", the same
 *   page), which the sender must not retry (Alertmanager enforces the same 512 KB before sending:
 *   prometheus/alertmanager#2225).
 * - Change events (`03-Change-Events.md`): `payload.summary` is required, at most 1024 characters.
 * - Rate limit: {@link PAGERDUTY_EVENTS_RATE_LIMIT} per routing key (integration key), over it
 *   HTTP 429 ({@link pagerdutyRateLimited}); PagerDuty documents no `Retry-After` for the Events
 *   API, so none is sent and the sender must back off on its own.
 */
import { randomUUID } from "node:crypto";
import { isRecord, json, type Answer, type RateLimit } from "./core";

/**
 * Events API v2: 120 events per minute per integration (routing) key (PagerDuty's answer on its
 * community forum, "Which rate limit of REST API is correct": "Events - 120/min (enforced
 * per-integration-key)"; the Events API v2 overview lists "429 Too Many Requests"). Modelled as
 * a bucket of 120 refilled at 2 per second.
 */
export const PAGERDUTY_EVENTS_RATE_LIMIT: RateLimit = {
  limit: 120,
  perSeconds: 60,
  burst: 120,
  source:
    "PagerDuty Events API v2: 120 events/min per integration key; 429 Too Many Requests (https://developer.pagerduty.com/docs/events-api-v2/overview/)",
};

/** The rate-limit scope of an event: its `routing_key` (whatever it is; invalid ones too). */
export function pagerdutyRateScope(body: unknown): string {
  return isRecord(body) && typeof body.routing_key === "string" ? body.routing_key : "";
}

/** The Events API's 429 (no `Retry-After`: not documented for the Events API). */
export function pagerdutyRateLimited(): Answer {
  return json(429, {
    status: "throttle exceeded",
    message: "Requests for this service are arriving too quickly. Please retry later.",
  });
}

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

/** 512 KB: the Events API v2's payload limit, in bytes of the request body. */
export const PAGERDUTY_MAX_EVENT_BYTES = 512 * 1024;

/** PagerDuty Events v2 limits (PagerDuty developer docs, events-API-v2). */
const PAGERDUTY = {
  routingKeyLength: 32,
  dedupKeyMax: 255,
  summaryMax: 1024,
  severities: ["critical", "error", "warning", "info"],
  actions: ["trigger", "acknowledge", "resolve"],
};

function invalid(error: string): Answer {
  return json(400, {
    status: "invalid event",
    message: "Event object is invalid",
    errors: [error],
  });
}

function openIncident(
  incidents: Incident[],
  routingKey: string,
  dedupKey: string,
): Incident | undefined {
  return incidents.find(
    (i) => i.routingKey === routingKey && i.dedupKey === dedupKey && i.status !== "resolved",
  );
}

/** A trigger: validates the payload, then opens an incident or folds into the open one. */
function trigger(incidents: Incident[], routingKey: string, body: Record<string, unknown>): Answer {
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
  if (typeof payload.severity !== "string" || !PAGERDUTY.severities.includes(payload.severity)) {
    return invalid("'payload.severity' is invalid (expected critical, error, warning or info)");
  }
  const now = new Date();
  // Without a dedup_key every trigger opens a new alert.
  const dedupKey = (body.dedup_key as string | undefined) ?? randomUUID().replace(/-/g, "");
  const open = openIncident(incidents, routingKey, dedupKey);
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

/**
 * Answers one event: `name` is "enqueue" (alert events) or "change" (change events); alert
 * events open and change `incidents`.
 */
export function pagerduty(incidents: Incident[], name: string, body: unknown, bytes = 0): Answer {
  if (bytes > PAGERDUTY_MAX_EVENT_BYTES) {
    return invalid(`Event is ${bytes} bytes, over the 512 KB (524288 bytes) size limit`);
  }
  if (!isRecord(body)) return invalid("Event object is not valid JSON");
  const routingKey = body.routing_key;
  if (typeof routingKey !== "string" || routingKey.length !== PAGERDUTY.routingKeyLength) {
    return invalid("Length of 'routing_key' is incorrect (should be 32 characters)");
  }
  if (name === "change") {
    if (!isRecord(body.payload) || typeof body.payload.summary !== "string") {
      return invalid("'payload.summary' is missing or blank");
    }
    if (body.payload.summary.length > PAGERDUTY.summaryMax) {
      return invalid("'payload.summary' is longer than 1024 characters");
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
  if (action === "trigger") return trigger(incidents, routingKey, body);
  if (typeof body.dedup_key !== "string" || body.dedup_key === "") {
    return invalid("'dedup_key' is required for acknowledge and resolve events");
  }
  // Acknowledge/resolve of an unknown or closed incident is accepted and does nothing.
  const open = openIncident(incidents, routingKey, body.dedup_key);
  if (open) {
    open.status = action === "resolve" ? "resolved" : "acknowledged";
    open.updatedAt = new Date();
  }
  return json(202, { status: "success", message: "Event processed", dedup_key: body.dedup_key });
}

/** What the on-call person saw of the Events API v2 (issue 11), from {@link pagerduty}'s incidents. */
export interface PagerDutyCounts {
  /** Incidents opened: each one paged someone (the storm bench's `pages`). */
  opened: number;
  /** Incidents still open (triggered or acknowledged). */
  open: number;
  /** Incidents resolved. */
  resolved: number;
  /** Trigger events in all (the first of each incident included). */
  alerts: number;
  /** Triggers added to an incident that was already open (same `dedup_key`): no page. */
  added: number;
}

/**
 * Counts `incidents` (optionally only those whose dedup key passes `keep`): PagerDuty opens an
 * incident for a trigger whose `dedup_key` has no open incident, appends a trigger with the key
 * of an open one to its alert log, and after a resolve opens a new incident for the same key
 * (support.pagerduty.com/docs/event-management, "Deduplicate Alerts").
 */
export function pagerdutyCounts(
  incidents: readonly Incident[],
  keep: (dedupKey: string) => boolean = () => true,
): PagerDutyCounts {
  const mine = incidents.filter((i) => keep(i.dedupKey));
  const alerts = mine.reduce((sum, i) => sum + i.triggers, 0);
  return {
    opened: mine.length,
    open: mine.filter((i) => i.status !== "resolved").length,
    resolved: mine.filter((i) => i.status === "resolved").length,
    alerts,
    added: alerts - mine.length,
  };
}
