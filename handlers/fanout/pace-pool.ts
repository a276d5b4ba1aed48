/**
 * One invocation's pool of send slots (issue 12, fewer pacing calls): when a channel's group call
 * is made (fanout/pace.ts `reserveInGroup`), it also reserves the slots of the channel's later
 * deliveries that the invocation's batch still expects to pace without a grouping allowance, and
 * hands them out, earliest first, to those deliveries without another call. Why: a pipeline's
 * deliveries on a channel go one after another (fanout/order.ts), so 10 PagerDuty failures of 2
 * pipelines queued behind each other made about 9 group calls of 1 or 2 slots each.
 *
 * The expected count comes from the batch's plan (fanout/pace-plan.ts `expectedPacing`). Erring is safe either
 * way: a slot reserved for a delivery that never asks (collapsed into an earlier failure,
 * deduplicated, dropped by the enrichment, deferred) is one send slot nobody uses — the channel's
 * throughput is a little lower for everyone else, never a burst; one not reserved (a PagerDuty
 * resolve found later, a retry or digest flush the plan did not count) costs one more call.
 *
 * Keyed by the invocation's deadline (`scope`, as store/pace-memo.ts): the handler opens a new
 * pool for each invocation ({@link openPacePool}), so a later invocation of the warm container
 * never takes an earlier one's slots. Plain objects in a `const` (handlers/README.md rules 1–3).
 */
/** The spare slots of one group-call queue (`<channel>#<T ms>#<burst>`), under one clock. */
interface Spare {
  now: () => number;
  /** Epoch ms of `now`'s clock, ascending, each handed out at most once. */
  at: number[];
}

/** One invocation's pool. */
export interface PacePool {
  /** The invocation's deadline (epoch ms): the `scope` of its reservations. */
  scope: number;
  /** Deliveries per channel the batch's plan expects to pace without an allowance. */
  expected: Record<string, number>;
  /** Requests made so far per channel (served from the pool or by a call). */
  made: Record<string, number>;
  /** Slots reserved ahead and not handed out yet, by queue key. */
  spare: Record<string, Spare>;
}

/** This container's pools, by scope: the current invocation's (earlier ones are dropped). */
const pools: { byScope: Record<string, PacePool> } = { byScope: {} };

/**
 * Opens the pool of the invocation whose deadline is `scope` (epoch ms), expecting
 * `expected[channel]` reservations without an allowance (a count ≥ 0 per channel). Replaces any
 * pool of the same scope and drops every pool of an invocation whose deadline has passed.
 */
export function openPacePool(scope: number, expected: Record<string, number>): PacePool {
  const t = Date.now();
  for (const [key, p] of Object.entries(pools.byScope)) if (p.scope <= t) delete pools.byScope[key];
  return (pools.byScope[String(scope)] = { scope, expected: { ...expected }, made: {}, spare: {} });
}

/** The pool of the invocation with deadline `scope`, if one was opened. */
export function poolOf(scope: number): PacePool | undefined {
  return pools.byScope[String(scope)];
}

/** Counts one request of `channel` on `pool` (served from it or by a call). */
export function countRequest(pool: PacePool | undefined, channel: string): void {
  if (pool) pool.made[channel] = (pool.made[channel] ?? 0) + 1;
}

/**
 * The earliest spare slot of `key` that is not past by more than half the emission interval
 * `intervalMs` at `now()` (settleGroup's rule for a late reply: a slot sent that late would fall
 * on the channel's next slots), removed from the pool; the slots past by more are dropped
 * (given up: the receiver's bucket is only fuller). Undefined when none is left for `now`'s clock.
 */
export function takeSpare(
  pool: PacePool | undefined,
  key: string,
  now: () => number,
  intervalMs: number,
): number | undefined {
  const spare = pool?.spare[key];
  if (!spare || spare.now !== now) return undefined;
  const t = now();
  while (spare.at.length > 0 && spare.at[0] < t - intervalMs / 2) spare.at.shift();
  return spare.at.shift();
}

/**
 * How many more slots of `channel` a group call of `pool` should reserve beyond its waiting
 * requests: the plan's expected count less the requests made so far and the spare slots still
 * usable at `now()` (under `key` and `now`'s clock). 0 without a pool.
 */
export function spareWanted(
  pool: PacePool | undefined,
  channel: string,
  key: string,
  now: () => number,
  intervalMs: number,
): number {
  if (!pool) return 0;
  const t = now();
  const spare = pool.spare[key];
  const usable = spare?.now === now ? spare.at.filter((at) => at >= t - intervalMs / 2).length : 0;
  return Math.max(0, (pool.expected[channel] ?? 0) - (pool.made[channel] ?? 0) - usable);
}

/**
 * Whether slots a group call of `waiting` requests at `t` (epoch ms) reserves beyond them would
 * be usable for at least one emission interval T after the call: the first of them, by the GCRA
 * (store/pace-batch.ts: the i-th slot is max(t, base + i·T − τ), base = max(t, `tat`), τ =
 * T·(burst − 1)), falls at least T/2 after `t`. False while the channel's burst is not spent:
 * there the spare slots are burst slots at `t`, given up once past by T/2 ({@link takeSpare}) —
 * a pipeline's next turn (claim, send, mark) usually comes later, so each was a slot taken from
 * the bucket for no send (red team of the pool: a receiver answering in 300 ms, 10 failures of
 * one pipeline on an idle PagerDuty channel reserved 18 slots for 10 sends, the channel's `tat`
 * left 8 slots further ahead, its later pages sent T apart instead of in the burst).
 * `tatSeen`: the `tat` this container last saw (store/pace-memo.ts), never after the item's but
 * for a deleted item (TTL: a day unused), so the guess errs towards reserving none (one more call).
 */
export function sparesLast(
  bucket: { intervalMs: number; burst: number },
  waiting: number,
  tatSeen: number | undefined,
  t: number,
): boolean {
  const T = bucket.intervalMs;
  const tau = T * (Math.max(1, bucket.burst) - 1);
  return Math.max(t, tatSeen ?? t) + waiting * T - tau >= t + T / 2;
}

/** Adds `at` (epoch ms of `now`'s clock, ascending, after any spare) to `pool`'s spare of `key`. */
export function addSpare(pool: PacePool, key: string, now: () => number, at: number[]): void {
  if (at.length === 0) return;
  const spare = pool.spare[key];
  if (spare?.now === now) spare.at.push(...at);
  else pool.spare[key] = { now, at: [...at] };
}
