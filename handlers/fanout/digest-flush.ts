/**
 * The flush of one channel's digest (issue 11 grouping): when a digest-flush message arrives
 * (contracts/digest-flush.ts, queued by fanout/grouping.ts for the window's end plus a few
 * seconds), the window's grouped entries are read with a Query of the index (store/digest.ts),
 * the `Digest` is built (count, distinct pipelines, entries oldest first, highest severity,
 * window bounds, for SMS the Slack channel to see), and sent exactly once through its own ledger
 * slot (`digest/<window start>` on the channel: a duplicated flush, or two invocations flushing
 * at once, find it claimed or sent), paced like any send (it may take a send slot even when the
 * channel is backlogged: the digest is what keeps the backlog short). A channel driver without
 * `sendDigest` gets the digest as one plain-text notification, so nothing is lost (digest-send.ts,
 * which also sends a digest refused for its size once more, shortened). A digest refused for good
 * is dead-lettered with its reason, never dropped. The claim writes the digest's list, so a
 * record left `sending` says what it has; a digest sent whose `sent` mark failed for good comes
 * back as a copy of its flush that finishes the mark with the receipt, never a second send.
 */
import type { SQSRecord } from "aws-lambda";
import { sns } from "../aws";
import { snsPublisher } from "../channels/sns-publisher";
import { CHANNEL_DRIVERS } from "../channels/registry";
import type { ChannelContext, Logger } from "../channels/types";
import {
  parseDigestFlush,
  digestFlushBody,
  MAX_RECEIPT_CHARS,
  type DigestFlush,
  type DigestSentMark,
} from "../contracts/digest-flush";
import { isDeliveryError, redact, scaledMs, timeScale } from "../http";
import { digestEntries, type GroupedEntry } from "../store/digest";
import { finishDigestSent, MAX_LISTED_IDS } from "../store/digest-record";
import { claimDelivery, markFailed, markSent, type DeliveryRef } from "../store/ledger";
import { SEVERITIES, type Digest, type RuntimeConfig } from "../types";
import { isRateLimited } from "./deliver";
import { keptDigest } from "./digest-kept";
import { digestSlot, seeChannelFor } from "./grouping";
import { claimLease, describe, markDeadline, type Invocation } from "./invocation";
import { paceDelivery } from "./pace";
import { deadLetterRefused, retryLater } from "./flush-retry";
import { sendDigestOrShort, type DigestSent } from "./digest-send";
import { emitDigestOutcome } from "./metrics";
import { requeue } from "./requeue";

/**
 * When a flush finds the digest's slot held by another flush, it looks again this much later (ms
 * of AWS time): by then the other has sent it (the copy is deduplicated) or its lease has run out
 * (the copy claims and sends it).
 */
export const HELD_RECHECK_MS = 30_000;

/** The ledger slot of `f`'s digest (its own delivery record, never a notification's). */
export function digestRef(f: Pick<DigestFlush, "channel" | "windowStart">): DeliveryRef {
  return {
    pipeline: `DIGEST#${f.channel}`,
    eventTime: new Date(f.windowStart).toISOString(),
    notificationId: digestSlot(f.channel, f).digestId,
    slot: `digest/${Math.round(f.windowStart)}`,
    channel: f.channel,
  };
}

/**
 * The digest of `entries` (each once, oldest first) for `f`. `windowEnd` is the window's length
 * in AWS time after its start (the sandbox's clock runs faster: TIME_SCALE).
 */
export function buildDigest(
  config: RuntimeConfig,
  f: DigestFlush,
  entries: GroupedEntry[],
): Digest {
  const unique = Object.values(Object.fromEntries(entries.map((e) => [e.notificationId, e])));
  const byTime = [...unique].sort(
    (a, b) => Date.parse(a.time) - Date.parse(b.time) || a.pipeline.localeCompare(b.pipeline),
  );
  const pipelines = new Set(byTime.map((e) => `${e.account}/${e.region}/${e.pipeline}`));
  const rank = (s: string) => {
    const i = (SEVERITIES as readonly string[]).indexOf(s);
    return i < 0 ? SEVERITIES.length : i;
  };
  const severity = byTime.reduce(
    (top, e) => (rank(e.severity) < rank(top) ? e.severity : top),
    byTime[0]?.severity ?? "info",
  );
  const see =
    config.channels[f.channel]?.type === "sms" ? seeChannelFor(config, f.channel) : undefined;
  return {
    id: digestSlot(f.channel, f).digestId,
    channel: f.channel,
    windowStart: new Date(f.windowStart).toISOString(),
    windowEnd: new Date(f.windowStart + f.windowMs * timeScale()).toISOString(),
    count: byTime.length,
    pipelines: pipelines.size,
    entries: byTime.map(({ severity: _s, ...e }) => e),
    severity,
    ...(see !== undefined && { seeChannel: see }),
  };
}

