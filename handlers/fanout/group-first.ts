/**
 * A grouped first attempt in ONE DynamoDB write (issue 12, cost). A delivery claims its ledger slot
 * (1 write unit) because a send is an outside effect between the claim and the mark: the claim's
 * lease keeps a concurrent copy from sending too. A notification grouped into a digest has no
 * such effect: writing its grouped entry IS the effect. So when the container already knows the
 * channel's grouping window is spent (store/pacing.ts `knownSpent`, learnt by this invocation or
 * an earlier one of the warm container: no pacing call is needed),
 * the claim and the grouped mark are one conditional write (store/digest.ts `claimGrouped`,
 * `attribute_not_exists(pk)`: 1 call, 2 write units, instead of 2 calls and 3 units).
 *
 * What stays as before: the write waits for the enrichment's verdict (a digest entry says what
 * the message says: fanout/gate.ts); the flush is queued first and the cutoff rules hold
 * (fanout/grouping.ts `groupDelivery`, `regroupLate`); nothing is claimed at or past the
 * deadline. Only a slot no attempt has touched is written: a retry, a duplicate event or a
 * concurrent invocation finds the slot there and takes the usual path (fanout/deliver.ts:
 * claim, pace, send or group), where the claim deduplicates or claims as before; a slot already
 * final (grouped, sent, abandoned) is deduplicated from the item the refusal returned, with no
 * second call. A write applied whose reply was lost is recognized by its `claimId`; one that
 * failed (or whose regrouping failed) is released like a claimed slot (`markFailed` under the
 * same `claimId`: a write never applied is left alone), and the record is retried.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "../channels/types";
import { claimGrouped } from "../store/digest";
import type { DeliveryClaim, DeliveryRef } from "../store/ledger";
import { markFailed } from "../store/marks";
import { knownSpent } from "../store/pacing";
import type { Notification } from "../types";
import type { ChannelOutcome } from "./deliver";
import { verdictOf, type SendGate } from "./gate";
import { allowanceFor, groupable, groupDelivery } from "./grouping";
import { markDeadline, type Invocation } from "./invocation";
import type { Delivery } from "./plan";

/** Statuses of a slot that no claim takes again (store/ledger.ts `claimDelivery`'s condition). */
const FINAL: readonly string[] = ["grouped", "sent", "abandoned"];

/**
 * Groups the first attempt of `n`'s delivery `d` (ledger slot `ref`, not yet claimed) with one
 * write when the channel's window is known spent. Resolves:
 * - undefined: not for this path (not groupable, the window not known spent, or the slot exists
 *   and is not final) — the caller claims as usual;
 * - a refused {@link DeliveryClaim}: the slot is already final (the caller deduplicates);
 * - a {@link ChannelOutcome}: `grouped`; `released` (the verdict was not to send: nothing was
 *   written); `failed` (the deadline came, or the write failed: the record is retried).
 * DynamoDB errors of a release are thrown (the record is retried).
 */
export async function groupFirst(
  inv: Invocation,
  n: Notification,
  d: Delivery,
  ref: DeliveryRef,
  gate: SendGate,
  log: Logger,
): Promise<ChannelOutcome | DeliveryClaim | undefined> {
  if (!groupable(n, d) || !spentNow(inv, d.channel)) return undefined;
  const verdict = await verdictOf(gate);
  if (!verdict.send) {
    const reason = `released unsent: ${verdict.reason}`;
    log.info("delivery released", { channel: d.channel, reason });
    return { channel: d.channel, status: "released", reason };
  }
  // The window of the write, known spent still (the verdict may have taken past its end).
  const allowance = spentNow(inv, d.channel);
  if (!allowance) return undefined;
  if (Date.now() >= inv.deadline) {
    const reason = "deadline reached before claiming: left to the next receive";
    log.warn("delivery deferred", { channel: d.channel, reason });
    return { channel: d.channel, status: "failed", reason };
  }
  const mine = { ...ref, claimId: randomUUID() };
  const taken: { existing?: Record<string, unknown> } = {};
  const grouped = await groupDelivery(inv, n, mine, allowance, log, async (slot, entry, cutoff) => {
    const retention = inv.config.auditRetentionDays;
    const deadline = Math.min(inv.deadline, cutoff);
    const r = await claimGrouped(mine, slot, entry, retention, deadline);
    if (!r.grouped) taken.existing = r.existing;
    return r.grouped;
  });
  if ("status" in grouped) return grouped;
  if (grouped.taken) return refusedBy(taken.existing);
  // The write may have been applied (a lost reply), or its late regrouping failed: the slot, if
  // this write made it, is given back (`failed`), and the record's copy decides again.
  const { mayBeInDigest } = grouped;
  await markFailed(mine, grouped.error, false, markDeadline(inv), { mayBeInDigest });
  log.error("delivery failed", { channel: d.channel, permanent: false, error: grouped.error });
  return { channel: d.channel, status: "failed", reason: grouped.error };
}

/** The allowance of `channel`'s window now, when this container saw it spent; else undefined. */
function spentNow(inv: Invocation, channel: string) {
  const allowance = allowanceFor(inv.config, channel);
  return allowance && knownSpent(channel, allowance) ? allowance : undefined;
}

/** The refusal `existing` stands for when it is final; undefined (claim as usual) otherwise. */
function refusedBy(existing: Record<string, unknown> | undefined): DeliveryClaim | undefined {
  const status = String(existing?.status);
  if (!FINAL.includes(status)) return undefined;
  return {
    claimed: false,
    status: status as "grouped" | "sent" | "abandoned",
    sentAt: existing?.sentAt as string | undefined,
    digestId: existing?.digestId as string | undefined,
  };
}
