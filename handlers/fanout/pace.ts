/**
 * When one delivery may go (issue 11): each channel instance is paced at its type's documented
 * rate (contracts/rate-limits.ts) through a slot reserved in the table (store/pacing.ts), shared
 * by every concurrent invocation. A slot that leaves time for the call before the invocation's
 * deadline is waited for here; a later one defers the record (record.ts requeues it to the slot,
 * and the copy carries the slot so it does not reserve again).
 */
import { RATE_LIMITS, emissionIntervalMs } from "../contracts/rate-limits";
import { receiverTimeoutMs, scaledMs } from "../http";
import { writeWithRetries } from "../store/marks";
import { reserveSlots } from "../store/pace-batch";
import { reserveSlot, type Allowance, type PaceBucket, type PaceSlot } from "../store/pacing";
import type { ChannelType } from "../types";

/** The message attribute that carries slots reserved for a deferred copy: JSON channel → ms. */
export const PACED_ATTRIBUTE = "paced";

/** Send now after `waitMs`, or defer the record by `delayMs` (the slot is `slotAt`). */
export type PaceDecision =
  | { kind: "send"; waitMs: number }
  | { kind: "group"; allowance: Allowance }
  | { kind: "defer"; delayMs: number; slotAt: number; reason: string };

/**
 * The burst the fan-out paces with: one token under the receiver's, so that a send that leaves
 * late (network, a busy CPU) never finds the receiver's bucket empty when the next one arrives on
 * time (a token bucket refills nothing while it is full: a late request costs the next one).
 */
export function pacedBurst(receiverBurst: number): number {
  return Math.max(1, receiverBurst - 1);
}

/** A reserved slot still counts when the copy arrives at most this late (AWS ms, scaled). */
const RESERVED_SLOT_GRACE_MS = 60_000;

/**
 * Decides when `channel` (of `type`) may send: at once when its slot has come; after waiting
 * when the slot leaves one call's timeout before `deadline` (epoch ms); else deferred. `reserved`: the slot a deferred copy carries (not reserved again while still near).
 * `allowance`: the grouping window's individual messages (fanout/grouping.ts); over it, `group`
 * (no send slot taken; a copy's reserved slot was already allowed). Without one the slot is
 * reserved together with the channel's other requests of the moment: {@link reserveInGroup}.
 * DynamoDB errors are thrown once retrying them no longer fits before `deadline` (throttling is
 * retried, a denial is not).
 */
export async function paceDelivery(
  channel: string,
  type: ChannelType,
  deadline: number,
  reserved?: number,
  now: () => number = Date.now,
  allowance?: Allowance,
): Promise<PaceDecision> {
  const latest = deadline - receiverTimeoutMs();
  const t = now();
  let at: number;
  if (reserved !== undefined && reserved >= t - scaledMs(RESERVED_SLOT_GRACE_MS)) {
    at = reserved;
  } else {
    const limit = RATE_LIMITS[type];
    const bucket = {
      intervalMs: scaledMs(emissionIntervalMs(limit)),
      burst: pacedBurst(limit.burst),
    };
    // A pacing call throttled past the SDK's own retries is tried again until the deadline, like
    // the ledger's marks (store/ledger.ts `writeWithRetries`; issue 12: DynamoDB throttling alone
    // never fails a delivery). A throttled request is not applied; a repeat after a lost reply
    // spends one more slot or window count than needed: a later send, never a second one. A
    // group's failed call fails each of its requests, and each one's retry joins a new group.
    const got: Partial<Pick<PaceSlot, "at" | "grouped">> = {};
    await writeWithRetries(async () => {
      // One invocation's reservations learn from each other (store/pacing.ts): its deadline.
      const slot = allowance
        ? await reserveSlot(channel, bucket, now, allowance, deadline)
        : { at: await reserveInGroup(channel, bucket, now, deadline) };
      Object.assign(got, slot);
    }, deadline);
    if (got.grouped && allowance) return { kind: "group", allowance };
    at = got.at as number;
  }
  // A slot that has come goes now (the driver's call is capped at the deadline, as before issue
  // 11); a later one is waited for only when the call still fits before the deadline.
  const waitMs = Math.max(0, at - now());
  if (waitMs === 0 || at <= latest) return { kind: "send", waitMs };
  return {
    kind: "defer",
    delayMs: Math.max(0, at - now()),
    slotAt: at,
    reason: `paced: ${channel}'s next send slot is after this invocation's deadline`,
  };
}

/** The slots a record's copy carries (`paced` attribute), by channel; {} when none or garbled. */
export function reservedSlots(attribute: string | undefined): Record<string, number> {
  if (!attribute) return {};
  try {
    const parsed = JSON.parse(attribute) as unknown;
    if (!parsed || typeof parsed !== "object") return {};
    return Object.fromEntries(
      Object.entries(parsed as Record<string, unknown>).filter(
        (e): e is [string, number] => typeof e[1] === "number" && Number.isFinite(e[1]),
      ),
    );
  } catch {
    return {};
  }
}

