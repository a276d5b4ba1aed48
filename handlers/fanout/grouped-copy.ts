/**
 * A copy of a record that finds its delivery's slot `grouped` into a digest whose window's flush
 * is past (issue 12, red-team finding: a loss). A grouped mark can land after its window's flush
 * read the index (one SDK call under throttling completes late); its move to a later window
 * (fanout/grouping.ts `regroupLate`) and its release can then both fail, DynamoDB refusing until
 * the Lambda stops. The slot stays `grouped` in a window already read: in no digest, and every
 * copy of the record was deduplicated ("already grouped"), so the notification never went out.
 *
 * Such a copy takes its entry out of the digest's own record unless that lists it
 * (fanout/digest-build.ts `digestRef`; store/digest-record.ts `excludeFromDigest`: one
 * conditional UpdateItem, not a read — the fan-out's role has no GetItem on `DELIVERY#` items,
 * and a read could fall between the flush's read of its window and its claim, which then sent
 * the entry too; every claim after the exclusion leaves it out, fanout/digest-kept.ts; only on
 * a copy that finds a grouped slot whose window's flush time is past: a redelivery, rare). The
 * flush's claim writes the digest's list (`detail.notifications`) before it sends, so the
 * record says what the digest has even while `sending` ({@link digestHas}):
 * - listed by a `sent` or `sending` digest: deduplicated (a `sending` one went out and its mark
 *   is being finished — fanout/digest-flush.ts `finishSent` — or its flush's copy sends it);
 * - not in it: the flush read the window before the mark, or has not claimed it yet (late, or
 *   retrying), or read it empty (no record: the two cannot be told apart, and only the second
 *   loses the entry if left), or its digest never went out (`failed`, `abandoned` with no attempt
 *   that may have arrived: its retry reads the index again, where the entry no longer is);
 * - maybe in it: a list cut at 10,000 ids that does not name it, a record written before claims
 *   carried the list, or a `failed` / `abandoned` digest listing it whose attempt may have
 *   arrived.
 * Otherwise than listed, it moves the entry into the digest of the window now open
 * (store/digest.ts `moveGrouped`, conditional on the slot still grouped into that digest; that
 * window's flush is queued first, as `regroupLate` does) and reports it grouped. Moving is never
 * a loss; "maybe" moves say so on the slot (`mayBeInDigest`): a second listing is counted as a
 * possible duplicate, never as a clean send (scripts/lib/chaos-tally.ts).
 *
 * A channel no longer grouped (its grouping turned off by a config change and a redeploy between
 * the grouped mark and the copy) has no window to move into, and its window's length is unknown:
 * the copy checks the digest's record whatever the time, deduplicates when it lists the entry,
 * and otherwise gives the slot back (store/digest.ts `releaseGrouped`, saying `mayBeInDigest`
 * for a maybe) and claims it again to send it on its own ({@link ungroup}); a flush still to
 * come no longer finds it.
 */
import type { Logger } from "../channels/types";
import { scaledMs } from "../http";
import { moveGrouped, releaseGrouped } from "../store/digest";
import { excludeFromDigest } from "../store/digest-record";
import { claimDelivery, type DeliveryClaim, type DeliveryRef } from "../store/ledger";
import type { Notification } from "../types";
import type { ChannelOutcome, DeliveryBase } from "./deliver";
import { digestRef } from "./digest-build";
import {
  allowanceFor,
  digestSlot,
  entryOf,
  FLUSH_GRACE_MS,
  flushCutoff,
  queueFlush,
} from "./grouping";
import { auditQuietly, claimLease, describe, markDeadline, type Invocation } from "./invocation";

export { digestHas } from "../store/digest-record";

/** A claim that took the slot. */
type Claimed = Extract<DeliveryClaim, { claimed: true }>;

/**
 * Settles `n`'s delivery `ref` whose claim was `refused`: a slot grouped into a digest
 * whose flush is past may be moved ({@link regroupUnlisted}); one grouped while its channel is no
 * longer grouped may be given back and claimed again ({@link ungroup}: the claim is returned, for
 * the caller to send); otherwise the copy is deduplicated (`abandoned` when the slot was given up
 * for good), with a `deduplicated` audit record. Never throws.
 */
