/**
 * Send pacing of one channel instance, shared by every concurrent invocation (issue 11): a GCRA
 * (generic cell rate algorithm — a token bucket kept as one number, the "theoretical arrival
 * time" `tat`) in the `PACE#<channel>` item (store/keys.ts `paceKey`).
 *
 * Reserving a send slot is ONE conditional UpdateItem when the guess is right, two otherwise:
 * - idle channel (`tat` absent or not after now): `SET tat = now + T` under
 *   `attribute_not_exists(tat) OR tat <= :now` → the slot is now;
 * - busy channel (`tat` after now): `SET tat = tat + T` under `tat > :now`, `ALL_OLD` →
 *   the slot is `max(now, tat_old − τ)` with τ = T·(burst − 1).
 * The idle form is tried first (one call in normal operation); when its condition fails the
 * busy form follows (two calls in a storm). DynamoDB evaluates each conditional update
 * atomically, so no two invocations ever get the same slot.
 *
 * Grouping (issue 11, fanout/grouping.ts) folds its decision into the same calls: with an
 * {@link Allowance}, both forms also count the individual messages of the current grouping
 * window in the string set `w<window start ms>` ({@link windowAttribute}: `ADD` of the
 * notification, and `REMOVE` of the previous window's), under `attribute_not_exists(w…) OR
 * size(w…) < :max OR contains(w…, :memberId)`. A notification over the allowance is refused by the
 * same conditional UpdateItem without consuming a send slot: when both forms fail, the allowance
 * is spent (`tat` and the window's count only grow, so one of the two `tat` conditions held at
 * the second call unless the count was at its maximum) — two calls, no third.
 * A window attribute older than the previous one (a quiet gap) is removed by one more UpdateItem
 * when a reservation sees it (ALL_OLD), so the item stays bounded.
 *
 * Fewer calls (issue 12; a refused conditional write is billed like any write): the fan-out's
 * reservations share what they learnt ({@link reserveSlot}'s `scope`), within an invocation and
 * across the invocations of a warm container (the memo's comment says why that holds) — the busy
 * form goes first when the `tat` last seen is still ahead (one call on a busy channel, not two),
 * and a window seen spent (refused, or filled by a reservation of this container, ALL_OLD's
 * count + 1 = max) groups the later notifications of that window with no call at all. Every
 * call asks DynamoDB for the item that refused it (`ReturnValuesOnConditionCheckFailure`): in AWS
 * a spent window is then known after one refused call, not two (locally too since the local
 * DynamoDB answers the parameter). Measured with `npx ts-node --transpile-only
 * scripts/cost-probe.ts --events 30` (the chaos bench's clean pass): 6.97 → 2.63 pacing calls
 * per 4-channel event, about 1.9 once the local DynamoDB returned the refusing item, 1.3 once the
 * memo outlived the invocation (store/pace-memo.ts): one per individual send, none per grouped one.
 * Group commit (store/pace-batch.ts `reserveSlots`, fanout/pace.ts `reserveInGroup`): the
 * reservations without an allowance that queue behind one in flight take their K slots in one
 * call. Measured the same way, alternating with the code before: 1.27 → 1.20 pacing calls per
 * event (PagerDuty's 1.00 → 0.90), because a channel's sends keep their pipeline's order
 * (fanout/order.ts) and the probe's events come from 2 pipelines: at most 2 PagerDuty
 * reservations of a batch overlap. A batch of 10 failures of 10 pipelines takes 1 or 2 calls
 * instead of 10 (tests/fanout/pacing-group-batch.test.ts).
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { ddb } from "../aws";
import { isConditionFailed } from "./claim";
import { paceKey } from "./keys";
import { holdsSpent, markSpent, memoOf } from "./pace-memo";
import {
  allowanceParts,
  fullAfter,
  staleWindows,
  windowSpent,
  type Allowance,
} from "./pace-window";
import { tableName } from "./table";

export { forgetPaceMemo, knownSpent } from "./pace-memo";
export { windowAttribute, type Allowance } from "./pace-window";

/** A channel's bucket in this clock's milliseconds (already scaled). */
export interface PaceBucket {
  /** Emission interval T: ms between two sends at the sustained rate. */
  intervalMs: number;
  /** Bucket size (sends back to back from idle), ≥ 1. */
  burst: number;
}

