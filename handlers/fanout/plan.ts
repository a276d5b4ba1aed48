/**
 * The fan-out's decisions about one event, without I/O: which pipeline rule applies, whether the
 * event is told at all, which channels it goes to, whether it collapses into an earlier message
 * of the same outcome, what quiet hours hold back, and what becomes of the record once its
 * deliveries are done. The I/O around them is in record.ts.
 */
import { pipelineKeyOf } from "../contracts/pipeline-id";
import { activeWindow } from "../downtime";
import { normalize, originFields, type CodePipelineEvent } from "../events";
import { findPipelineRule } from "../routing";
import { resolveSlot } from "../store/keys";
import type { DowntimeWindow, Notification, PipelineRule, RuntimeConfig } from "../types";

/** One delivery to do: a channel, plus the incident a PagerDuty resolve closes. */
export interface Delivery {
  channel: string;
  /** Ledger slot (store/keys.ts): the channel name, or the resolve slot of an incident. */
  slot: string;
  /** Dedup key of the PagerDuty incident this delivery resolves. */
  resolveDedupKey?: string;
  /**
   * A PagerDuty resolve: the last failing execution added to the incident it resolves
   * (store/incidents.ts), when known.
   */
  lastExecution?: string;
  /**
   * A PagerDuty trigger: the dedup key of the pipeline's open incident it is added to (set by
   * fanout/deliver.ts from store/incidents.ts `claimIncident` before the send).
   */
  dedupKey?: string;
}

/** What to do with a parsed event: nothing (with why, for the log), or notify under `rule`. */
export type RecordPlan =
  | { kind: "ignore"; notificationId?: string; logMessage?: string }
  | { kind: "notify"; rule: PipelineRule; notification: Notification };

/**
 * Routes and normalizes an event: ignored when no pipeline rule matches (the rule pattern may be
 * folded to prefixes, so foreign pipelines arrive), when it requests an approval of a pipeline
 * without Slack approvals, and when it is a stage or action event other than a failure or an
 * approval request (failures there are folded into one message per outcome).
 */
export function planRecord(ev: CodePipelineEvent, config: RuntimeConfig): RecordPlan {
  const rule = findPipelineRule(config.pipelines, ev);
  if (!rule) return { kind: "ignore", logMessage: "ignored: pipeline not configured" };
  const route = config.routing[rule.tier];
  const n = normalize(ev, { tier: rule.tier, severity: route?.severity ?? "warning" });
  Object.assign(n, originFields(ev, config));
  if (n.kind === "approval-request") {
    if (!rule.approvals) return { kind: "ignore" };
    n.approval = { approvers: [...rule.approvals.approvers] };
  }
  if (n.kind === "approval-expired")
    n.approval = { approvers: [...(rule.approvals?.approvers ?? [])] };
  if (n.level !== "pipeline" && n.state !== "FAILED" && n.kind !== "approval-request") {
    return { kind: "ignore", notificationId: n.id };
  }
  // An approval's own FAILED arrives for every pipeline with approvals (its request is rewritten:
  // handlers/reminders/ended.ts); it is told only where FAILED is told, as before.
  if (n.level !== "pipeline" && n.state === "FAILED" && !rule.states.includes("FAILED")) {
    return { kind: "ignore", notificationId: n.id };
  }
  return { kind: "notify", rule, notification: n };
}

/**
 * Whether `n` takes part in the one-message-per-outcome claim: every FAILED event (action, stage
 * or pipeline) does, and the first to claim it owns the message of its attempt
 * (`outcomeKey(…, attempt)`): a retried stage that fails again is a new failure with a message
 * of its own (REFERENCE.md, CodePipeline's lifecycle), while the action, stage and pipeline
 * FAILED events of one attempt still make one message.
 */
export function claimsOutcome(n: Notification): boolean {
  return n.state === "FAILED";
}

/** The attempt whose outcome `n` claims: `pipeline-execution-attempt`, 1 when absent. */
export function outcomeAttempt(n: Notification): number {
  return n.attempt !== undefined && Number.isInteger(n.attempt) && n.attempt > 1 ? n.attempt : 1;
}

/**
 * Whether a Slack rejection recorded by the approval handler could change what `n` says: a
 * failure whose event does not name its failed action (a stage or pipeline FAILED). An action
 * event says itself what failed, and an Approval action's FAILED is never a `failure`.
 */
export function mayBeSlackRejection(n: Notification): boolean {
  return n.kind === "failure" && n.level !== "action";
}

