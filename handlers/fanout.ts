/**
 * The fan-out Lambda: an SQS batch of CodePipeline events → the right notification on every
 * channel its tier asks for, exactly once per channel.
 *
 * Per record: parse → route (pipeline rule, tier) → normalize → collapse (one message per
 * execution and outcome) → enrich (CodePipeline API, time-bounded) → quiet hours → deliver to
 * all channels concurrently, each claimed in the ledger first. A record fails (and SQS redelivers
 * it) only when a channel failed in a way a retry can fix; then only that channel is tried again.
 * On the last attempt, or when every failure is permanent, the event goes to the DLQ with the
 * reasons. Every decision is an audit item; nothing ends silently.
 */
import type * as Sqs from "@aws-sdk/client-sqs";
import { putAudit, UNKNOWN_PIPELINE, type AuditAction, type AuditRecord } from "./audit";
import { requireEnv, secretJson, sns } from "./aws";
import { CHANNEL_DRIVERS } from "./channels/registry";
import { pagerdutyDedupKey } from "./channels/pagerduty";
import { snsPublisher } from "./channels/common";
import type { DeliveryError, Logger } from "./channels/types";
import { activeWindow } from "./downtime";
import { enrich } from "./enrich";
import { normalize, parseEventBridgeEvent, type CodePipelineEvent } from "./events";
import { isDeliveryError, redact } from "./http";
import {
  claimDelivery,
  claimOutcome,
  forgetIncident,
  markFailed,
  markSent,
  openIncidents,
  rememberIncident,
  slackRejection,
} from "./ledger";
import { withRetries } from "./retry";
import { findPipelineRule } from "./routing";
import { createLogger, emitMetrics, type MetricPoint } from "./telemetry";
import {
  ENV,
  type ChannelSecrets,
  type Notification,
  type PipelineRule,
  type RuntimeConfig,
} from "./types";

/** One SQS record as the event source mapping delivers it. */
export interface SqsRecord {
  messageId: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string; [k: string]: string | undefined };
}

/** SQS batch response with partial failures (ReportBatchItemFailures). */
export interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/** The parts of the Lambda context the fan-out uses. */
export interface FanoutContext {
  getRemainingTimeInMillis?: () => number;
  awsRequestId?: string;
}

/** What became of one channel delivery. */
export interface ChannelOutcome {
  channel: string;
  status: "sent" | "deduplicated" | "failed" | "abandoned";
  /** Redacted reason of a failure. */
  reason?: string;
}

/** What became of one record. */
export interface RecordOutcome {
  status:
    | "delivered"
    | "suppressed"
    | "collapsed"
    | "rejected-input"
    | "ignored"
    | "retry"
    | "dead-letter";
  notificationId?: string;
  channels: ChannelOutcome[];
  /** Where the time went (ms), for the logs. */
  timings?: Record<string, number>;
}

/** Safety margin kept from the Lambda's remaining time (ms). */
const DEADLINE_MARGIN_MS = 3000;
/** 1 delivery + 3 retries: the events queue's maxReceiveCount (infra/notifier.ts). */
const DEFAULT_MAX_RECEIVES = 4;

/** Per-cold-start cache (see handlers/README.md rule 3). */
const cache: { sqs?: Sqs.SQSClient } = {};