/** What a reservation returned. */
export interface PaceSlot {
  /** Epoch ms at which this send may go. */
  at: number;
  /** DynamoDB calls it took (1 or 2; 3+ only under contention). */
  calls: number;
  /** With an {@link Allowance}: the window's individual messages were spent; no slot taken. */
  grouped?: boolean;
}

/** Removes `names` from the pace item of `channel` (one UpdateItem); errors are ignored. */
async function removeStale(channel: string, names: string[]): Promise<number> {
  if (names.length === 0) return 0;
  const refs = Object.fromEntries(names.slice(0, 20).map((n, i) => [`#s${i}`, n]));
  await ddb()
    .send(
      new UpdateCommand({
        TableName: tableName(),
        Key: paceKey(channel),
        UpdateExpression: `REMOVE ${Object.keys(refs).join(", ")}`,
        ExpressionAttributeNames: refs,
      }),
    )
    .catch(() => undefined);
  return 1;
}

/** Seconds a pace item outlives its last use (TTL, `expiresAt`): a day. */
const PACE_TTL_SECONDS = 86_400;

/** Attempts of the idle/busy pair under contention before giving up (the error is thrown). */
const MAX_ROUNDS = 4;

/**
 * The item DynamoDB returns with a failed condition when asked
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, API reference, UpdateItem), unmarshalled;
 * undefined when none came (a stand-in that does not implement it, or no item yet).
 */
function itemOfFailure(err: unknown): Record<string, unknown> | undefined {
  const item = (err as { Item?: unknown }).Item;
  if (typeof item !== "object" || item === null) return undefined;
  return unmarshall(item as Parameters<typeof unmarshall>[0]);
}

/** The two forms of a reservation (see the file's comment). */
type Form = "idle" | "busy";

/** One form's outcome: the new `tat` and the item before; or the item that refused it, if known. */
type Attempt =
  | { ok: true; tat: number; old: Record<string, unknown> | undefined }
  | { ok: false; refusedBy: Record<string, unknown> | undefined };

/**
 * One conditional UpdateItem of `form` at time `t` reserving `k` slots (`tat` moves by `k`·T; `k`
 * is 1 with an allowance). DynamoDB errors other than the condition's are thrown.
 */
async function tryForm(
  form: Form,
  channel: string,
  T: number,
  t: number,
  allowance: Allowance | undefined,
  k: number,
): Promise<Attempt> {
  const g = allowanceParts(allowance);
  const exp = Math.floor(t / 1000) + PACE_TTL_SECONDS;
  const input =
    form === "idle"
      ? {
          UpdateExpression: `SET tat = :next, expiresAt = :exp${g.update}`,
          ConditionExpression: `(attribute_not_exists(tat) OR tat <= :now)${g.condition}`,
          ExpressionAttributeValues: { ":next": t + k * T, ":now": t, ":exp": exp, ...g.values },
        }
      : {
          UpdateExpression: `SET tat = tat + :T, expiresAt = :exp${g.update}`,
          ConditionExpression: `tat > :now${g.condition}`,
          ExpressionAttributeValues: { ":T": k * T, ":now": t, ":exp": exp, ...g.values },
        };
  try {
    const out = await ddb().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: paceKey(channel),
        ...input,
        ...(g.names && { ExpressionAttributeNames: g.names }),
        // The idle form needs the item before only to see the window's count and stale windows.
        ...((form === "busy" || allowance) && { ReturnValues: "ALL_OLD" as const }),
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    const old = out.Attributes;
    return { ok: true, tat: (form === "idle" ? t : Number(old?.tat)) + k * T, old };
  } catch (err: unknown) {
    if (!isConditionFailed(err)) throw err;
    return { ok: false, refusedBy: itemOfFailure(err) };
  }
}

