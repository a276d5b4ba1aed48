/**
 * What the page and the HTTP API show, as JSON: the sandbox's facts (`GET /api/sandbox`), the
 * inboxes, incidents, events (with their attempt and trigger), DLQs, audit trail and the
 * CodePipeline stand-in's executions and approval runs (`GET /api/state`) and the raw deliveries
 * per receiver (`GET /api/deliveries`). The page (`page/app.js`) reads these shapes; keep them.
 */
import { isGsm7 } from "../handlers/channels/sms";
import type { RuntimeConfig } from "../handlers/types";
import {
  codePipelineOutbox,
  codePipelineViewOfScopes,
  type QueueMessage,
  type ReceiverKind,
  type SqsMessage,
} from "../testing";
import type { AuditReader } from "./audit-trail";
import type { EventSource } from "./event-source";
import { FAULT_MENU, type FaultSwitch } from "./faults";
import { timesToAlarm, type TimeToAlarm } from "./ops-alarms";
import type { ScenarioProgress } from "./run";
import { stackReceivers } from "./stacks";
import type { SandboxServer } from "./server";
import { trafficView, type TrafficView } from "./traffic";
import type { World } from "./wiring";

/** A Slack user of the page's user selector. */
export interface SandboxUser {
  id: string;
  name: string;
  username: string;
  approver: boolean;
}

/** Someone who may click but is no approver of any pipeline, to show the refusal. */
const NON_APPROVER: SandboxUser = {
  id: "U0SANDBOX00",
  name: "Casey Visitor",
  username: "casey",
  approver: false,
};

/** Everything the views read. */
export interface ViewSources {
  world: World;
  events: EventSource;
  faults: FaultSwitch;
  audit: AuditReader;
  progress: ScenarioProgress;
  /** The visibility timeout the queue applies, in ms. */
  visibilityTimeoutMs: number;
  /** The page's server, once started (none without serving). */
  server(): SandboxServer | undefined;
}

/** SMS length facts as the phone company bills them (REFERENCE.md: SMS through SNS). */
export function smsFacts(text: string): {
  chars: number;
  encoding: "GSM-7" | "UCS-2";
  segments: number;
} {
  const gsm = isGsm7(text);
  const chars = [...text].length;
  const single = gsm ? 160 : 70;
  const multi = gsm ? 153 : 67;
  return {
    chars,
    encoding: gsm ? "GSM-7" : "UCS-2",
    segments: chars <= single ? 1 : Math.ceil(chars / multi),
  };
}

/** Approvers per pipeline rule (`name`, or `prefix*`) and the users of the page's selector. */
export function sandboxUsers(runtime: RuntimeConfig): {
  approvers: Record<string, string[]>;
  users: SandboxUser[];
} {
  const approvers: Record<string, string[]> = {};
  for (const rule of runtime.pipelines) {
    if (!rule.approvals) continue;
    const key = "name" in rule.match ? rule.match.name : `${rule.match.prefix}*`;
    approvers[key] = rule.approvals.approvers;
  }
  const approverIds = [...new Set(Object.values(approvers).flat())];
  const users: SandboxUser[] = [
    ...approverIds.map((id, i) => ({
      id,
      name: `Approver ${i + 1}`,
      username: `approver${i + 1}`,
      approver: true,
    })),
    NON_APPROVER,
  ];
  return { approvers, users };
}

/**
 * Separates a message id from the user in a per-click `response_url` name
 * (`msg-3~U012ABC~<click>`). Slack mints one `response_url` per interaction, so it knows whom an
 * ephemeral reply is for, and each click has its own budget of uses
 * (https://api.slack.com/interactivity/handling#message_responses); the page and the scenario
 * click with `responseUrls[user]` plus `~<click id>` to model that.
 */
const RESPONSE_USER = "~";

function responseTarget(name: string): { id: string; user?: string } {
  const [id, user] = name.split(RESPONSE_USER);
  return user === undefined ? { id } : { id, user };
}

/**
 * Slack messages as a channel shows them: each incoming-webhook post (id `msg-<n>`) with what its
 * `response_url` later did to it (replaced, deleted, ephemeral replies, each with `for`: the user
 * it is visible to, when the click came through `responseUrls[user]`).
 */
