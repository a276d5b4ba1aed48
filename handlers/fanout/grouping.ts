/**
 * Grouping into digests (issue 11; Alertmanager's group_wait / group_interval idea, adapted):
 * per channel instance, fixed windows of `windowSeconds`; the first `maxIndividual` notifications
 * of a window are sent on their own (a lone failure goes at once), the rest of the window goes in
 * ONE digest sent at the window's end (fanout/digest-flush.ts). The decision is folded into the
 * channel's pacing call (store/pacing.ts `Allowance`), shared by every concurrent invocation: a
 * notification over the allowance costs no send slot and no extra DynamoDB call; its ledger slot
 * is marked `grouped` and indexed for the flush (store/digest.ts) in the write that would have
 * marked it sent — and once the container knows the window is spent (store/pacing.ts memo), a first attempt is claimed
 * and marked in that one write, with no claim before it (fanout/group-first.ts). The first grouped notification of a (channel, window) an invocation sees
 * queues a delayed digest-flush message (contracts/digest-flush.ts), unless an earlier invocation
 * of the same container did ({@link queueFlush}); duplicates are harmless.
 *
 * Defaults per channel type ({@link DEFAULT_GROUPING}): chat, webhook and email 3 messages per
 * 60 s window; SMS 1 text per 120 s window, then "N more — see <slack channel>"; PagerDuty never
 * (one open incident per pipeline already bounds its pages).
 */
import type { Logger } from "../channels/types";
import { digestFlushBody } from "../contracts/digest-flush";
import { DEFAULT_GROUPING } from "../contracts/grouping";
import { cut } from "../events/fields";
import { scaledMs, timeScale } from "../http";
import { markGrouped, type DigestSlot, type GroupedEntry } from "../store/digest";
import { excludeFromDigest } from "../store/digest-record";
import type { DeliveryRef } from "../store/ledger";
import type { Allowance } from "../store/pacing";
import type { GroupingRule, Notification, RuntimeConfig } from "../types";
import type { ChannelOutcome } from "./deliver";
import { digestRef } from "./digest-build";
import { describe, markDeadline, type Invocation } from "./invocation";
import type { Delivery } from "./plan";
import { requeue } from "./requeue";

export { DEFAULT_GROUPING };

/**
 * How long after a window's end its flush arrives, ms of AWS time: the `byExecution` index is
 * eventually consistent (DynamoDB developer guide, "Global secondary indexes": "changes to the
 * table data are propagated to the global secondary indexes within a fraction of a second"), and
 * a notification decided in the window's last milliseconds is marked just after it.
 */
export const FLUSH_GRACE_MS = 5000;

/** The grouping rule of `channel`; undefined when it is never grouped. */
export function groupingRule(config: RuntimeConfig, channel: string): GroupingRule | undefined {
  const type = config.channels[channel]?.type;
  if (type === undefined || type === "pagerduty") return undefined;
  if (config.grouping?.enabled === false) return undefined;
  const own = config.grouping?.channels[channel];
  if (own === false) return undefined;
  return own ?? DEFAULT_GROUPING[type];
}

/**
 * Kinds that are always sent on their own: each is about one approval someone acted on or must act
 * on (a request, its expiry, a rejection), never one of many alike in a storm.
 */
const NEVER_GROUPED: readonly string[] = ["approval-request", "approval-expired", "rejection"];

/**
 * Whether `n`'s delivery `d` may be grouped at all: never an approval's own message
 * ({@link NEVER_GROUPED}) or a PagerDuty resolve.
 */
export function groupable(n: Notification, d: Delivery): boolean {
  return !NEVER_GROUPED.includes(n.kind) && d.resolveDedupKey === undefined;
}

/** The allowance of `channel`'s current window (this clock), or undefined when never grouped. */
export function allowanceFor(
  config: RuntimeConfig,
  channel: string,
  now: number = Date.now(),
): Allowance | undefined {
  const rule = groupingRule(config, channel);
  if (!rule) return undefined;
  const windowMs = scaledMs(rule.windowSeconds * 1000);
  return { windowStart: Math.floor(now / windowMs) * windowMs, windowMs, max: rule.maxIndividual };
}

/** The digest of `channel` for the window of `a`. */
export function digestSlot(channel: string, a: Pick<Allowance, "windowStart">): DigestSlot {
  return { digestId: `digest/${channel}/${a.windowStart}`, channel, windowStart: a.windowStart };
}

/**
 * Where an SMS digest sends people for the list: the first Slack channel of a tier the SMS
 * channel is in (`Digest.seeChannel`); undefined when no such tier has one.
 */
export function seeChannelFor(config: RuntimeConfig, channel: string): string | undefined {
  for (const route of Object.values(config.routing)) {
    if (!route.channels.includes(channel)) continue;
    const slack = route.channels.find((c) => config.channels[c]?.type === "slack");
    if (slack) return slack;
  }
  return undefined;
}