/** One delivery to do: a channel, plus the incident a PagerDuty resolve closes. */
interface Delivery {
  channel: string;
  /** Ledger slot: the channel name, or `<channel>/resolve/<dedup key>`. */
  slot: string;
  resolveDedupKey?: string;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Channels a notification goes to, by kind: rejections and non-failures never page. */
function deliveriesFor(n: Notification, rule: PipelineRule, config: RuntimeConfig): Delivery[] {
  if (n.kind === "approval-request") {
    return rule.approvals
      ? [{ channel: rule.approvals.channel, slot: rule.approvals.channel }]
      : [];
  }
  const route = config.routing[rule.tier];
  if (!route) return [];
  const notifies = rule.states.includes(n.state as never);
  return route.channels
    .filter((c) => config.channels[c])
    .filter((c) => {
      const paging = config.channels[c].type === "pagerduty";
      if (paging) return n.kind === "failure";
      return notifies;
    })
    .map((channel) => ({ channel, slot: channel }));
}

/** PagerDuty resolves for a success: one per open incident of the pipeline on each PD channel. */
async function resolvesFor(
  n: Notification,
  rule: PipelineRule,
  config: RuntimeConfig,
): Promise<Delivery[]> {
  if (n.kind !== "success") return [];
  const route = config.routing[rule.tier];
  const pagerduty = (route?.channels ?? []).filter((c) => config.channels[c]?.type === "pagerduty");
  const out: Delivery[] = [];
  for (const channel of pagerduty) {
    for (const key of await openIncidents(channel, n.pipeline)) {
      out.push({ channel, slot: `${channel}/resolve/${key}`, resolveDedupKey: key });
    }
  }
  return out;
}

/** Secrets of every channel, for redaction. */
function allSecretValues(secrets: ChannelSecrets): string[] {
  return Object.values(secrets).flatMap((s) => Object.values(s));
}

/**
 * Creates the fan-out handler for a stack's runtime config (captured at deploy time; secrets and
 * resource names come from the environment).
 */
export function createFanoutHandler(config: RuntimeConfig) {
  const retention = config.auditRetentionDays;

  const audit = async (record: AuditRecord, log: Logger): Promise<void> => {
    try {
      await putAudit(record, retention);
    } catch (err: unknown) {
      // The audit trail must not turn a delivered message into a retry (and a duplicate).
      log.error("audit write failed", { action: record.action, error: describe(err) });
    }
  };

  async function deliver(
    n: Notification,
    d: Delivery,
    secrets: ChannelSecrets,
    topics: Record<string, string>,
    deadline: number,
    log: Logger,
  ): Promise<ChannelOutcome> {
    const channelConfig = config.channels[d.channel];
    const driver = CHANNEL_DRIVERS[channelConfig.type];
    const base = {
      pipeline: n.pipeline,
      executionId: n.executionId,
      channel: d.channel,
      notificationId: n.id,
      eventId: n.eventId,
    };
    const claim = await claimDelivery(n.id, d.slot, deadline, retention);
    if (!claim.claimed) {
      const status = claim.status === "abandoned" ? "abandoned" : "deduplicated";
      await audit(
        {
          ...base,
          action: "deduplicated",
          result:
            claim.status === "sent" ? `already sent at ${claim.sentAt}` : `already ${claim.status}`,
        },
        log,
      );
      return { channel: d.channel, status };
    }
    const secretValues = allSecretValues(secrets);
    const started = Date.now();
    let receipt: Awaited<ReturnType<typeof driver.send>>;
    try {
      receipt = await withRetries(
        () =>
          driver.send(n, {
            name: d.channel,
            config: channelConfig,
            secret: secrets[d.channel] ?? {},
            deadline,
            sns: snsPublisher(sns()),
            topicArn: topics[d.channel],
            resolveDedupKey: d.resolveDedupKey,
            log,
          }),
        {
          deadline,
          onRetry: (e: DeliveryError, attempt: number, delayMs: number) => {
            log.warn("delivery retry", { channel: d.channel, attempt, delayMs, error: e.message });
            void audit(
              { ...base, action: "retried", result: e.message, detail: { attempt, delayMs } },
              log,
            );
          },
        },
      );
    } catch (err: unknown) {
      const permanent = isDeliveryError(err) ? !err.retryable : false;
      const reason = redact(describe(err), secretValues);
      await Promise.all([
        markFailed(n.id, d.slot, reason, permanent),
        audit(
          {
            ...base,
            action: "failed",
            result: reason,
            detail: { permanent, attempt: claim.attempts },
          },
          log,
        ),
      ]);
      log.error("delivery failed", { channel: d.channel, permanent, error: reason });
      return { channel: d.channel, status: permanent ? "abandoned" : "failed", reason };
    }
    // Bookkeeping after a delivery runs concurrently, and its failures are logged, not retried:
    // retrying the record would send the message again.
    const incident =
      channelConfig.type !== "pagerduty"
        ? undefined
        : d.resolveDedupKey
          ? forgetIncident(d.channel, n.pipeline, d.resolveDedupKey)
          : rememberIncident(d.channel, n.pipeline, receipt.id ?? pagerdutyDedupKey(n), retention);
    const settled = await Promise.allSettled([
      markSent(n.id, d.slot, receipt.id),
      incident,
      audit(
        {
          ...base,
          action: d.resolveDedupKey ? "incident-resolved" : "sent",
          result: "sent",
          detail: {
            kind: n.kind,
            attempt: claim.attempts,
            ms: Date.now() - started,
            ...(receipt.truncated ? { truncated: true } : {}),
            ...(d.resolveDedupKey ? { dedupKey: d.resolveDedupKey } : {}),
          },
        },
        log,
      ),
    ]);
    for (const s of settled) {
      if (s.status === "rejected") {
        log.error("bookkeeping after delivery failed", {
          channel: d.channel,
          error: describe(s.reason),
        });
      }
    }
    return { channel: d.channel, status: "sent" };
  }

  /** Parks an event in the DLQ with the reasons, so nothing is lost silently. */
  async function deadLetter(
    record: SqsRecord,
    n: Notification | undefined,
    outcomes: ChannelOutcome[],
  ): Promise<boolean> {
    const url = process.env[ENV.deadLetterQueueUrl];
    if (!url) return false;
    // Required here, not at the top: only an event that cannot be delivered needs SQS, and every
    // client loaded at the top of the archive costs each cold start ~10 ms.
    const { SQSClient, SendMessageCommand } = require("@aws-sdk/client-sqs") as typeof Sqs;
    // useQueueUrlAsEndpoint: false — by default the client sends to the queue URL's host, which
    // would bypass the standard endpoint configuration (AWS_ENDPOINT_URL_SQS).
    cache.sqs ??= new SQSClient({
      maxAttempts: 3,
      useQueueUrlAsEndpoint: false,
      requestHandler: {
        connectionTimeout: 2000,
        requestTimeout: 5000,
        throwOnRequestTimeout: true,
      },
    });
    const failed = outcomes.filter((o) => o.status === "failed" || o.status === "abandoned");
    const reasons = failed
      .map((o) => `${o.channel}: ${o.reason ?? o.status}`)
      .join("; ")
      .slice(0, 4000);
    const attr = (v: string) => ({ DataType: "String", StringValue: v || "-" });
    await cache.sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: record.body,
        MessageAttributes: {
          reason: attr(reasons),
          failedChannels: attr(failed.map((o) => o.channel).join(",")),
          notificationId: attr(n?.id ?? ""),
          receiveCount: attr(record.attributes?.ApproximateReceiveCount ?? "1"),
        },
      }),
    );
    return true;
  }

  async function processRecord(
    record: SqsRecord,
    ev: CodePipelineEvent,
    secrets: () => Promise<ChannelSecrets>,
    topics: Record<string, string>,
    deadline: number,
  ): Promise<RecordOutcome> {
    const log = createLogger({
      eventId: ev.id,
      pipeline: ev.pipeline,
      executionId: ev.executionId,
      messageId: record.messageId,
    });
    const base = { pipeline: ev.pipeline, executionId: ev.executionId, eventId: ev.id };
    const rule = findPipelineRule(config.pipelines, ev.pipeline);
    if (!rule) {
      // The rule pattern may be folded to prefixes (many pipelines): not ours, nothing to do.
      log.info("ignored: pipeline not configured");
      return { status: "ignored", channels: [] };
    }
    const route = config.routing[rule.tier];
    const n = normalize(ev, { tier: rule.tier, severity: route?.severity ?? "warning" });
    if (n.kind === "approval-request") {
      if (!rule.approvals) return { status: "ignored", channels: [] };
      n.approval = { approvers: [...rule.approvals.approvers] };
    }
    const log2 = log.child({ notificationId: n.id, kind: n.kind });
    if (n.level !== "pipeline" && n.state !== "FAILED" && n.kind !== "approval-request") {
      // Only failures (folded below) and approvals are told at stage and action level.
      return { status: "ignored", notificationId: n.id, channels: [] };
    }

    // One message per execution and outcome: the first FAILED event (action, stage or
    // pipeline) claims it; the others are folded into it.
    if (n.state === "FAILED") {
      // Both reads at once: a Slack rejection recorded by the approval handler is a rejection,
      // whatever the event says.
      const [owner, rejection] = await Promise.all([
        claimOutcome(n.pipeline, n.executionId, "FAILED", n.id, retention),
        n.kind === "failure" ? slackRejection(n.pipeline, n.executionId) : undefined,
      ]);
      if (owner !== n.id) {
        await audit(
          {
            ...base,
            action: "collapsed",
            notificationId: n.id,
            result: `collapsed into ${owner}`,
            detail: { level: n.level, stage: n.stage, action: n.action },
          },
          log2,
        );
        return { status: "collapsed", notificationId: owner, channels: [] };
      }
      if (rejection) {
        n.kind = "rejection";
        n.decidedBy = rejection.by;
        n.stage ??= rejection.stage;
        n.action ??= rejection.action;
      }
    }

    // Nothing to send (e.g. a prod success with no open incident): no CodePipeline calls either.
    // Enrichment can only narrow the channels (a failure found to be a rejection never pages).
    const resolves = await resolvesFor(n, rule, config);
    const t0 = Date.now();
    if (deliveriesFor(n, rule, config).length + resolves.length > 0) await enrich(n);
    const t1 = Date.now();
    const deliveries = [...deliveriesFor(n, rule, config), ...resolves];
    if (deliveries.length === 0) {
      log2.info("ignored: nothing to send for this state");
      return { status: "ignored", notificationId: n.id, channels: [] };
    }

    // Quiet hours, by the event's own time (a redelivery decides the same way). PagerDuty
    // resolves still go: they close incidents, they page no one.
    const window = activeWindow(config.downtime, n, new Date(n.time));
    let toSend = deliveries;
    if (window) {
      toSend = deliveries.filter((d) => d.resolveDedupKey);
      await audit(
        {
          ...base,
          action: "suppressed",
          notificationId: n.id,
          result: `downtime window ${window.name}`,
          detail: {
            window: window.name,
            kind: n.kind,
            channels: deliveries.filter((d) => !d.resolveDedupKey).map((d) => d.channel),
          },
        },
        log2,
      );
      emitMetrics(
        deliveries
          .filter((d) => !d.resolveDedupKey)
          .map((d) => ({
            name: "Suppressed",
            value: 1,
            unit: "Count",
            dimensions: { Channel: d.channel },
          })),
        { eventId: n.eventId },
      );
      if (toSend.length === 0) return { status: "suppressed", notificationId: n.id, channels: [] };
    }

    const channelSecrets = await secrets();
    const t2 = Date.now();
    const outcomes = await Promise.all(
      toSend.map((d) => deliver(n, d, channelSecrets, topics, deadline, log2)),
    );
    const timings = { enrichMs: t1 - t0, prepareMs: t2 - t1, deliverMs: Date.now() - t2 };
    const latency = Date.now() - Date.parse(n.time);
    emitMetrics(
      outcomes.flatMap((o): MetricPoint[] => {
        const name =
          o.status === "sent" ? "Sent" : o.status === "deduplicated" ? "Deduplicated" : "Failed";
        return [
          { name, value: 1, unit: "Count", dimensions: { Channel: o.channel } },
          ...(o.status === "sent" && Number.isFinite(latency)
            ? [
                {
                  name: "DispatchLatency" as const,
                  value: latency,
                  unit: "Milliseconds" as const,
                  dimensions: { Channel: o.channel },
                },
              ]
            : []),
        ];
      }),
      { eventId: n.eventId, notificationId: n.id },
    );
    const retryable = outcomes.filter((o) => o.status === "failed");
    const abandoned = outcomes.filter((o) => o.status === "abandoned");
    if (retryable.length === 0 && abandoned.length === 0) {
      return {
        status: window ? "suppressed" : "delivered",
        notificationId: n.id,
        channels: outcomes,
        timings,
      };
    }
    const receives = Number(record.attributes?.ApproximateReceiveCount ?? "1");
    const maxReceives = Number(process.env[ENV.maxReceiveCount] ?? DEFAULT_MAX_RECEIVES);
    if (retryable.length > 0 && receives < maxReceives) {
      return { status: "retry", notificationId: n.id, channels: outcomes };
    }
    // Last attempt, or nothing a retry could fix: park it in the DLQ with the reasons.
    const parked = await deadLetter(record, n, outcomes);
    if (!parked) return { status: "retry", notificationId: n.id, channels: outcomes };
    await audit(
      {
        ...base,
        action: "failed",
        notificationId: n.id,
        result: "sent to the dead-letter queue",
        detail: {
          receives,
          channels: [...retryable, ...abandoned].map((o) => `${o.channel}: ${o.reason}`),
        },
      },
      log2,
    );
    return { status: "dead-letter", notificationId: n.id, channels: outcomes };
  }

  return async function handler(
    event: { Records?: SqsRecord[] },
    context?: FanoutContext,
  ): Promise<BatchResponse> {
    const records = event.Records ?? [];
    const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
    const deadline = Date.now() + remaining - DEADLINE_MARGIN_MS;
    const log = createLogger({ requestId: context?.awsRequestId });
    let secretsPromise: Promise<ChannelSecrets> | undefined;
    const secrets = () =>
      (secretsPromise ??= secretJson<ChannelSecrets>(requireEnv(ENV.channelSecretsArn)));
    // The SNS topic of each sms/email channel, read once per invocation.
    const topics = JSON.parse(process.env[ENV.channelTopics] || "{}") as Record<string, string>;
    const failures: string[] = [];

    // Records of one pipeline run in order (a failure before its resolving success); different
    // pipelines run concurrently.
    const byPipeline: Record<string, Array<{ record: SqsRecord; ev?: CodePipelineEvent }>> = {};
    for (const record of records) {
      const parsed = parseEventBridgeEvent(record.body);
      if (!parsed.ok) {
        // Malformed or foreign: recorded with the reason, never retried in a loop.
        log.warn("rejected input", {
          messageId: record.messageId,
          reason: parsed.reason,
          eventId: parsed.eventId,
        });
        const action: AuditAction = "rejected-input";
        await audit(
          {
            action,
            pipeline: parsed.pipeline ?? UNKNOWN_PIPELINE,
            executionId: parsed.executionId,
            eventId: parsed.eventId,
            result: parsed.reason,
            detail: { messageId: record.messageId, kind: parsed.kind },
          },
          log,
        );
        emitMetrics([
          { name: "Rejected", value: 1, unit: "Count", dimensions: { Reason: parsed.kind } },
        ]);
        continue;
      }
      (byPipeline[parsed.event.pipeline] ??= []).push({ record, ev: parsed.event });
    }
    await Promise.all(
      Object.values(byPipeline).map(async (items) => {
        for (const { record, ev } of items) {
          const started = Date.now();
          try {
            const outcome = await processRecord(
              record,
              ev as CodePipelineEvent,
              secrets,
              topics,
              deadline,
            );
            log.info("record done", {
              messageId: record.messageId,
              eventId: ev?.id,
              status: outcome.status,
              channels: outcome.channels,
              timings: outcome.timings,
              ms: Date.now() - started,
            });
            if (outcome.status === "retry") failures.push(record.messageId);
          } catch (err: unknown) {
            // An unexpected error (DynamoDB down, a bug): let SQS redeliver; the DLQ catches
            // what keeps failing, and its alarm pages the ops email.
            log.error("record failed", {
              messageId: record.messageId,
              eventId: ev?.id,
              error: describe(err),
            });
            failures.push(record.messageId);
          }
        }
      }),
    );
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