/** The notification id `n` collapses into, given the `owner` of its outcome; undefined if none. */
export function collapsesInto(n: Notification, owner: string): string | undefined {
  return owner === n.id ? undefined : owner;
}

/**
 * Turns a failure into the rejection it was, when someone rejected the execution in Slack in the
 * same attempt: a rejection is reported as such, whatever the event says. Mutates `n`.
 */
export function applySlackRejection(
  n: Notification,
  rejection: { by: string; stage?: string; action?: string; attempt?: number } | undefined,
): void {
  if (!rejection) return;
  // A stage event of another stage failed on its own (e.g. a later attempt's build).
  if (n.stage && rejection.stage && n.stage !== rejection.stage) return;
  // "A failure on a later attempt is a new failure" (REFERENCE.md, CodePipeline's lifecycle): a
  // rejection of another attempt, or one of unknown attempt read into attempt 2 or later, would
  // hide a real failure from the pager. Paging for a rejection is the lesser error.
  if (!sameAttempt(n.attempt, rejection.attempt)) return;
  n.kind = "rejection";
  n.decidedBy = rejection.by;
  n.stage ??= rejection.stage;
  n.action ??= rejection.action;
}

/**
 * Whether a rejection made in `decided` can be the cause of a failure of `failed` (both
 * `pipeline-execution-attempt`s, undefined when unknown): the same attempt, or the first attempt
 * when the rejection's is unknown; anything when the failure's attempt is unknown.
 */
function sameAttempt(failed: number | undefined, decided: number | undefined): boolean {
  if (failed === undefined) return true;
  return decided === undefined ? failed === 1 : decided === failed;
}

/**
 * Paging channels reach the on-call person: PagerDuty, and SMS (the on-call phone). Only failures
 * ever reach them: a rejection is a decision, an expired approval nobody's emergency (issue 10,
 * item 3), and a success only resolves (PagerDuty) or says nothing (SMS).
 */
export function isPagingChannel(config: RuntimeConfig, channel: string): boolean {
  const type = config.channels[channel]?.type;
  return type === "pagerduty" || type === "sms";
}

/**
 * Whether the tier's non-paging channels hear about `n`: when the rule's `states` include its
 * state, and always for the outcome of a rollback (an execution of type ROLLBACK, API
 * reference `PipelineExecution`): its SUCCEEDED closes the page of the failure it undid, and
 * must not read as a fix where nobody is told it was a rollback.
 */
export function notifiesTier(n: Notification, rule: PipelineRule): boolean {
  if (rule.states.includes(n.state as never)) return true;
  return n.rollback !== undefined && (n.kind === "success" || n.kind === "failure");
}

/**
 * Channels `n` goes to, by kind: an approval request to the rule's approval channel; anything
 * else to the tier's channels: paging channels (PagerDuty, SMS) get failures only; the others
 * get what {@link notifiesTier} says.
 */
export function deliveriesFor(
  n: Notification,
  rule: PipelineRule,
  config: RuntimeConfig,
): Delivery[] {
  if (n.kind === "approval-request") {
    return rule.approvals
      ? [{ channel: rule.approvals.channel, slot: rule.approvals.channel }]
      : [];
  }
  const route = config.routing[rule.tier];
  if (!route) return [];
  const notifies = notifiesTier(n, rule);
  return route.channels
    .filter((c) => config.channels[c])
    .filter((c) => (isPagingChannel(config, c) ? n.kind === "failure" : notifies))
    .map((channel) => ({ channel, slot: channel }));
}

/** PagerDuty channels whose open incidents of the pipeline a success of `n` resolves. */
export function resolvingChannels(
  n: Notification,
  rule: PipelineRule,
  config: RuntimeConfig,
): string[] {
  if (n.kind !== "success") return [];
  const route = config.routing[rule.tier];
  return (route?.channels ?? []).filter((c) => config.channels[c]?.type === "pagerduty");
}

/**
 * The failed execution a rollback undid, when it is what the rollback's success resolves: the
 * last failing execution of the one open PagerDuty incident `resolves` closes (store/incidents.ts
 * `lastExecution`), or for an incident without it the execution its key names
 * (`deploy-notifier/<pipeline key>/<execution id>`, channels/pagerduty.ts). Undefined when there
 * is no such incident, or several executions. Mutates `n.rollback` (a rollback only) and returns
 * the id it set.
 */