/**
 * Characters (UTF-16 code units) of a notification's summary that its digest entry keeps: the
 * grouped ledger item stays small (README "Storms"), and every medium cuts it further to its own
 * limits.
 */
export const ENTRY_SUMMARY_CHARS = 200;

/**
 * What a digest shows of `n`. The summary is cut to {@link ENTRY_SUMMARY_CHARS} on a code point
 * boundary (never half of an emoji's surrogate pair: a lone surrogate is not text, and the
 * ledger and every receiver would get it).
 */
export function entryOf(n: Notification): GroupedEntry {
  return {
    notificationId: n.id,
    kind: n.kind,
    pipeline: n.pipeline,
    account: n.account,
    region: n.region,
    accountAlias: n.accountAlias,
    executionId: n.executionId,
    stage: n.stage,
    time: n.time,
    consoleUrl: n.consoleUrl,
    summary: n.summary === undefined ? undefined : cut(n.summary, ENTRY_SUMMARY_CHARS),
    severity: n.severity,
  };
}

/**
 * The digest flushes this warm container has queued and SQS accepted (issue 12: fewer calls), by
 * `<digest id>#<window ms>`, each until its due time (epoch ms, this clock), so that its later
 * invocations queue no second copy. Sound because an accepted message stays in the queue until a
 * receive that handled it deletes it, or it reaches the DLQ with its reason (SQS Developer Guide,
 * "Amazon SQS at-least-once delivery" and "Using dead-letter queues"), and ONE copy flushes the
 * window's whole list (the flush reads every entry marked before {@link flushCutoff}, whoever
 * queued it): a second copy from this container, due at the same time, only repeats the flush's
 * Query and its claim check. Other containers still queue their own (they cannot know of this
 * one's); a failed SendMessage is not remembered. A `const` object, not a Map (handlers/README.md,
 * serialization rules 2 and 3); bounded by the channels' open windows.
 */
const queuedFlushes: { byKey: Record<string, number> } = { byKey: {} };

/** Forgets the flushes this container queued (for tests that empty the queue between cases). */
export function forgetQueuedFlushes(): void {
  queuedFlushes.byKey = {};
}

/** Whether this container queued the flush `key` and it is not yet due; drops those that are. */
function flushQueued(key: string, now: number): boolean {
  for (const [k, due] of Object.entries(queuedFlushes.byKey)) {
    if (due <= now) delete queuedFlushes.byKey[k];
  }
  return queuedFlushes.byKey[key] !== undefined;
}

/**
 * Queues the flush of `slot`'s digest, delayed to the window's end plus {@link FLUSH_GRACE_MS},
 * once per invocation (the same promise for every grouped notification of the window), and not
 * at all when an earlier invocation of this container queued it ({@link queuedFlushes}). SQS
 * errors are thrown.
 */
export function queueFlush(inv: Invocation, slot: DigestSlot, windowMs: number): Promise<void> {
  const flushes = (inv.digestFlushes ??= {});
  const key = `${slot.digestId}#${windowMs}`;
  const dueAt = slot.windowStart + windowMs + scaledMs(FLUSH_GRACE_MS);
  if (flushes[slot.digestId] === undefined && flushQueued(key, Date.now())) {
    return (flushes[slot.digestId] = Promise.resolve());
  }
  const pending = (flushes[slot.digestId] ??= (async () => {
    await requeue({
      body: digestFlushBody({ channel: slot.channel, windowStart: slot.windowStart, windowMs }),
      // This clock's ms → AWS seconds (the local queue scales them back).
      delaySeconds: (Math.max(0, dueAt - Date.now()) * timeScale()) / 1000,
    });
    queuedFlushes.byKey[key] = dueAt;
  })());
  // A failed requeue is not remembered: the next grouped notification tries again.
  pending.catch(() => {
    if (flushes[slot.digestId] === pending) delete flushes[slot.digestId];
  });
  return pending;
}

/**
 * Writes a grouped mark of a delivery into `slot`'s digest with `entry`, starting no retry at or
 * after `cutoff` (epoch ms, this clock). Resolves false when it wrote nothing because the slot was
 * already taken (fanout/group-first.ts: a first attempt's one write found the slot claimed).
 */
export type GroupWrite = (
  slot: DigestSlot,
  entry: GroupedEntry,
  cutoff: number,
) => Promise<boolean>;

/**
 * What {@link groupDelivery} did: grouped, or an error (`taken`: the write found the slot taken;
 * `mayBeInDigest`: a grouped mark was started and may be applied, so a digest may list it,
 * and the release must say so).
 */
export type GroupResult =
  ChannelOutcome | { channel: string; error: string; taken?: true; mayBeInDigest?: true };

/**
 * Groups the delivery `ref` of `n` into its channel's digest of window `a`: queues the flush
 * (first, so that a grouped entry never lacks one), then writes the grouped mark with `write`
 * (default: store/digest.ts `markGrouped` of the slot this invocation claimed; fanout/group-first.ts
 * passes its one-write claim). When either fails the slot is left to the caller to release
 * (`failed`: the record is retried, and its copy decides again).
 */
