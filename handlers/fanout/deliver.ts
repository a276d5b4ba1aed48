/**
 * One delivery of a notification to one channel, exactly once: claim the (notification, channel)
 * slot in the ledger → send with in-invocation retries → mark it sent (the ledger item is the
 * delivery's audit record: two DynamoDB writes in all) or failed (plus an append-only failure
 * record). A PagerDuty trigger is first given the pipeline's open incident (fanout/incident.ts).
 * A first attempt grouped into a digest whose window the container knows is spent is claimed
 * and marked `grouped` in one write (fanout/group-first.ts); any other grouped one costs the
 * claim and the grouped mark.
 */
import { snsPublisher, warmSnsFor } from "../channels/sns-publisher";
import { CHANNEL_DRIVERS } from "../channels/registry";
import type { ChannelDriver, DeliveryError, DeliveryReceipt, Logger } from "../channels/types";
import { isDeliveryError, redact, scaledMs } from "../http";
import { withRetries } from "../retry";
import { pipelineFields, type AuditRecord } from "../store/audit";
import { claimDelivery, type DeliveryRef } from "../store/ledger";
import { markFailed } from "../store/marks";
import { threadStore } from "../store/threads";
import type { ChannelConfig, ChannelSecrets, ChannelType, Notification } from "../types";
import { claimIncidentFor } from "./incident";
import { auditQuietly, claimLease, describe, markDeadline, type Invocation } from "./invocation";
import { allowanceFor, groupable, groupDelivery } from "./grouping";
import { groupFirst } from "./group-first";
import { settleRefused } from "./grouped-copy";
import { paceDelivery, type PaceDecision } from "./pace";
import { releaseUnsent, verdictOf, type GateVerdict, type SendGate } from "./gate";
import { recordSent } from "./sent";
import { receiverIsIdempotent, type ChannelStatus, type Delivery } from "./plan";

/** What became of one channel delivery. */
export interface ChannelOutcome {
  channel: string;
  status: ChannelStatus;
  /** Redacted reason of a failure or a deferral. */
  reason?: string;
  /** `deferred`: ms (this clock) after which the record's copy should arrive (issue 11). */
  deferMs?: number;
  /** `deferred` by pacing: the send slot reserved for the copy (epoch ms). */
  slotAt?: number;
  /** `sent`, and an earlier attempt may have arrived too: recorded `ambiguous`. */
  ambiguous?: true;
}

/** Audit fields shared by every record of one delivery. */
export type DeliveryBase = Pick<
  AuditRecord,
  "pipeline" | "account" | "region" | "executionId" | "channel" | "notificationId" | "eventId"
>;

/** Secrets of every channel, for redaction. */
function allSecretValues(secrets: ChannelSecrets): string[] {
  return Object.values(secrets).flatMap((s) => Object.values(s));
}

/**
 * Delivers `n` to `d.channel` unless the ledger says it already went (or is going) there, paced
 * at the channel's documented rate (fanout/pace.ts). Never throws for a channel's failure: that
 * is the outcome `failed` (a redelivery may fix it) or `abandoned` (permanent). A rate limit is
 * no failure (issue 11): a send slot after the deadline, or a 429 / throttling whose
 * `Retry-After` does not fit before it, is `deferred` (record.ts requeues the record), its
 * ledger slot left `failed` so the copy claims it cleanly. `reserved`: the slot a deferred copy
 * carries. `gate` (fanout/gate.ts): what the send waits for — the enrichment's verdict and the
 * channel secrets — while the claim (and, where `gate.paceEarly`, the pacing) runs before it;
 * a verdict not to send releases the slot (outcome `released`). DynamoDB errors of the claim are
 * thrown (the record is retried).
 */