/**
 * What a digest's record says of it (`detail`): `kind` digest, `count`, `pipelines`,
 * `windowStart`, `shortened` when so, and `notifications`, every id up to
 * store/digest-record.ts `MAX_LISTED_IDS` (25 bytes each).
 */
function digestDetail(digest: Digest, shortened: boolean): Record<string, unknown> {
  return {
    kind: "digest",
    count: digest.count,
    pipelines: digest.pipelines,
    windowStart: digest.windowStart,
    ...(shortened && { shortened: true }),
    notifications: digest.entries.slice(0, MAX_LISTED_IDS).map((e) => e.notificationId),
  };
}

/** Puts `f` back on the queue after `delayMs` (this clock). SQS errors are thrown. */
async function requeueFlush(f: DigestFlush, delayMs: number): Promise<void> {
  await requeue({ body: digestFlushBody(f), delaySeconds: (delayMs * timeScale()) / 1000 });
}

/**
 * Handles one digest-flush record. Resolves true when the record is done (sent, shortened after
 * a size refusal, already sent, nothing to send, re-queued to wait for the channel's rate limit
 * or after a failure a retry can fix, or dead-lettered with its reason: a permanent refusal at
 * once, other failures after flush-retry.ts's copies), false when SQS should deliver it again
 * (the queue refused the copy, or no DLQ is configured).
 */
export async function flushDigestRecord(inv: Invocation, record: SQSRecord): Promise<boolean> {
  const f = parseDigestFlush(record.body);
  const log = inv.log.child({
    messageId: record.messageId,
    digest: f && digestRef(f).notificationId,
  });
  const channelConfig = f && inv.config.channels[f.channel];
  if (!f || !channelConfig) {
    log.warn("digest flush for an unknown channel: dropped");
    return true;
  }
  try {
    return await (f.sent ? finishSent(inv, f, f.sent, log) : flush(inv, f, log));
  } catch (err: unknown) {
    log.error("digest flush failed", { error: describe(err) });
    if ((err as { permanent?: boolean }).permanent === true) {
      return deadLetterRefused(record, f, (err as Error).message, log);
    }
    // Sent, its mark failed: the copy finishes the mark, never sends again.
    const sent = (err as { sent?: DigestSentMark }).sent ?? f.sent;
    return retryLater(record, { ...f, ...(sent && { sent }) }, err, log);
  }
}

/**
 * Finishes the `sent` mark of `f`'s digest, sent by the claim `mark.claimId` whose own mark
 * failed for good (store/digest-record.ts `finishDigestSent`): the record then says sent, with
 * the list its claim wrote, and no copy of its entries moves them to another digest. Resolves
 * true; DynamoDB errors are thrown (flush-retry.ts puts it back, bounded).
 */
async function finishSent(
  inv: Invocation,
  f: DigestFlush,
  mark: DigestSentMark,
  log: Logger,
): Promise<boolean> {
  const done = await finishDigestSent(digestRef(f), mark, markDeadline(inv));
  if (done) log.info("digest sent mark finished", { receiptId: mark.receiptId });
  else log.warn("digest sent mark not finished: the slot is no longer that claim's sending one");
  return true;
}

/**
 * {@link flushDigestRecord}'s work; DynamoDB errors are thrown. A throttled read or claim is
 * retried within the invocation (store/claim.ts `withStoreRetries`); an error after the claim
 * gives the digest's slot back (`failed`), so the flush's copy claims it at once instead of
 * waiting for a lease that only a crash should leave behind.
 */
async function flush(inv: Invocation, f: DigestFlush, log: Logger): Promise<boolean> {
  const { entries, calls } = await digestEntries(f.channel, f.windowStart, inv.deadline);
  if (entries.length === 0) {
    log.info("digest flush: nothing grouped in this window", { calls });
    return true;
  }
  const ref = digestRef(f);
  // The claim writes the digest's list: a record left `sending` (its mark failed for good) still
  // says what its digest has (fanout/grouped-copy.ts checks it).
  const built = (e: GroupedEntry[]) => {
    const digest = buildDigest(inv.config, f, e);
    return { digest, detail: digestDetail(digest, false) };
  };
  const read = built(entries);
  const retention = inv.config.auditRetentionDays;
  const lease = claimLease(inv);
  const claim = await claimDelivery(ref, lease, retention, Date.now(), inv.deadline, read.detail);
  if (!claim.claimed) {
    log.info("digest already handled", { status: claim.status });
    if (claim.status !== "sending") return true;
    // Another flush holds it now (a duplicate running at the same time): look again later, by a
    // delayed copy rather than SQS's visibility timeout (minutes), in case that one never ends.
    return requeueFlush(f, scaledMs(HELD_RECHECK_MS)).then(
      () => true,
      () => false,
    );
  }
  ref.claimId = claim.claimId;
  ref.unconfirmed = claim.unconfirmed;
  try {
    // Entries a copy took out since the read are left out (fanout/digest-kept.ts).
    const digest = await keptDigest(inv, ref, entries, claim.excluded, read, built, log);
    if (!digest) return true;
    return await sendClaimed(inv, f, ref, { unconfirmed: claim.unconfirmed, digest, calls }, log);
  } catch (err: unknown) {
    if (!(err as { released?: boolean }).released) {
      await markFailed(ref, `flush failed: ${describe(err)}`, false, markDeadline(inv)).catch(
        () => undefined,
      );
    }
    throw err;
  }
}