export function slackMessages(world: World) {
  const { receivers } = world.standins;
  const { users } = sandboxUsers(world.runtime);
  const responses = receivers.deliveries.filter((d) => d.receiver === "slack-response");
  const posts = receivers.deliveries.filter((d) => d.receiver === "slack");
  return posts.map((d, index) => {
    const id = `msg-${index + 1}`;
    let current = d.body as Record<string, unknown>;
    let replacedAt: string | undefined;
    const ephemerals: Array<{ at: string; text: string; for?: string }> = [];
    for (const r of responses.filter((x) => responseTarget(x.name).id === id)) {
      const body = r.body as Record<string, unknown>;
      if (body?.response_type === "ephemeral")
        ephemerals.push({
          at: r.at.toISOString(),
          text: String(body.text ?? ""),
          for: responseTarget(r.name).user,
        });
      else if (body?.delete_original) current = { text: "(message deleted)" };
      else {
        current = body;
        replacedAt = r.at.toISOString();
      }
    }
    return {
      id,
      channel: d.name,
      at: d.at.toISOString(),
      ts: `${Math.floor(d.at.getTime() / 1000)}.${String(index + 1).padStart(6, "0")}`,
      payload: current,
      original: d.body,
      replacedAt,
      ephemerals,
      responseUrl: receivers.urlFor("slack-response", id),
      responseUrls: Object.fromEntries(
        users.map((u) => [
          u.id,
          receivers.urlFor("slack-response", `${id}${RESPONSE_USER}${u.id}`),
        ]),
      ),
    };
  });
}

/** SNS publishes (SMS and email), attributed to channels, with SMS length facts. */
export function snsMessages(world: World) {
  return world.standins.aws.state.sns.published.map((p) => ({
    channel: world.channels.ofTopic(p.topicArn) ?? p.topicArn ?? p.phoneNumber ?? "sns",
    at: p.at.toISOString(),
    message: p.message,
    subject: p.subject,
    ...smsFacts(p.message),
  }));
}

/** What one receiver kind accepted, attributed to channels. */
function receiverMessages(world: World, receiver: ReceiverKind) {
  return world.standins.receivers.deliveries
    .filter((d) => d.receiver === receiver)
    .map((d) => ({
      channel: world.channels.ofDelivery(d),
      at: d.at.toISOString(),
      payload: d.body,
    }));
}

/** PagerDuty incidents, attributed to channels. */
function incidentsView(world: World) {
  return world.standins.receivers.incidents.map((i) => ({
    channel: world.channels.ofRoutingKey(i.routingKey),
    dedupKey: i.dedupKey,
    status: i.status,
    summary: i.summary,
    severity: i.severity,
    source: i.source,
    triggers: i.triggers,
    openedAt: i.openedAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
  }));
}

/** What the fan-out sent to its own dead-letter queue (with the reasons as attributes). */
export function fanoutDlq(world: World): SqsMessage[] {
  const url = world.declared.fanoutDlqUrl;
  return world.standins.aws.state.sqs.sent.filter((m) => !url || m.queueUrl === url);
}

/** Queue messages that ended in the redrive DLQ plus the fan-out's own DLQ sends. */
export function dlqCount(world: World, events: EventSource): number {
  return events.queue.messages.filter((m) => m.state === "dlq").length + fanoutDlq(world).length;
}

/**
 * What an event says about its run: `pipeline-execution-attempt` (1 when absent) and the trigger
 * type of a STARTED pipeline event (`AutomatedRollback`, …). Read from the queue message body
 * (EventBridge delivers the whole event) or, for an event the CodePipeline stand-in emitted, from
 * its outbox; unknown for a hand-posted event the rule did not match.
 */
function runFacts(body: string | undefined): { attempt?: number; trigger?: string } {
  if (!body) return {};
  try {
    const detail = (JSON.parse(body) as { detail?: Record<string, unknown> }).detail ?? {};
    const attempt = Number(detail["pipeline-execution-attempt"] ?? 1);
    const trigger = (detail["execution-trigger"] as { "trigger-type"?: unknown } | undefined)?.[
      "trigger-type"
    ];
    return {
      attempt: Number.isFinite(attempt) ? attempt : undefined,
      trigger: typeof trigger === "string" ? trigger : undefined,
    };
  } catch {
    return {};
  }
}

function queueView(m: QueueMessage | undefined) {
  if (!m) return undefined;
  return {
    messageId: m.messageId,
    state: m.state,
    receiveCount: m.receiveCount,
    errors: m.receives.filter((r) => !r.ok).map((r) => r.error),
  };
}

/**
 * `GET /api/sandbox`: the stack, where the page is, the signing secret, users, the channels and
 * the fault receivers they use (the page's fault selector offers those only), the queue.
 */