export async function deliver(
  inv: Invocation,
  n: Notification,
  d: Delivery,
  gate: SendGate,
  log: Logger,
  reserved?: number,
): Promise<ChannelOutcome> {
  const base: DeliveryBase = {
    ...pipelineFields(n),
    executionId: n.executionId,
    channel: d.channel,
    notificationId: n.id,
    eventId: n.eventId,
  };
  const retention = inv.config.auditRetentionDays;
  const channelConfig = inv.config.channels[d.channel];
  const driver = CHANNEL_DRIVERS[channelConfig.type];
  const ref: DeliveryRef = {
    ...pipelineFields(n),
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
  // A grouped first attempt in a window known spent: claimed and marked in one write.
  const first = reserved === undefined ? await groupFirst(inv, n, d, ref, gate, log) : undefined;
  if (first && "channel" in first) return first;
  // Throttled claims are retried until the deadline (store/claim.ts), never past it.
  let claim =
    first ?? (await claimDelivery(ref, claimLease(inv), retention, Date.now(), inv.deadline));
  // Refused: deduplicated, unless grouped into a digest that may not have it (grouped-copy.ts:
  // moved, or given back and claimed again to be sent on its own).
  if (!claim.claimed) {
    const settled = await settleRefused(inv, n, ref, claim, base, log);
    if ("channel" in settled) return settled;
    claim = settled;
  }
  // SMS and email: SNS's client loads while this delivery waits for its pacing call or verdict.
  warmSnsFor(channelConfig.type);
  // Every release from here on changes the slot only while this claim holds it (store/ledger.ts).
  ref.claimId = claim.claimId;
  ref.unconfirmed = claim.unconfirmed;
  // A claim that completed at or past the deadline (its retries, or one slow call) sends
  // nothing: Lambda is about to stop this invocation. The slot is given back (`failed`), and the
  // record is retried: the next receive delivers it.
  if (Date.now() >= inv.deadline) {
    const reason = "deadline reached while claiming: left to the next receive";
    await markFailed(ref, reason, false, markDeadline(inv));
    log.warn("delivery deferred", { channel: d.channel, reason });
    return { channel: d.channel, status: "failed", reason };
  }
  // A retry of this delivery (its slot claimed before) already had its turn in the window: it
  // is never demoted to a digest by its own earlier, failed attempt (red-team finding).
  const retry = claim.attempts > 1;
  // A channel the verdict may drop reserves no send slot before it (fanout/gate.ts).
  let verdict: GateVerdict | undefined = gate.paceEarly ? undefined : await verdictOf(gate);
  if (verdict && !verdict.send) return releaseUnsent(inv, ref, d, verdict.reason, log);
  const paced = await paceOrRelease(inv, ref, d, channelConfig.type, reserved, log, n, retry, gate);
  if (paced.status !== "sent") return paced;
  verdict ??= await verdictOf(gate);
  if (!verdict.send) return releaseUnsent(inv, ref, d, verdict.reason, log);
  const { secrets } = verdict;
  // A PagerDuty trigger goes to the pipeline's open incident: its key, claimed now (issue 11).
  const noIncident = await claimIncidentFor(inv, n, d, ref, log);
  if (noIncident) return noIncident;
  const started = Date.now();
  const outcome = { mayHaveArrived: false };
  let receipt: DeliveryReceipt;
  try {
    receipt = await send(inv, n, d, { driver, config: channelConfig, secrets }, base, log, outcome);
  } catch (err: unknown) {
    const reason = redact(describe(err), allSecretValues(secrets));
    const mayHaveArrived = outcome.mayHaveArrived || (isDeliveryError(err) && !!err.mayHaveArrived);
    if (isRateLimited(err)) {
      return release(inv, ref, d, reason, rateLimitDelay(err), log, { mayHaveArrived });
    }
    const permanent = isDeliveryError(err) ? !err.retryable : false;
    await Promise.all([
      markFailed(ref, reason, permanent, markDeadline(inv), { mayHaveArrived }),
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
  // A slot claimed before and never confirmed (lease expired), or an attempt of this send that
  // got no answer: the earlier attempt may have reached the receiver. Safe to send again where
  // the receiver deduplicates (not after a digest that may list it: `inDigest`, another key);
  // elsewhere the send is recorded as ambiguous (a possible duplicate), never as a clean one.
  const idempotent = receiverIsIdempotent(channelConfig) && !claim.inDigest;
  const repeated = claim.unconfirmed || outcome.mayHaveArrived;
  const run = {
    attempt: claim.attempts,
    started,
    ambiguous: repeated && !idempotent,
    resent: repeated && idempotent,
  };
  if (run.ambiguous) log.warn("ambiguous delivery", { channel: d.channel, attempt: run.attempt });
  await recordSent(inv, n, d, receipt, ref, run, log);
  return { channel: d.channel, status: "sent", ...(run.ambiguous && { ambiguous: true }) };
}

/**
 * Whether a send failed only because the receiver limits its rate: HTTP 429, a `Retry-After`,
 * or an AWS throttling error (SNS `Throttling`, `ThrottlingException`, …). Not a failure.
 */
export function isRateLimited(err: unknown): err is DeliveryError {
  if (!isDeliveryError(err) || !err.retryable) return false;
  return err.status === 429 || err.retryAfterMs !== undefined || /Throttl/.test(err.message);
}

/**
 * How long (this clock's ms) to defer a rate-limited delivery: the receiver's Retry-After (AWS
 * time, scaled), at least 1 s.
 */
function rateLimitDelay(err: DeliveryError): number {
  return scaledMs(Math.max(err.retryAfterMs ?? 0, 1000));
}

/**
 * Paces a claimed delivery: waits for its slot when it fits before the deadline (`sent` here
 * means "go on and send"); else releases the claim as a deferral. A pacing store error releases
 * the claim as a plain failure (never a `sending` slot left behind). Over the grouping window's
 * individual allowance (issue 11, fanout/grouping.ts) the slot is marked `grouped` instead (the
 * outcome `grouped`); a grouping write that fails releases it as a failure. A digest entry says
 * what the message says: it is written only after `gate`'s verdict (the enrichment).
 */
async function paceOrRelease(
  inv: Invocation,
  ref: DeliveryRef,
  d: Delivery,
  type: ChannelType,
  reserved: number | undefined,
  log: Logger,
  n: Notification,
  retry: boolean,
  gate: SendGate,
): Promise<ChannelOutcome> {
  let pace: PaceDecision;
  try {
    const window = !retry && groupable(n, d) ? allowanceFor(inv.config, d.channel) : undefined;
    const allowance = window && { ...window, member: ref.notificationId }; // counted once
    pace = await paceDelivery(d.channel, type, inv.deadline, reserved, Date.now, allowance);
    if (pace.kind === "group") {
      const verdict = await verdictOf(gate);
      if (!verdict.send) return releaseUnsent(inv, ref, d, verdict.reason, log);
      const grouped = await groupDelivery(inv, n, ref, pace.allowance, log);
      if ("status" in grouped) return grouped;
      throw Object.assign(new Error(grouped.error), { mayBeInDigest: grouped.mayBeInDigest });
    }
  } catch (err: unknown) {
    const reason = `pacing unavailable: ${describe(err)}`;
    const { mayBeInDigest } = err as { mayBeInDigest?: boolean };
    await markFailed(ref, reason, false, markDeadline(inv), { mayBeInDigest });
    log.error("delivery failed", { channel: d.channel, permanent: false, error: reason });
    return { channel: d.channel, status: "failed", reason };
  }
  if (pace.kind === "defer") return release(inv, ref, d, pace.reason, pace.delayMs, log, { pace });
  if (pace.waitMs > 0) await new Promise<void>((r) => setTimeout(r, pace.waitMs));
  return { channel: d.channel, status: "sent" };
}

/**
 * Gives a claimed slot back as `failed` with the deferral's reason (the record's copy claims it
 * cleanly, not as an unconfirmed slot, unless `opts.mayHaveArrived`: an attempt before the rate
 * limit got no answer) and reports the delivery `deferred`.
 */
async function release(
  inv: Invocation,
  ref: DeliveryRef,
  d: Delivery,
  reason: string,
  deferMs: number,
  log: Logger,
  opts: { pace?: { slotAt: number }; mayHaveArrived?: boolean } = {},
): Promise<ChannelOutcome> {
  const { pace, mayHaveArrived } = opts;
  const why = `deferred: ${reason}`;
  await markFailed(ref, why, false, markDeadline(inv), { mayHaveArrived });
  log.warn("delivery deferred", { channel: d.channel, deferMs, reason });
  return {
    channel: d.channel,
    status: "deferred",
    reason: why,
    deferMs,
    ...(pace ? { slotAt: pace.slotAt } : {}),
  };
}

/**
 * Sends through the channel's driver, retrying what a retry can fix before the deadline.
 * `outcome.mayHaveArrived` is set when a retried attempt got no answer after its request was
 * sent (DeliveryError `mayHaveArrived`): the success that follows may repeat it.
 */
function send(
  inv: Invocation,
  n: Notification,
  d: Delivery,
  channel: { driver: ChannelDriver; config: ChannelConfig; secrets: ChannelSecrets },
  base: DeliveryBase,
  log: Logger,
  outcome: { mayHaveArrived: boolean },
): Promise<DeliveryReceipt> {
  const { driver, config: channelConfig, secrets } = channel;
  return withRetries(
    () =>
      driver.send(n, {
        name: d.channel,
        config: channelConfig,
        secret: secrets[d.channel] ?? {},
        deadline: inv.deadline,
        // The SNS client is created on the first publish (sms, email), not per send: issue 12.
        sns: snsPublisher(),
        topicArn: inv.topics[d.channel],
        resolveDedupKey: d.resolveDedupKey,
        dedupKey: d.dedupKey,
        // Slack bot mode: one thread per execution (issue 11, handlers/channels/slack-thread.ts).
        threads: threadStore(inv.config.auditRetentionDays),
        log,
      }),
    {
      deadline: inv.deadline,
      onRetry: (e: DeliveryError, attempt: number, delayMs: number) => {
        if (e.mayHaveArrived) outcome.mayHaveArrived = true;
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