export async function settleRefused(
  inv: Invocation,
  n: Notification,
  ref: DeliveryRef,
  refused: Extract<DeliveryClaim, { claimed: false }>,
  base: DeliveryBase,
  log: Logger,
): Promise<ChannelOutcome | Claimed> {
  let claim = refused;
  if (claim.status === "grouped" && !allowanceFor(inv.config, ref.channel)) {
    const again = await ungroup(inv, n, ref, claim, log);
    if (again && ("channel" in again || again.claimed)) return again;
    claim = again ?? claim;
  }
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
 * sent or is sending listing `n`, the channel is no longer grouped, or the slot left that digest
 * meanwhile); else the outcome: `grouped` (moved into the open window's digest) or `failed` (a
 * read or write failed, or the deadline came: the slot stays as it was, and the record is
 * retried). Never throws.
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
    // Taken out of that digest unless it lists it (a write, not a read: store/digest-record.ts).
    const ofDigest = digestRef({ channel: ref.channel, windowStart: from });
    const has = await excludeFromDigest(ofDigest, n.id, inv.deadline);
    if (has === "listed") return undefined;
    let at = digestId as string;
    let maybe = has === "maybe";
    for (;;) {
      if (Date.now() >= inv.deadline) throw new Error(`the deadline came moving it from ${at}`);
      const now = { windowStart: Math.floor(Date.now() / a.windowMs) * a.windowMs };
      const slot = digestSlot(ref.channel, now);
      const cutoff = flushCutoff(slot, a.windowMs);
      await queueFlush(inv, slot, a.windowMs);
      const deadline = Math.min(markDeadline(inv), cutoff);
      if (!(await moveGrouped(ref, at, slot, entryOf(n), deadline, maybe))) return undefined;
      const grouped = { channel: ref.channel, status: "grouped" as const };
      if (Date.now() < cutoff) {
        log.warn("grouped entry in no digest: moved", {
          channel: ref.channel,
          from: digestId,
          digestId: slot.digestId,
        });
        return { ...grouped, reason: `grouped into ${slot.digestId}` };
      }
      // Completed past that window's cutoff too (throttling): its flush may have read it already
      // (red-team finding: moved on, it went out twice). Taken out of that digest unless listed,
      // then on to the next one.
      const there = await excludeFromDigest(digestRef(slot), n.id, inv.deadline);
      if (there === "listed") return { ...grouped, reason: `grouped into ${slot.digestId}` };
      maybe ||= there === "maybe";
      at = slot.digestId;
    }
  } catch (err: unknown) {
    const reason = `grouped into ${digestId}, past its flush, not moved: ${describe(err)}`;
    log.error("delivery failed", { channel: ref.channel, permanent: false, error: reason });
    return { channel: ref.channel, status: "failed", reason };
  }
}

/**
 * For a copy whose claim was refused by `n`'s delivery `ref` grouped into `digestId` while its
 * channel is no longer grouped: undefined when the copy is deduplicated (that digest, sent or
 * sending, lists `n`; or `digestId` is not one of the channel's), else the slot is given back
 * ({@link digestHas} `maybe`: saying a digest may list it) and claimed again: the claim, or its
 * refusal (a concurrent copy took it), or `failed` (a read or write failed: the record is
 * retried). Never throws.
 */
async function ungroup(
  inv: Invocation,
  n: Notification,
  ref: DeliveryRef,
  { digestId }: { digestId?: string },
  log: Logger,
): Promise<ChannelOutcome | DeliveryClaim | undefined> {
  const from = windowOf(digestId, ref.channel);
  if (from === undefined) return undefined;
  try {
    const ofDigest = digestRef({ channel: ref.channel, windowStart: from });
    const has = await excludeFromDigest(ofDigest, n.id, inv.deadline);
    if (has === "listed") return undefined;
    const why = `grouped into ${digestId}, its channel no longer grouped: sent on its own`;
    // False: moved or released meanwhile, or this write applied unanswered: the claim decides.
    await releaseGrouped(ref, digestId as string, why, has === "maybe", markDeadline(inv));
    const retention = inv.config.auditRetentionDays;
    const claim = await claimDelivery(ref, claimLease(inv), retention, Date.now(), inv.deadline);
    if (claim.claimed)
      log.warn("grouped entry sent on its own", { channel: ref.channel, digestId });
    return claim;
  } catch (err: unknown) {
    const reason = `grouped into ${digestId}, channel no longer grouped, not released: ${describe(err)}`;
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