export function noteRolledBackFailure(n: Notification, resolves: Delivery[]): string | undefined {
  if (!n.rollback || n.rollback.failedExecutionId) return undefined;
  const prefixes = [`deploy-notifier/${pipelineKeyOf(n)}/`, `deploy-notifier/${n.pipeline}/`];
  const fromKey = (k: string | undefined) => {
    const prefix = prefixes.find((p) => k?.startsWith(p));
    return k === undefined || prefix === undefined ? undefined : k.slice(prefix.length);
  };
  const ids = new Set(
    resolves
      .map((d) => d.lastExecution ?? fromKey(d.resolveDedupKey))
      .filter((id): id is string => id !== undefined)
      .filter((id) => id !== "" && !id.includes("/") && !id.includes("#")),
  );
  if (ids.size !== 1) return undefined;
  const [id] = [...ids];
  n.rollback.failedExecutionId = id;
  return id;
}

/**
 * The delivery that resolves the incident `dedupKey` on PagerDuty channel `channel`;
 * `lastExecution` is the last failing execution added to it, when known.
 */
export function resolveDelivery(
  channel: string,
  dedupKey: string,
  lastExecution?: string,
): Delivery {
  return {
    channel,
    slot: resolveSlot(channel, dedupKey),
    resolveDedupKey: dedupKey,
    ...(lastExecution !== undefined && { lastExecution }),
  };
}

/** What quiet hours do to a notification's deliveries. */
export interface DowntimeDecision {
  /** The window that holds `suppressed` back, if one is active. */
  window?: DowntimeWindow;
  /** What still goes out: everything, or in a window only the PagerDuty resolves. */
  toSend: Delivery[];
  /** What the window holds back. */
  suppressed: Delivery[];
}

/**
 * Applies quiet hours by the event's own time (so a redelivery decides the same way). PagerDuty
 * resolves still go: they close incidents, they page no one.
 */
export function applyDowntime(
  config: RuntimeConfig,
  n: Notification,
  deliveries: Delivery[],
): DowntimeDecision {
  const window = activeWindow(config.downtime, n, new Date(n.time));
  if (!window) return { toSend: deliveries, suppressed: [] };
  return {
    window,
    toSend: deliveries.filter((d) => d.resolveDedupKey),
    suppressed: deliveries.filter((d) => !d.resolveDedupKey),
  };
}

/**
 * Whether the receiver of a channel recognizes a repeat of one notification, so that sending
 * again a slot whose earlier attempt's outcome is unknown cannot duplicate it:
 * - PagerDuty: the Events API v2 `dedup_key` (the pipeline's open incident's key, which a resent
 *   trigger claims again, store/incidents.ts; a trigger with the key of an open alert is folded
 *   into it, and a resolve is by key);
 * - webhooks: the `Idempotency-Key` header (channels/webhook.ts), for receivers that honour it.
 * Everything else has no idempotency at the receiver: Slack incoming webhooks, Teams, Discord,
 * SMS and email. Slack in bot mode carries message metadata (channels/slack.ts) by which a
 * repeat can be found in the channel's history, but `chat.postMessage` itself posts it again,
 * so it counts as not idempotent here.
 */
export function receiverIsIdempotent(config: { type: string } | undefined): boolean {
  return config?.type === "pagerduty" || config?.type === "webhook";
}

/**
 * How one channel delivery ended. `deferred` (issue 11): the receiver limits its rate and the
 * send waits for a copy of the record (record.ts requeues it) — never a failure. `grouped`: held
 * for a channel's digest. `released` (issue 12): claimed while the enrichment ran, then not due
 * (fanout/gate.ts); the slot was given back and record.ts drops the outcome.
 */
export type ChannelStatus =
  "sent" | "deduplicated" | "failed" | "abandoned" | "deferred" | "grouped" | "released";

/**
 * What becomes of a record after its deliveries (`deferred` and `grouped` are not failures: the
 * caller requeues deferred ones): `done` when nothing failed; `retry` (SQS
 * redelivers it, and only the failed channels are tried again) when a channel failed in a way a
 * retry can fix and SQS will deliver it again (`receives` < `maxReceives`); else `dead-letter`
 * (the last attempt, or every failure permanent).
 */
export function settleRecord(
  statuses: ChannelStatus[],
  receives: number,
  maxReceives: number,
): "done" | "retry" | "dead-letter" {
  const retryable = statuses.filter((s) => s === "failed").length;
  const abandoned = statuses.filter((s) => s === "abandoned").length;
  if (retryable === 0 && abandoned === 0) return "done";
  if (retryable > 0 && receives < maxReceives) return "retry";
  return "dead-letter";
}
