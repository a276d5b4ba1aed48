/**
 * What a warm fan-out container learnt of each channel's pace item (store/pacing.ts, issue 12:
 * fewer DynamoDB calls), kept across its invocations: see {@link memo} for why that holds.
 */
import { allowanceMax } from "./pace-window";
import type { Allowance } from "./pacing";

/**
 * What this container learnt of each channel's pace item (issue 12: fewer calls), by channel,
 * kept across invocations while the container is warm: the `tat` its last reservation saw (so the
 * next one tries the form that fits first) and the last grouping window it saw spent, until that
 * window ends (so later notifications of the window are grouped with no pacing call, and take the
 * one-write path of fanout/group-first.ts).
 *
 * Sound across invocations because both only grow while they matter, whoever writes the item:
 * - `tat`: `SET tat = :next` only when `tat <= :now` (and `:next` > `:now`), or `tat + :T`; so a
 *   `tat` seen ahead of now is still ahead, and the busy form fits. It is only a guess of the
 *   form: DynamoDB checks the condition, a wrong guess (the item deleted: TTL, a day after its
 *   last use) costs one more call, never a wrong slot.
 * - a window's set `w<start>`: only `ADD` of a member while the window lasts. Nothing gives a count
 *   back: a refused reservation changes nothing, a grouped, released, deferred or failed delivery
 *   never decrements it (a deferred copy carries its slot, fanout/pace.ts, and reserves nothing),
 *   and the `REMOVE` of a window's attribute is done only by reservations of a LATER window (the
 *   next one's `#prev`, or store/pacing.ts `staleWindows`), i.e. once it has ended; the item's TTL is a day
 *   after its last reservation, and a window lasts at most 600 s (contracts/grouping.ts
 *   `MAX_WINDOW_SECONDS`). So a window seen spent stays spent until it ends: the memo is dropped
 *   at the window's end (this clock) and keyed by its start and allowance (`<start>#<max>`: a
 *   changed `maxIndividual` is another key). Erring here (another container's clock a little
 *   ahead starting the next window early) only ever groups: the notification still reaches the
 *   channel in the window's digest.
 *
 * One entry per channel instance (bounded by the config). Tests that delete pace items between
 * invocations (tests/support/fanout.ts `forgetPacing`) call {@link forgetPaceMemo}: deleting the
 * item is the one thing that breaks the rule above. A `const` object, not a Map (handlers/README.md,
 * serialization rules 2 and 3).
 */
const memo: { byChannel: Record<string, ChannelMemo> } = { byChannel: {} };

export interface ChannelMemo {
  tat?: number;
  /** `<window start>#<max>` of a grouping window seen spent, and when it ends (epoch ms). */
  spent?: { key: string; until: number };
}

/** Forgets what this container learnt of every pace item (for tests that delete them). */
export function forgetPaceMemo(): void {
  memo.byChannel = {};
}

/** The memo of `channel` when `scope` is given (a fan-out invocation's reservation). */
export function memoOf(channel: string, scope: number | undefined): ChannelMemo | undefined {
  if (scope === undefined) return undefined;
  return (memo.byChannel[channel] ??= {});
}

function spentKey(a: Allowance): string {
  return `${Math.round(a.windowStart)}#${allowanceMax(a)}`;
}

/** Whether `m` holds the window of `a` as spent at `now` (epoch ms, this clock). */
export function holdsSpent(m: ChannelMemo | undefined, a: Allowance, now: number): boolean {
  return m?.spent?.key === spentKey(a) && now < m.spent.until;
}

/** Records the window of `a` as spent in `m`. */
export function markSpent(m: ChannelMemo | undefined, a: Allowance): void {
  if (m) m.spent = { key: spentKey(a), until: a.windowStart + a.windowMs };
}

/**
 * Whether this container already saw the grouping window of `allowance` spent on `channel` (in
 * this invocation or an earlier one: see the memo's comment): a reservation now would be refused
 * with no call ({@link reserveSlot}), so the delivery is grouped without one
 * (fanout/group-first.ts). Reads the memo only; `now`: epoch ms.
 */
export function knownSpent(
  channel: string,
  allowance: Allowance,
  now: number = Date.now(),
): boolean {
  return holdsSpent(memo.byChannel[channel], allowance, now);
}