export function sandboxInfo(sources: ViewSources): Record<string, unknown> {
  const { world } = sources;
  const { declared } = world;
  const { approvers, users } = sandboxUsers(world.runtime);
  return {
    stack: world.stack,
    port: sources.server()?.port,
    url: sources.server()?.url,
    signingSecret: world.signingSecret,
    approvers,
    users,
    channels: Object.entries(world.runtime.channels).map(([name, c]) => ({
      name,
      type: c.type,
      ...(c.type === "email" && { addresses: c.addresses }),
    })),
    receivers: stackReceivers({
      channels: world.runtime.channels,
      pipelines: world.runtime.pipelines,
    }),
    faultMenu: FAULT_MENU,
    queue: {
      declaredVisibilitySeconds: declared.declaredVisibilitySeconds,
      visibilityTimeoutMs: sources.visibilityTimeoutMs,
      maxReceiveCount: declared.maxReceiveCount,
      batchSize: declared.batchSize,
    },
    rulePattern: JSON.parse(declared.rulePattern) as unknown,
    functions: declared.functions,
  };
}

/** `GET /api/traffic`: per channel messages, digests, 429s, rate and deferrals; pages; DLQ. */
export function traffic(sources: ViewSources): TrafficView {
  return trafficView(sources.world, dlqCount(sources.world, sources.events));
}

/**
 * `GET /api/alarms`: for every fault set (newest first), AWS seconds from "it starts failing"
 * to the first ops alarm (ops-alarms.ts).
 */
export function alarms(sources: ViewSources): TimeToAlarm[] {
  const { world } = sources;
  return timesToAlarm({
    history: sources.faults.history,
    samples: world.metrics.samples,
    runtime: world.runtime,
    originMs: world.startedAtMs,
    scale: world.times.scale,
  });
}

/** `GET /api/state`: everything the page shows. */
export async function pageState(sources: ViewSources): Promise<Record<string, unknown>> {
  const { world, events } = sources;
  const typeOf = (channel: string) => world.runtime.channels[channel]?.type ?? "unknown";
  const sns = snsMessages(world);
  const messageOf = (id: string) => events.queue.messages.find((m) => m.messageId === id);
  const emitted = new Map(codePipelineOutbox(world.standins.aws.state).map((e) => [e.id, e]));
  return {
    info: sandboxInfo(sources),
    progress: sources.progress,
    faults: sources.faults.active,
    faultSpecs: sources.faults.specs,
    slack: slackMessages(world),
    pagerduty: { incidents: incidentsView(world), events: receiverMessages(world, "pagerduty") },
    sms: sns.filter((m) => typeOf(m.channel) !== "email"),
    email: sns.filter((m) => typeOf(m.channel) === "email"),
    teams: receiverMessages(world, "teams"),
    discord: receiverMessages(world, "discord"),
    webhook: receiverMessages(world, "webhook"),
    events: events.posted.map((p) => ({
      ...p,
      ...runFacts(
        (p.messageId ? messageOf(p.messageId)?.body : undefined) ??
          (p.emitted ? JSON.stringify(emitted.get(p.eventId)) : undefined),
      ),
      queue: p.messageId ? queueView(messageOf(p.messageId)) : undefined,
    })),
    // Executions (attempt, mode, type, rollback target) and approval runs (pending, decided,
    // replaced by a newer run, expired) of every (account, region), as `GET /api/codepipeline`.
    codepipeline: codePipelineViewOfScopes(world.standins.aws.state),
    traffic: traffic(sources),
    alarms: alarms(sources),
    dlq: {
      redrive: events.queue.messages
        .filter((m) => m.state === "dlq")
        .map((m) => ({ ...queueView(m), body: m.body })),
      fanout: fanoutDlq(world).map((m) => ({
        at: m.at.toISOString(),
        body: m.body,
        attributes: m.attributes,
      })),
    },
    audit: await sources.audit.read(),
  };
}

/** `GET /api/deliveries`: everything each receiver got, SNS publishes and SQS sends included. */
export function deliveriesByReceiver(world: World): Record<string, unknown[]> {
  const grouped: Record<string, unknown[]> = {};
  for (const d of world.standins.receivers.deliveries) {
    (grouped[d.receiver] ??= []).push({
      channel: world.channels.ofDelivery(d),
      at: d.at.toISOString(),
      path: d.path,
      body: d.body,
    });
  }
  grouped.sns = snsMessages(world);
  grouped.sqs = world.standins.aws.state.sqs.sent.map((m) => ({
    at: m.at.toISOString(),
    queueUrl: m.queueUrl,
    body: m.body,
    attributes: m.attributes,
  }));
  return grouped;
}
