/**
 * Group commit of send-slot reservations (issue 12, fewer DynamoDB calls): `k` slots of one
 * channel in ONE conditional UpdateItem of its pace item (store/pacing.ts), for the fan-out's
 * reservations that queue behind one in flight (fanout/pace.ts `reserveInGroup`).
 */
import { reserveRun, type PaceBucket } from "./pacing";

/** What {@link reserveSlots} returned. */
export interface PaceSlots {
  /**
   * The `k` slots, epoch ms, in request order: `k` distinct reservations (the first ones of a
   * burst share the same time, as `k` single reservations' would).
   */
  at: number[];
  /** DynamoDB calls it took (1 or 2; 3+ only under contention). */
  calls: number;
}

/**
 * Reserves `k` (an integer ≥ 1) send slots of `channel` under `bucket` in ONE conditional
 * UpdateItem (two when the first form guessed wrong; the forms, the memo of `scope` and the
 * contention rounds are store/pacing.ts `reserveSlot`'s): `SET tat = :now + k·T` under the idle
 * form's condition, or `SET tat = tat + k·T` under the busy form's. The i-th slot (from 0) is
 * max(t, tat_before + i·T − τ) (busy) or max(t, t + i·T − τ) (idle), t the call's time and τ =
 * T·(burst − 1): exactly what `k` single reservations back to back at `t` would get.
 *
 * Why that is safe (GCRA): DynamoDB applies a conditional update atomically, so no other
 * reservation falls between the `k`; the GCRA here never refuses, it only hands out later slots,
 * so moving `tat` by k·T at once is moving it by T `k` times; and the burst (τ) is applied to
 * each slot as it would be to a single reservation, none earlier. No allowance: a grouping window
 * counts individual messages one reservation at a time (`reserveSlot`).
 *
 * Errors: a `k` that is not an integer ≥ 1 (the message names it); DynamoDB's, thrown as
 * `reserveSlot` throws them. A throttled request is not applied (no slot of the group is taken);
 * a call whose reply was lost may have taken all `k`: a retry gets later slots, never one of them.
 */
export async function reserveSlots(
  channel: string,
  bucket: PaceBucket,
  k: number,
  now: () => number = Date.now,
  scope?: number,
): Promise<PaceSlots> {
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`pacing of ${channel}: slot count ${k}: expected an integer ≥ 1`);
  }
  const r = await reserveRun(channel, bucket, now, undefined, scope, k);
  return { at: r.at, calls: r.calls };
}