/** Paces, builds and sends the claimed digest of `f`, and records it. Store errors are thrown. */
async function sendClaimed(
  inv: Invocation,
  f: DigestFlush,
  ref: DeliveryRef,
  found: { unconfirmed: boolean; digest: Digest; calls: number },
  log: Logger,
): Promise<boolean> {
  const { digest, calls } = found;
  const channelConfig = inv.config.channels[f.channel];
  const pace = await paceDelivery(f.channel, channelConfig.type, inv.deadline);
  if (pace.kind === "defer") return release(inv, f, ref, pace.reason, pace.delayMs, log);
  if (pace.kind === "send" && pace.waitMs > 0) await new Promise((r) => setTimeout(r, pace.waitMs));
  const secrets = await inv.secrets();
  const driver = CHANNEL_DRIVERS[channelConfig.type];
  const ctx: ChannelContext = {
    name: f.channel,
    config: channelConfig,
    secret: secrets[f.channel] ?? {},
    deadline: inv.deadline,
    sns: snsPublisher(sns()),
    topicArn: inv.topics[f.channel],
    log,
  };
  let sent: DigestSent;
  // An attempt unanswered after its request went out: the digest may repeat it (deliver.ts).
  const seen = { arrived: false };
  try {
    sent = await sendDigestOrShort(driver, digest, ctx, seen, log);
  } catch (err: unknown) {
    const reason = redact(describe(err), Object.values(secrets[f.channel] ?? {}));
    const mayHaveArrived = seen.arrived || (isDeliveryError(err) && err.mayHaveArrived === true);
    if (isRateLimited(err)) {
      const delayMs = scaledMs(Math.max(err.retryAfterMs ?? 0, 1000));
      return release(inv, f, ref, reason, delayMs, log, mayHaveArrived);
    }
    const permanent = isDeliveryError(err) ? !err.retryable : false;
    emitDigestOutcome(f.channel, { status: "failed" }, { notificationId: ref.notificationId });
    await markFailed(ref, reason, permanent, markDeadline(inv), { mayHaveArrived });
    log.error("digest delivery failed", { channel: f.channel, permanent, error: reason });
    // A retryable failure is retried like any failed flush (flush-retry.ts), never by SQS's
    // redrive; a permanent one is dead-lettered with its reason at once, as a single
    // notification's would be (record.ts): no retry can fix it. The slot is released either way.
    throw Object.assign(new Error(reason), {
      name: "DigestDeliveryFailed",
      released: true,
      permanent,
    });
  }
  const { receipt, shortened } = sent;
  const ambiguous = found.unconfirmed || seen.arrived;
  emitDigestOutcome(
    f.channel,
    { status: "sent", ambiguous },
    { notificationId: ref.notificationId },
  );
  const detail = digestDetail(digest, shortened);
  const mark = { action: "sent" as const, receiptId: receipt.id, ambiguous, detail };
  await markSent(ref, mark, markDeadline(inv)).catch((err: unknown) => {
    // Sent, but the record still says `sending`, with no flush left to say otherwise (issue 12):
    // the flush's copy (flush-retry.ts) finishes the mark with this receipt, never sends again.
    log.error("bookkeeping after digest failed", { error: describe(err) });
    const receiptId = (receipt.id ?? "-").slice(0, MAX_RECEIPT_CHARS);
    const sent: DigestSentMark = { claimId: ref.claimId as string, receiptId, ambiguous };
    // The store's own error (its service says where, flush-retry.ts), told it was sent.
    const error = err instanceof Error ? err : new Error(describe(err));
    throw Object.assign(error, { released: true, sent: { ...sent, shortened } });
  });
  log.info("digest sent", {
    channel: f.channel,
    count: digest.count,
    shortened,
    queryCalls: calls,
  });
  return true;
}

/**
 * Gives the digest's slot back (saying so when an attempt may have arrived) and re-queues its
 * flush after `delayMs` (a rate limit).
 */
async function release(
  inv: Invocation,
  f: DigestFlush,
  ref: DeliveryRef,
  reason: string,
  delayMs: number,
  log: Logger,
  mayHaveArrived = false,
): Promise<boolean> {
  await markFailed(ref, `deferred: ${reason}`, false, markDeadline(inv), { mayHaveArrived });
  try {
    await requeueFlush(f, delayMs);
  } catch (err: unknown) {
    log.error("digest flush requeue failed: retried instead", { error: describe(err) });
    return false;
  }
  log.warn("digest deferred", { channel: f.channel, delayMs, reason });
  return true;
}

export { digestAsNotification } from "./digest-send";
