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
 * window in the attribute `g<window start ms>` (`ADD`, and `REMOVE` of the previous window's), under
 * `attribute_not_exists(g…) OR g… < :max`. A notification over the allowance is refused by the
 * same conditional UpdateItem without consuming a send slot: when both forms fail, the allowance
 * is spent (`tat` and the window's count only grow, so one of the two `tat` conditions held at
 * the second call unless the count was at its maximum) — two calls, no third.
 * A window attribute older than the previous one (a quiet gap) is removed by one more UpdateItem
 * when a reservation sees it (ALL_OLD), so the item stays bounded.
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { isConditionFailed } from "./claim";
import { paceKey } from "./keys";
import { tableName } from "./table";

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

/**
 * The individual messages a grouping window allows (issue 11): at most `max` reservations in
 * the window that starts at `windowStart` (epoch ms, this clock) and lasts `windowMs`.
 */
export interface Allowance {
  windowStart: number;
  windowMs: number;
  /** Individual messages per window, ≥ 1. */
  max: number;
}

/** The attribute that counts a window's individual messages: `g<window start ms>`. */
export function windowAttribute(windowStart: number): string {
  return `g${Math.round(windowStart)}`;
}

/** The allowance's parts of both forms' expressions (empty without one). */
function allowanceParts(a: Allowance | undefined) {
  if (!a) return { update: "", condition: "", names: undefined, values: {} };
  return {
    update: " ADD #cur :one REMOVE #prev",
    condition: " AND (attribute_not_exists(#cur) OR #cur < :max)",
    names: {
      "#cur": windowAttribute(a.windowStart),
      "#prev": windowAttribute(a.windowStart - a.windowMs),
    },
    values: { ":one": 1, ":max": Math.max(1, Math.floor(a.max)) },
  };
}

/** Window attributes of `item` older than the previous window of `a` (left by a quiet gap). */
function staleWindows(item: Record<string, unknown> | undefined, a: Allowance): string[] {
  const oldest = a.windowStart - a.windowMs;
  return Object.keys(item ?? {}).filter((k) => /^g\d+$/.test(k) && Number(k.slice(1)) < oldest);
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
 * Reserves the next send slot of `channel` under `bucket`; with `allowance`, only while the
 * grouping window's individual messages are not spent (else `grouped: true`, no slot taken).
 * DynamoDB errors are thrown (the delivery fails and the record is retried, like a failed claim).
 */
export async function reserveSlot(
  channel: string,
  bucket: PaceBucket,
  now: () => number = Date.now,
  allowance?: Allowance,
): Promise<PaceSlot> {
  const T = Math.max(1, Math.round(bucket.intervalMs));
  const tau = T * (Math.max(1, bucket.burst) - 1);
  const g = allowanceParts(allowance);
  let calls = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const t = now();
    const exp = Math.floor(t / 1000) + PACE_TTL_SECONDS;
    calls++;
    try {
      const out = await ddb().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: paceKey(channel),
          UpdateExpression: `SET tat = :next, expiresAt = :exp${g.update}`,
          ConditionExpression: `(attribute_not_exists(tat) OR tat <= :now)${g.condition}`,
          ...(g.names && { ExpressionAttributeNames: g.names, ReturnValues: "ALL_OLD" }),
          ExpressionAttributeValues: { ":next": t + T, ":now": t, ":exp": exp, ...g.values },
        }),
      );
      if (allowance) calls += await removeStale(channel, staleWindows(out.Attributes, allowance));
      return { at: t, calls };
    } catch (err: unknown) {
      if (!isConditionFailed(err)) throw err;
    }
    calls++;
    try {
      const out = await ddb().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: paceKey(channel),
          UpdateExpression: `SET tat = tat + :T, expiresAt = :exp${g.update}`,
          ConditionExpression: `tat > :now${g.condition}`,
          ...(g.names && { ExpressionAttributeNames: g.names }),
          ExpressionAttributeValues: { ":T": T, ":now": t, ":exp": exp, ...g.values },
          ReturnValues: "ALL_OLD",
        }),
      );
      // ALL_OLD: the `tat` before this update (the new one is T later).
      const tat = Number(out.Attributes?.tat) + T;
      if (allowance) calls += await removeStale(channel, staleWindows(out.Attributes, allowance));
      return { at: Math.max(t, tat - T - tau), calls };
    } catch (err: unknown) {
      if (!isConditionFailed(err)) throw err;
    }
    // Both conditions failed: with an allowance, it is spent (see the file's comment).
    if (allowance) return { at: t, calls, grouped: true };
  }
  throw new Error(`pacing of ${channel}: no slot after ${MAX_ROUNDS} contended rounds`);
}