/** A reservation waiting for its channel's next group call ({@link reserveInGroup}). */
interface Waiter {
  now: () => number;
  /** The requesting invocation's deadline (store/pacing.ts `reserveSlot`'s `scope`). */
  scope: number;
  resolve: (at: number) => void;
  reject: (err: unknown) => void;
  /** Its slot was given up once after a late reply ({@link settleGroup}). */
  again?: boolean;
}

/** One channel's reservations under one bucket: a group call under way, and who waits for one. */
interface GroupQueue {
  running: boolean;
  waiting: Waiter[];
}

/**
 * This container's reservation queues, by channel and bucket (`<channel>#<T ms>#<burst>`; one
 * per channel instance, bounded by the config). A `const` object, not a Map (handlers/README.md,
 * serialization rules 2 and 3).
 */
const queues: { byKey: Record<string, GroupQueue> } = { byKey: {} };

/**
 * Reserves one send slot of `channel` under `bucket` (no grouping allowance), by group commit
 * (issue 12, fewer calls): requests made in the same tick, or while a reservation of the channel
 * is in flight, wait and are served together by ONE conditional UpdateItem when it returns
 * (store/pace-batch.ts `reserveSlots`: K slots that are exactly those of K single reservations
 * in request order; a batch's 10 PagerDuty failures of 10 pipelines cost 1 or 2 calls, not 10;
 * those of one pipeline reach the channel one after another, fanout/order.ts). Resolves with the
 * slot (epoch ms of `now`'s clock; requests of another clock are grouped apart); after a late
 * reply, a slot already past is reserved again ({@link settleGroup}). `scope`: the
 * invocation's deadline (the container's memo, store/pace-memo.ts). A failed call (throttling,
 * any DynamoDB error) rejects every request of its group with that error: no slot is handed out,
 * and each request's own retry (`paceDelivery`) joins a new group.
 */
export function reserveInGroup(
  channel: string,
  bucket: PaceBucket,
  now: () => number,
  scope: number,
): Promise<number> {
  const key = `${channel}#${bucket.intervalMs}#${bucket.burst}`;
  const q = (queues.byKey[key] ??= { running: false, waiting: [] });
  return new Promise<number>((resolve, reject) => {
    q.waiting.push({ now, scope, resolve, reject });
    if (q.running) return;
    q.running = true;
    // The first request lets the rest of this tick join it (a batch's records at one moment).
    setImmediate(() => void runGroups(channel, bucket, q));
  });
}

/** Serves `q`'s waiting requests, one group call at a time, until none waits. Never throws. */
async function runGroups(channel: string, bucket: PaceBucket, q: GroupQueue): Promise<void> {
  while (q.waiting.length > 0) {
    const clock = q.waiting[0].now;
    const group = q.waiting.filter((w) => w.now === clock);
    q.waiting = q.waiting.filter((w) => w.now !== clock);
    try {
      const started = clock();
      const { at } = await reserveSlots(channel, bucket, group.length, clock, group[0].scope);
      q.waiting.unshift(...settleGroup(group, at, started, clock(), bucket.intervalMs));
    } catch (err: unknown) {
      for (const w of group) w.reject(err);
    }
  }
  q.running = false;
}

/**
 * Hands the slots `at` (epoch ms, reckoned from the call's start `started`) to `group`, whose
 * call answered at `replied`, and returns the requests to reserve again, oldest first. A slot
 * still ahead, or past by less than half the emission interval `intervalMs` (an on-time reply),
 * is handed out as the GCRA placed it. A slot past by more (a late reply: the SDK repeating a
 * request after its 5 s timeout, handlers/aws.ts; throttling backoff) is given up and its request
 * reserves again, after every slot handed out so far: sent at the reply, the late group's past
 * slots went out at once (7 Slack messages after a reply 5 s late; 2cace35), and moved by the
 * lateness they fell on the slots the channel's next reservations get from the bucket, which
 * never saw the move (red team of issue 12: 5 of 15 Slack messages refused with 429,
 * tests/fanout/pacing-group-overlap.test.ts). A given-up slot only leaves the receiver's bucket
 * fuller. A request late twice takes its slot moved by the lateness (2cace35's rule), so that
 * calls that are always late do not reserve forever.
 */
function settleGroup(
  group: Waiter[],
  at: number[],
  started: number,
  replied: number,
  intervalMs: number,
): Waiter[] {
  const late = Math.max(0, replied - started);
  const again: Waiter[] = [];
  group.forEach((w, i) => {
    if (at[i] >= replied - intervalMs / 2) w.resolve(at[i]);
    else if (w.again) w.resolve(at[i] + late);
    else again.push(Object.assign(w, { again: true }));
  });
  return again;
}
