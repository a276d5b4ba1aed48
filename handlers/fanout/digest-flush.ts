/**
 * The flush of one channel's digest (issue 11 grouping): when a digest-flush message arrives
 * (contracts/digest-flush.ts, queued by fanout/grouping.ts for the window's end plus a few
 * seconds), the window's grouped entries are read with a Query of the index
 * (store/digest-window.ts), the `Digest` is built (count, distinct pipelines, entries oldest first,
 * highest severity, window bounds, for SMS the Slack channel to see), and sent exactly once through
 * its own ledger slot (`digest/<window start>` on the channel: a duplicated flush, or two
 * invocations flushing at once, find it claimed or sent), paced like any send (it may take a send
 * slot even when the channel is backlogged: the digest is what keeps the backlog short). A channel
 * driver without `sendDigest` gets the digest as one plain-text notification, so nothing is lost
 * (digest-send.ts, which also sends a digest refused for its size once more, shortened). A digest
 * refused for good is dead-lettered with its reason, never dropped. The claim writes the digest's
 * list, so a record left `sending` says what it has; a digest sent whose `sent` mark failed for
 * good comes back as a copy of its flush that finishes the mark with the receipt, never a second
 * send. A flush for a channel no longer in the stack config sends nothing; its digest's record says
 * dropped, why, and which entries (store/digest-drop.ts). A flush queued for a shorter window than
 * the config's now, of the same start, waits for the longer window's end ({@link lengthened}).
 */
import type { SQSRecord } from "aws-lambda";
import type { Logger } from "../channels/types";
import { parseDigestFlush, type DigestFlush, type DigestSentMark } from "../contracts/digest-flush";
import { scaledMs } from "../http";
import type { GroupedEntry } from "../store/digest";
import { dropDigest } from "../store/digest-drop";
import { digestEntries } from "../store/digest-window";
import { finishDigestSent } from "../store/digest-record";
import { claimDelivery } from "../store/ledger";
import { markFailed } from "../store/marks";
import { buildDigest, digestDetail, digestRef } from "./digest-build";
import { requeueFlush, sendClaimed } from "./digest-claimed";
import { keptDigest } from "./digest-kept";
import { claimLease, describe, markDeadline, type Invocation } from "./invocation";
import { deadLetterRefused, retryLater } from "./flush-retry";
import { allowanceFor, FLUSH_GRACE_MS } from "./grouping";

/**
 * When a flush finds the digest's slot held by another flush, it looks again this much later (ms
 * of AWS time): by then the other has sent it (the copy is deduplicated) or its lease has run out
 * (the copy claims and sends it).
 */
export const HELD_RECHECK_MS = 30_000;

/**
 * Handles one digest-flush record. Resolves true when the record is done (sent, shortened after
 * a size refusal, already sent, nothing to send, dropped for a channel no longer in the stack
 * config and recorded so ({@link dropFlush}), re-queued to wait for the channel's rate limit
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
  if (!f) {
    // Unreachable from handler.ts, which routes only bodies this parses (isDigestFlush).
    log.warn("digest flush message malformed: dropped");
    return true;
  }
  try {
    // Finishing a sent mark sends nothing: it is finished whatever the config says now.
    if (f.sent) return await finishSent(inv, f, f.sent, log);
    return await (inv.config.channels[f.channel] ? flush(inv, f, log) : dropFlush(inv, f, log));
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
 * Drops the flush `f` of a channel no longer in the stack config (a redeploy between its
 * entries' grouping and the flush): nothing is sent to it, and the digest's record says so, with
 * the reason and its entries' ids (store/digest-drop.ts `dropDigest`); the entries' records,
 * `grouped` into it, lead there. Resolves true (also when nothing was grouped, or the record was
 * settled already); DynamoDB errors are thrown (flush-retry.ts puts it back, bounded).
 */
async function dropFlush(inv: Invocation, f: DigestFlush, log: Logger): Promise<boolean> {
  const { entries, calls } = await digestEntries(f.channel, f.windowStart, inv.deadline);
  if (entries.length === 0) {
    log.info("digest flush for a channel no longer configured: nothing grouped", { calls });
    return true;
  }
  const reason = `dropped: channel ${f.channel} is no longer in the stack config`;
  const detail = digestDetail(buildDigest(inv.config, f, entries), false);
  const retention = inv.config.auditRetentionDays;
  const ref = digestRef(f);
  if (await dropDigest(ref, detail, reason, retention, markDeadline(inv))) {
    log.warn("digest dropped: its channel is no longer in the stack config", {
      channel: f.channel,
      count: entries.length,
    });
  } else log.info("digest already handled: not dropped", { channel: f.channel });
  return true;
}

/**
 * `f` as the window of the same start the config now has, when that window is longer than `f`'s
 * and has not reached its flush time yet (a redeploy lengthened the channel's `windowSeconds`
 * after `f` was queued); else undefined. The digest's slot and index key are the window's start
 * alone, and the fan-out now marks notifications into it until the longer window's cutoff: sent
 * at `f`'s time, those marked later would find its digest sent and be in none (red team of the
 * flush memo, issue 12).
 */
function lengthened(inv: Invocation, f: DigestFlush): DigestFlush | undefined {
  const a = allowanceFor(inv.config, f.channel, f.windowStart);
  if (!a || a.windowStart !== f.windowStart || a.windowMs <= f.windowMs) return undefined;
  const due = a.windowStart + a.windowMs + scaledMs(FLUSH_GRACE_MS);
  return Date.now() < due ? { ...f, windowMs: a.windowMs } : undefined;
}

/**
 * {@link flushDigestRecord}'s work; DynamoDB errors are thrown. A throttled read or claim is
 * retried within the invocation (store/claim.ts `withStoreRetries`); an error after the claim
 * gives the digest's slot back (`failed`), so the flush's copy claims it at once instead of
 * waiting for a lease that only a crash should leave behind.
 */
async function flush(inv: Invocation, f: DigestFlush, log: Logger): Promise<boolean> {
  const longer = lengthened(inv, f);
  if (longer) {
    log.info("digest flush: the window is longer now; waiting for its end", {
      windowMs: longer.windowMs,
    });
    await requeueFlush(
      longer,
      longer.windowStart + longer.windowMs + scaledMs(FLUSH_GRACE_MS) - Date.now(),
    );
    return true;
  }
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

export { digestAsNotification } from "./digest-send";