export async function groupDelivery(
  inv: Invocation,
  n: Notification,
  ref: DeliveryRef,
  a: Allowance,
  log: Logger,
  write: GroupWrite = async (slot, entry, cutoff) => {
    await markGrouped(ref, slot, entry, Math.min(markDeadline(inv), cutoff));
    return true;
  },
): Promise<GroupResult> {
  const slot = digestSlot(ref.channel, a);
  const flushAt = flushCutoff(slot, a.windowMs);
  let marking = false;
  try {
    await queueFlush(inv, slot, a.windowMs);
    // Marked before the flush reads the window (its end + FLUSH_GRACE_MS), or not at all: a mark
    // retried past that (DynamoDB throttling) would land in a digest already sent and the entry
    // would never reach anyone. Too late, the slot is released and the record decided again.
    if (Date.now() >= flushAt) throw new Error(`window ${slot.digestId} is being flushed`);
    marking = true;
    if (!(await write(slot, entryOf(n), flushAt))) {
      return { channel: ref.channel, error: "slot already claimed", taken: true };
    }
    // Only the write's start is bounded by the cutoff: one SDK call under throttling can complete
    // after the flush read the window, and the entry would be in no digest. Completed late, it
    // moves to the current window's digest unless that digest lists it (issue 12), never lost.
    if (Date.now() >= flushAt) return await regroupLate(inv, n, ref, a, log);
  } catch (err: unknown) {
    const error = `grouping failed: ${describe(err)}`;
    // A mark started may be applied (its reply lost, then throttled until its deadline, or its
    // late move failed): the flush may read it grouped and send it before the release lands, even
    // when the mark failed before the cutoff (the release is one more call that can complete
    // late). Released, its copy's send may repeat that digest entry: recorded as a possible
    // duplicate (README "Exactly once"; red-team findings). A false flag costs only that record's
    // wording, and only when a started mark fails (rare); a missing one hides a duplicate.
    const listed = marking;
    return { channel: ref.channel, error, ...(listed && { mayBeInDigest: true as const }) };
  }
  log.info("delivery grouped", { channel: ref.channel, digestId: slot.digestId });
  return { channel: ref.channel, status: "grouped", reason: `grouped into ${slot.digestId}` };
}

/**
 * Moves the grouped delivery `ref` of `n`, whose mark into window `a` completed after that
 * window's flush may have read it, into the digest of the window now open, unless `a`'s digest
 * lists it (store/digest-record.ts `excludeFromDigest`: then it stays there; else every claim of
 * that digest leaves it out). It queues that flush, then
 * marks the slot again (its index key now names the new window) before that window's cutoff. A
 * mark late again moves on to the next window; at the invocation's deadline it throws, and the
 * caller releases the slot (`failed`: the record is retried). Store and SQS errors are thrown.
 */
async function regroupLate(
  inv: Invocation,
  n: Notification,
  ref: DeliveryRef,
  a: Allowance,
  log: Logger,
): Promise<ChannelOutcome> {
  const from = digestSlot(ref.channel, a).digestId;
  let maybe = false;
  for (let at = digestSlot(ref.channel, a); ;) {
    if (Date.now() >= inv.deadline) throw new Error(`late for ${from}, and the deadline came`);
    // Applied before that flush read it (a lost reply repeated): the digest has it. Else taken out
    // of it, so no claim of it sends it too (red-team finding: it was listed twice). "maybe" (an
    // attempt of that digest listing it may have arrived): the move says so, as grouped-copy.ts's
    // does (red team of dca8c63: the next digest's send was recorded clean).
    const has = await excludeFromDigest(digestRef(at), n.id, inv.deadline);
    if (has === "listed") {
      return { channel: ref.channel, status: "grouped", reason: `grouped into ${at.digestId}` };
    }
    maybe ||= has === "maybe";
    const now: Allowance = { ...a, windowStart: Math.floor(Date.now() / a.windowMs) * a.windowMs };
    const slot = digestSlot(ref.channel, now);
    const cutoff = flushCutoff(slot, a.windowMs);
    await queueFlush(inv, slot, a.windowMs);
    await markGrouped(ref, slot, entryOf(n), Math.min(markDeadline(inv), cutoff), undefined, maybe);
    if (Date.now() < cutoff) {
      log.warn("delivery grouped late: moved to a later digest", {
        channel: ref.channel,
        from,
        digestId: slot.digestId,
      });
      return { channel: ref.channel, status: "grouped", reason: `grouped into ${slot.digestId}` };
    }
    at = slot;
  }
}

/**
 * The last moment (this clock's epoch ms) a grouped mark may complete and still be read by its
 * window's flush: the window's end plus {@link FLUSH_GRACE_MS}, less 1 s for the index to catch
 * up (all AWS time, scaled).
 */
export function flushCutoff(slot: DigestSlot, windowMs: number): number {
  return slot.windowStart + windowMs + scaledMs(FLUSH_GRACE_MS) - scaledMs(1000);
}
