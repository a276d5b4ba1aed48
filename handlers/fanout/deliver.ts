/**
 * One delivery of a notification to one channel, exactly once: claim the (notification, channel)
 * slot in the ledger → send with in-invocation retries → mark it sent (the ledger item is the
 * delivery's audit record: two DynamoDB writes in all) or failed (plus an append-only failure
 * record). A PagerDuty trigger is remembered as an open incident, and a resolve forgets it.
 */
import { sns } from "../aws";
import { snsPublisher } from "../channels/common";
import { pagerdutyDedupKey } from "../channels/pagerduty";
import { CHANNEL_DRIVERS } from "../channels/registry";
import type { ChannelDriver, DeliveryError, DeliveryReceipt, Logger } from "../channels/types";
import { isDeliveryError, redact } from "../http";
import { rememberRequest } from "../reminders/record";
import { withRetries } from "../retry";
import type { AuditRecord } from "../store/audit";
import { forgetIncident, rememberIncident } from "../store/incidents";
import { claimDelivery, markFailed, markSent, type DeliveryRef } from "../store/ledger";
import type { ChannelConfig, ChannelSecrets, Notification } from "../types";
import { auditQuietly, claimLease, describe, markDeadline, type Invocation } from "./invocation";
import { receiverIsIdempotent, type ChannelStatus, type Delivery } from "./plan";

/** What became of one channel delivery. */
export interface ChannelOutcome {
  channel: string;
  status: ChannelStatus;
  /** Redacted reason of a failure. */
  reason?: string;
}

/** Audit fields shared by every record of one delivery. */
type DeliveryBase = Pick<
  AuditRecord,
  "pipeline" | "executionId" | "channel" | "notificationId" | "eventId"
>;

/** Secrets of every channel, for redaction. */
function allSecretValues(secrets: ChannelSecrets): string[] {
  return Object.values(secrets).flatMap((s) => Object.values(s));
}

/**
 * Delivers `n` to `d.channel` unless the ledger says it already went (or is going) there. Never
 * throws for a channel's failure: that is the outcome `failed` (a redelivery may fix it) or
 * `abandoned` (permanent). DynamoDB errors of the claim are thrown (the record is retried).
 */
