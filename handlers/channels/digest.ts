/**
 * What every medium's digest shares (issue 11 grouping): the title sentence ("37 pipelines failed
 * in the last 2 minutes"), the entries' time order, and where an entry's pipeline lives; grouping
 * the entries by pipeline and cutting the list to what a medium can show ("and N more pipelines")
 * is digest-groups.ts. The media's own
 * formatters (slack-format.ts, teams.ts, discord.ts, email.ts, sms.ts, webhook.ts) escape the
 * text that did not come from us, as their single-notification formatters do: everything here is
 * raw text.
 */
import { isHome } from "../contracts/pipeline-id";
import type { ChannelConfig, ChannelType, Digest, DigestEntry, NotificationKind } from "../types";
import type { ChannelContext } from "./types";

/** What a group of notifications of one kind did, after "N pipelines" (plural) / "1 pipeline". */
const KIND_VERBS: Record<NotificationKind, [plural: string, singular: string]> = {
  failure: ["failed", "failed"],
  success: ["succeeded", "succeeded"],
  rejection: ["were rejected", "was rejected"],
  "approval-request": ["need approval", "needs approval"],
  "approval-expired": ["had an approval expire", "had an approval expire"],
  superseded: ["were superseded", "was superseded"],
  canceled: ["were canceled", "was canceled"],
  stopped: ["were stopped", "was stopped"],
  status: ["changed state", "changed state"],
};

/** "1 pipeline" / "37 pipelines". */
export function countWords(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * The length of the digest's window in words: "45 seconds", "2 minutes", "3 hours"; with
 * `short`, "45 s", "2 min", "3 h" (SMS). Rounded to the nearest unit, at least 1.
 */
export function windowWords(d: Pick<Digest, "windowStart" | "windowEnd">, short = false): string {
  const ms = Date.parse(d.windowEnd) - Date.parse(d.windowStart);
  const s = Number.isFinite(ms) ? Math.max(1, Math.round(ms / 1000)) : 1;
  if (s < 90) return short ? `${s} s` : countWords(s, "second");
  const min = Math.round(s / 60);
  if (min < 120) return short ? `${min} min` : countWords(min, "minute");
  const h = Math.round(min / 60);
  return short ? `${h} h` : countWords(h, "hour");
}

/**
 * The digest's window for people: "2026-11-30 12:00:00–12:02:00 UTC", or with both dates when it
 * spans midnight ("2026-11-30 23:59:00 UTC – 2026-12-01 00:01:00 UTC"): the same clock as a
 * digest line's times (digest-groups.ts `utcClock`), never raw ISO. A bound that is not a time is
 * shown as it is.
 */
export function windowSpan(d: Pick<Digest, "windowStart" | "windowEnd">): string {
  const [from, to] = [d.windowStart, d.windowEnd].map((iso) => {
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
  });
  if (!from || !to) return `${d.windowStart} – ${d.windowEnd}`;
  const day = (iso: string) => iso.slice(0, 10);
  const clock = (iso: string) => iso.slice(11, 19);
  return day(from) === day(to)
    ? `${day(from)} ${clock(from)}–${clock(to)} UTC`
    : `${day(from)} ${clock(from)} UTC – ${day(to)} ${clock(to)} UTC`;
}

/** The one kind of all entries, or undefined when they are mixed (or there are none). */
export function commonKind(d: Digest): NotificationKind | undefined {
  const kinds = new Set(d.entries.map((e) => e.kind));
  return kinds.size === 1 ? d.entries[0].kind : undefined;
}

/**
 * What happened, without the time: "37 pipelines failed" (one notification per pipeline),
 * "40 failures in 37 pipelines", "12 notifications for 9 pipelines" (mixed kinds). `more`
 * inserts "more" after the number (SMS: the first one was texted on its own).
 */
export function digestWhat(d: Digest, more = false): string {
  const kind = commonKind(d);
  const m = more ? " more" : "";
  if (kind !== undefined && d.count === d.pipelines) {
    const [plural, singular] = KIND_VERBS[kind];
    return `${d.count}${m} ${d.count === 1 ? "pipeline" : "pipelines"} ${d.count === 1 ? singular : plural}`;
  }
  const what = kind === "failure" ? "failure" : "notification";
  const joiner = kind === "failure" ? "in" : "for";
  return `${countWords(d.count, what).replace(/^(\d+)/, `$1${m}`)} ${joiner} ${countWords(d.pipelines, "pipeline")}`;
}

/** The digest's title sentence: "37 pipelines failed in the last 2 minutes". */
export function digestTitle(d: Digest): string {
  return `${digestWhat(d)} in the last ${windowWords(d)}`;
}

/**
 * The entries in the order every medium shows them: oldest first (by `time`), ties by pipeline
 * name and then notification id, so the same digest always renders the same. A new array.
 */
export function sortedEntries(d: Digest): DigestEntry[] {
  return [...d.entries].sort(
    (a, b) =>
      (Date.parse(a.time) || 0) - (Date.parse(b.time) || 0) ||
      a.pipeline.localeCompare(b.pipeline) ||
      a.notificationId.localeCompare(b.notificationId),
  );
}

/**
 * Where the entry's pipeline lives when that is not the notifier's own account and region
 * (contracts/pipeline-id.ts `isHome`), or with `always`: "payments-prod, eu-west-1" (the alias,
 * else the account id), else undefined.
 */
export function entryWhere(e: DigestEntry, always = false): string | undefined {
  if (!always && isHome({ account: e.account, region: e.region })) return undefined;
  return `${e.accountAlias || e.account}, ${e.region}`;
}

/** The highest severity's digest colour class, shared words for Teams and Discord. */
export function isUrgent(d: Digest): boolean {
  return d.severity === "critical" || d.severity === "error";
}

/** Logs that a digest was cut to fit its medium (never the text) and says whether it was. */
export function reportDigestCut(
  ctx: ChannelContext<ChannelConfig>,
  type: ChannelType,
  d: Digest,
  fields: string[],
): boolean {
  if (fields.length === 0) return false;
  ctx.log.warn(`${type} ${ctx.name}: digest cut to fit the channel's limits`, {
    channel: ctx.name,
    type,
    digestId: d.id,
    count: d.count,
    fields,
  });
  return true;
}