/**
 * The `k` GCRA slots (epoch ms, in order) of one reservation at `t` that moved `tat` from `base`
 * by `k`·T (`base` = `t` for the idle form): the i-th (from 0) is max(t, base + i·T − τ), what
 * the i-th of `k` single reservations back to back at `t` gets (each single one's slot is
 * max(t, tat − τ) and moves `tat` by T; after an idle one, `tat` = t + T and the next is busy).
 */
function gcraSlots(base: number, t: number, k: number, T: number, tau: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.max(t, base + i * T - tau));
}

/**
 * Reserves the next send slot of `channel` under `bucket`; with `allowance`, only while the
 * grouping window's individual messages are not spent (else `grouped: true`, no slot taken).
 * With `scope` (the invocation's deadline, fanout/pace.ts) the reservation reads and feeds the
 * container's memo, shared by this invocation and the later ones of the warm container: the
 * form that fits the `tat` last seen is tried first (one call on a busy channel instead of two),
 * and a window seen spent, until it ends, groups with no call at all. Without a scope every
 * reservation starts from scratch (idle form first) and teaches nothing. DynamoDB errors are
 * thrown (the delivery fails and the record is retried, like a failed claim).
 */
export async function reserveSlot(
  channel: string,
  bucket: PaceBucket,
  now: () => number = Date.now,
  allowance?: Allowance,
  scope?: number,
): Promise<PaceSlot> {
  const r = await reserveRun(channel, bucket, now, allowance, scope, 1);
  return { at: r.at[0], calls: r.calls, ...(r.grouped && { grouped: true }) };
}

/**
 * {@link reserveSlot} for `k` slots (`k` is 1 with an allowance; store/pace-batch.ts
 * `reserveSlots` for more): the {@link gcraSlots} of one reservation (`[t]` when grouped).
 */
export async function reserveRun(
  channel: string,
  bucket: PaceBucket,
  now: () => number,
  allowance: Allowance | undefined,
  scope: number | undefined,
  k: number,
): Promise<{ at: number[]; calls: number; grouped?: boolean }> {
  const T = Math.max(1, Math.round(bucket.intervalMs));
  const tau = T * (Math.max(1, bucket.burst) - 1);
  const m = memoOf(channel, scope);
  if (allowance && holdsSpent(m, allowance, now())) return { at: [now()], calls: 0, grouped: true };
  let calls = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const t = now();
    // Idle then busy at the same `t` is the pair whose double refusal proves the allowance spent
    // (the file's comment); a busy guess that fails goes on with that pair.
    const forms: Form[] =
      m?.tat !== undefined && m.tat > t ? ["busy", "idle", "busy"] : ["idle", "busy"];
    for (const [i, form] of forms.entries()) {
      calls++;
      const r = await tryForm(form, channel, T, t, allowance, k);
      if (r.ok) {
        if (m) m.tat = r.tat;
        if (allowance) {
          if (fullAfter(r.old, allowance)) markSpent(m, allowance);
          calls += await removeStale(channel, staleWindows(r.old, allowance));
        }
        return { at: gcraSlots(r.tat - k * T, t, k, T, tau), calls };
      }
      // DynamoDB said why (AWS returns the item with the refusal): a spent window needs no more
      // calls, and a known `tat` picks the right form.
      if (allowance && windowSpent(r.refusedBy, allowance)) {
        markSpent(m, allowance);
        return { at: [t], calls, grouped: true };
      }
      if (m && r.refusedBy?.tat !== undefined) m.tat = Number(r.refusedBy.tat);
      if (i === forms.length - 1 && allowance) {
        // Both forms refused at the same `t`: the allowance is spent (see the file's comment).
        markSpent(m, allowance);
        return { at: [t], calls, grouped: true };
      }
    }
  }
  throw new Error(`pacing of ${channel}: no slot after ${MAX_ROUNDS} contended rounds`);
}
