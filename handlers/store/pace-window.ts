/**
 * A grouping window's individual messages in a channel's pace item (store/pacing.ts, issue 11):
 * the {@link Allowance} a reservation checks, and the parts of its conditional UpdateItem.
 */
import { randomBytes } from "node:crypto";

/**
 * The individual messages a grouping window allows (issue 11): at most `max` reservations in
 * the window that starts at `windowStart` (epoch ms, this clock) and lasts `windowMs`.
 */
export interface Allowance {
  windowStart: number;
  windowMs: number;
  /** Individual messages per window, ≥ 1. */
  max: number;
  /**
   * Who spends the window's message (fanout/deliver.ts `paceOrRelease`: the notification's id):
   * counted once however often its reservation is repeated. Default: one of its own per call.
   */
  member?: string;
}

/**
 * The attribute that holds a window's individual messages: `w<window start ms>`, a string set of
 * their {@link Allowance.member}s, so that a reservation repeated after a lost reply (DynamoDB
 * applied it; the SDK timed out and sent it again) counts once. The count it replaces, `g<start>`
 * (`ADD :one`), counted such a repeat twice: one notification spent two of Slack's 3 messages.
 */
export function windowAttribute(windowStart: number): string {
  return `w${Math.round(windowStart)}`;
}

/** The allowance's parts of both forms' expressions (empty without one). */
export function allowanceParts(a: Allowance | undefined) {
  if (!a) return { update: "", condition: "", names: undefined, values: {} };
  const member = memberOf(a);
  return {
    update: " ADD #cur :member REMOVE #prev",
    // A member already in the set is its own repeat: it passes, and ADD leaves the set as it is.
    condition:
      " AND (attribute_not_exists(#cur) OR size(#cur) < :max OR contains(#cur, :memberId))",
    names: {
      "#cur": windowAttribute(a.windowStart),
      "#prev": windowAttribute(a.windowStart - a.windowMs),
    },
    values: {
      ":member": new Set([member]),
      ":memberId": member,
      ":max": allowanceMax(a),
    },
  };
}

/** The allowance's member, or one of this call's own (12 random base64url characters). */
function memberOf(a: Allowance): string {
  return a.member ?? randomBytes(9).toString("base64url");
}

/**
 * Window attributes of `item` older than the previous window of `a` (left by a quiet gap), and
 * every count of the format before the sets (`g<start>`).
 */
export function staleWindows(item: Record<string, unknown> | undefined, a: Allowance): string[] {
  const oldest = a.windowStart - a.windowMs;
  return Object.keys(item ?? {}).filter(
    (k) => /^g\d+$/.test(k) || (/^w\d+$/.test(k) && Number(k.slice(1)) < oldest),
  );
}

/** The individual messages the window of `a` allows: `max`, whole, at least 1. */
export function allowanceMax(a: Allowance): number {
  return Math.max(1, Math.floor(a.max));
}

/** The members of the window of `a` in `item` (an empty set when it has none). */
function membersOf(item: Record<string, unknown> | undefined, a: Allowance): Set<unknown> {
  const set = item?.[windowAttribute(a.windowStart)];
  return set instanceof Set ? set : new Set();
}

/**
 * Whether the window of `a` is spent for `a` in `item` (the item that refused a reservation):
 * full, without `a`'s member in it. A member in it was counted by an earlier try of the same
 * reservation whose reply was lost (the condition lets its repeat pass).
 */
export function windowSpent(item: Record<string, unknown> | undefined, a: Allowance): boolean {
  const members = membersOf(item, a);
  return !(a.member !== undefined && members.has(a.member)) && members.size >= allowanceMax(a);
}

/**
 * Whether the window of `a` is full after a reservation that counted, `item` being the one
 * before it: the window now holds `a`'s member too (spent for whoever comes next).
 */
export function fullAfter(item: Record<string, unknown> | undefined, a: Allowance): boolean {
  const members = membersOf(item, a);
  const added = a.member !== undefined && members.has(a.member) ? 0 : 1;
  return members.size + added >= allowanceMax(a);
}
