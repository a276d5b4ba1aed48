/**
 * A copy of a record that finds its delivery's slot `grouped` into a digest whose window's flush
 * is past (issue 12, red-team finding: a loss). A grouped mark can land after its window's flush
 * read the index (one SDK call under throttling completes late); its move to a later window
 * (fanout/grouping.ts `regroupLate`) and its release can then both fail, DynamoDB refusing until
 * the Lambda stops. The slot stays `grouped` in a window already read: in no digest, and every
 * copy of the record was deduplicated ("already grouped"), so the notification never went out.
 *
 * Such a copy reads the digest's own record (fanout/digest-flush.ts `digestRef`; one strongly
 * consistent GetItem, only on a copy that finds a grouped slot whose window's flush time is past:
 * a redelivery, rare) and deduplicates only when that digest was sent and lists the notification.
 * Otherwise it moves the entry into the digest of the window now open (store/digest.ts
 * `moveGrouped`, conditional on the slot still grouped into that digest; that window's flush is
 * queued first, as `regroupLate` does) and reports it grouped. Moving is never a loss, and at
 * worst lists the entry twice:
 * - sent, not listed: the flush read the window before the mark. Its `detail.notifications` is cut
 *   at 200 ids (fanout/digest-flush.ts): past that, an entry not listed may still be in it (moved:
 *   a possible duplicate digest entry);
 * - no record: the flush has not claimed it yet (late, or retrying) — or it ran and read the
 *   window empty, which writes no record: the two cannot be told apart, and only the second loses
 *   the entry if left. Moved, a pending flush no longer finds it under its window (an index read
 *   still stale may list it in both);
 * - claimed (`sending`, `failed`, `abandoned`): a flush that read the window before the mark
 *   cannot be told from one that read it after, and a sending digest's record may never say.
 */
import type { Logger } from "../channels/types";
import { scaledMs } from "../http";
import { digestRecord, moveGrouped } from "../store/digest";
import type { DeliveryClaim, DeliveryRef } from "../store/ledger";
import type { Notification } from "../types";
import type { ChannelOutcome, DeliveryBase } from "./deliver";
import { digestRef } from "./digest-flush";
import {
  allowanceFor,
  digestSlot,
  entryOf,
  FLUSH_GRACE_MS,
  flushCutoff,
  queueFlush,
} from "./grouping";
import { auditQuietly, describe, markDeadline, type Invocation } from "./invocation";

/**
 * Settles `n`'s delivery `ref` whose claim was refused (`claim`): a slot grouped into a digest
 * whose flush is past may be moved ({@link regroupUnlisted}); otherwise the copy is deduplicated
 * (`abandoned` when the slot was given up for good), with a `deduplicated` audit record. Never
 * throws.
 */
export async function settleRefused(
  inv: Invocation,
  n: Notification,
  ref: DeliveryRef,
  claim: Extract<DeliveryClaim, { claimed: false }>,
  base: DeliveryBase,
  log: Logger,
): Promise<ChannelOutcome> {
  const moved = claim.status === "grouped" && (await regroupUnlisted(inv, n, ref, claim, log));
  if (moved) return moved;
  const status = claim.status === "abandoned" ? "abandoned" : "deduplicated";
  const result =
    claim.status === "sent" ? `already sent at ${claim.sentAt}` : `already ${claim.status}`;
  await auditQuietly(inv, { ...base, action: "deduplicated", result }, log);
  return { channel: ref.channel, status };
}

/**
 * For a copy whose claim was refused by `n`'s delivery `ref` grouped into `digestId`: undefined
 * when the copy is deduplicated as before (the window's flush is not past yet, that digest was
 * sent listing `n`, the channel is no longer grouped, or the slot left that digest meanwhile);
 * else the outcome: `grouped` (moved into the open window's digest) or `failed` (a read or write
 * failed, or the deadline came: the slot stays as it was, and the record is retried). Never
 * throws.
 */
async function regroupUnlisted(
  inv: Invocation,
  n: Notification,
  ref: DeliveryRef,
  { digestId }: { digestId?: string },
  log: Logger,
): Promise<ChannelOutcome | undefined> {
  const a = allowanceFor(inv.config, ref.channel);
  const from = windowOf(digestId, ref.channel);
  if (!a || from === undefined || Date.now() < from + a.windowMs + scaledMs(FLUSH_GRACE_MS)) {
    return undefined;
  }
  try {
    const sent = await digestRecord(
      digestRef({ channel: ref.channel, windowStart: from }),
      inv.deadline,
    );
    if (sent?.status === "sent" && sent.notifications?.includes(n.id)) return undefined;
    let at = digestId as string;
    for (;;) {
      if (Date.now() >= inv.deadline) throw new Error(`the deadline came moving it from ${at}`);
      const now = { windowStart: Math.floor(Date.now() / a.windowMs) * a.windowMs };
      const slot = digestSlot(ref.channel, now);
      const cutoff = flushCutoff(slot, a.windowMs);
      await queueFlush(inv, slot, a.windowMs);
      const deadline = Math.min(markDeadline(inv), cutoff);
      if (!(await moveGrouped(ref, at, slot, entryOf(n), deadline))) return undefined;
      // Completed past that window's cutoff too (throttling): on to the next one.
      if (Date.now() < cutoff) {
        log.warn("grouped entry in no digest: moved", {
          channel: ref.channel,
          from: digestId,
          digestId: slot.digestId,
        });
        return { channel: ref.channel, status: "grouped", reason: `grouped into ${slot.digestId}` };
      }
      at = slot.digestId;
    }
  } catch (err: unknown) {
    const reason = `grouped into ${digestId}, past its flush, not moved: ${describe(err)}`;
    log.error("delivery failed", { channel: ref.channel, permanent: false, error: reason });
    return { channel: ref.channel, status: "failed", reason };
  }
}

/** The window start (epoch ms) of `channel`'s digest `digestId`; undefined when not one. */
function windowOf(digestId: string | undefined, channel: string): number | undefined {
  const prefix = digestSlot(channel, { windowStart: 0 }).digestId.slice(0, -1);
  if (!digestId?.startsWith(prefix)) return undefined;
  const start = Number(digestId.slice(prefix.length));
  return Number.isFinite(start) ? start : undefined;
}