export async function deliver(
  inv: Invocation,
  n: Notification,
  d: Delivery,
  secrets: ChannelSecrets,
  log: Logger,
): Promise<ChannelOutcome> {
  const base: DeliveryBase = {
    pipeline: n.pipeline,
    executionId: n.executionId,
    channel: d.channel,
    notificationId: n.id,
    eventId: n.eventId,
  };
  const retention = inv.config.auditRetentionDays;
  const channelConfig = inv.config.channels[d.channel];
  const driver = CHANNEL_DRIVERS[channelConfig.type];
  const ref: DeliveryRef = {
    pipeline: n.pipeline,
    eventTime: n.time,
    notificationId: n.id,
    slot: d.slot,
    channel: d.channel,
    executionId: n.executionId,
    eventId: n.eventId,
  };
  // Past the deadline nothing new is claimed or sent (issue 12): the records of a batch run one
  // after another, and a claim made now would hold the slot for an invocation that Lambda is
  // about to stop; the next receive delivers it. No DynamoDB call.
  if (Date.now() >= inv.deadline) {
    const reason = "deadline reached before claiming: left to the next receive";
    log.warn("delivery deferred", { channel: d.channel, reason });
    return { channel: d.channel, status: "failed", reason };
  }
  const claim = await claimDelivery(ref, claimLease(inv), retention);
  if (!claim.claimed) {
    const status = claim.status === "abandoned" ? "abandoned" : "deduplicated";
    const result =
      claim.status === "sent" ? `already sent at ${claim.sentAt}` : `already ${claim.status}`;
    await auditQuietly(inv, { ...base, action: "deduplicated", result }, log);
    return { channel: d.channel, status };
  }
  const started = Date.now();
  let receipt: DeliveryReceipt;
  try {
    receipt = await send(inv, n, d, { driver, config: channelConfig, secrets }, base, log);
  } catch (err: unknown) {
    const permanent = isDeliveryError(err) ? !err.retryable : false;
    const reason = redact(describe(err), allSecretValues(secrets));
    await Promise.all([
      markFailed(ref, reason, permanent, markDeadline(inv)),
      auditQuietly(
        inv,
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
  // A slot claimed before and never confirmed (lease expired): the earlier attempt may have
  // reached the receiver. Safe to send again where the receiver deduplicates; elsewhere the
  // send is recorded as ambiguous (a possible duplicate), never as a clean first send.
  const idempotent = receiverIsIdempotent(channelConfig);
  const run = {
    attempt: claim.attempts,
    started,
    ambiguous: claim.unconfirmed && !idempotent,
    resent: claim.unconfirmed && idempotent,
  };
  if (run.ambiguous) log.warn("ambiguous delivery", { channel: d.channel, attempt: run.attempt });
  await recordSent(inv, n, d, receipt, ref, run, log);
  return { channel: d.channel, status: "sent" };
}

/** Sends through the channel's driver, retrying what a retry can fix before the deadline. */
function send(
  inv: Invocation,
  n: Notification,
  d: Delivery,
  channel: { driver: ChannelDriver; config: ChannelConfig; secrets: ChannelSecrets },
  base: DeliveryBase,
  log: Logger,
): Promise<DeliveryReceipt> {
  const { driver, config: channelConfig, secrets } = channel;
  return withRetries(
    () =>
      driver.send(n, {
        name: d.channel,
        config: channelConfig,
        secret: secrets[d.channel] ?? {},
        deadline: inv.deadline,
        sns: snsPublisher(sns()),
        topicArn: inv.topics[d.channel],
        resolveDedupKey: d.resolveDedupKey,
        log,
      }),
    {
      deadline: inv.deadline,
      onRetry: (e: DeliveryError, attempt: number, delayMs: number) => {
        log.warn("delivery retry", { channel: d.channel, attempt, delayMs, error: e.message });
        void auditQuietly(
          inv,
          { ...base, action: "retried", result: e.message, detail: { attempt, delayMs } },
          log,
        );
      },
    },
  );
}

/**
 * The bookkeeping after a delivery: the ledger's mark-sent, which is also the delivery's audit
 * record (retried until the deadline: store/ledger.ts `markSent`), and the PagerDuty incident.
 * It runs concurrently, and its failures are logged, not thrown: retrying the record would send
 * the message again. `receipt` is the successful delivery's receipt (channels/types.ts
 * `DeliveryReceipt`): for Slack in bot mode `receipt.id` is the posted message's `ts`, and the
 * channel id is the channel config's `channel` (`inv.config.channels[d.channel]`). A PagerDuty
 * resolve caused by a rollback is recorded with the rollback: the Events API v2 resolve carries
 * only `routing_key`, `event_action` and `dedup_key` (payload fields are for triggers), so the
 * record and the tier's other channels are where it is said.
 */
async function recordSent(
  inv: Invocation,
  n: Notification,
  d: Delivery,
  receipt: DeliveryReceipt,
  ref: DeliveryRef,
  run: { attempt: number; started: number; ambiguous: boolean; resent: boolean },
  log: Logger,
): Promise<void> {
  const retention = inv.config.auditRetentionDays;
  const incident =
    inv.config.channels[d.channel].type !== "pagerduty"
      ? undefined
      : d.resolveDedupKey
        ? forgetIncident(d.channel, n.pipeline, d.resolveDedupKey)
        : rememberIncident(d.channel, n.pipeline, receipt.id ?? pagerdutyDedupKey(n), retention);
  const detail = {
    kind: n.kind,
    attempt: run.attempt,
    ms: Date.now() - run.started,
    ...(run.resent ? { resentIdempotent: true } : {}),
    ...(receipt.truncated ? { truncated: true } : {}),
    ...(d.resolveDedupKey ? { dedupKey: d.resolveDedupKey } : {}),
    ...(n.attempt !== undefined && n.attempt > 1 ? { executionAttempt: n.attempt } : {}),
    ...(n.rollback ? { rollback: { ...n.rollback } } : {}),
  };
  const settled = await Promise.allSettled([
    markSent(
      ref,
      {
        action: d.resolveDedupKey ? "incident-resolved" : "sent",
        receiptId: receipt.id,
        ambiguous: run.ambiguous,
        detail,
      },
      markDeadline(inv),
    ),
    incident,
    // An approval request posted to Slack waits for a decision: the reminder scan's item.
    rememberRequest(inv.config, n, d.channel, receipt),
  ]);
  for (const s of settled) {
    if (s.status === "rejected") {
      log.error("bookkeeping after delivery failed", {
        channel: d.channel,
        error: describe(s.reason),
      });
    }
  }
}
