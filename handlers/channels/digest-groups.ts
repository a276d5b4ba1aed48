/**
 * A digest's entries grouped by pipeline (issue 11 grouping, the storm finding): every medium
 * lists each pipeline once, with how many notifications of it the digest stands for ("svc-02 ×3"),
 * linked to its latest execution, most important and most recent first; and when a medium's size
 * limit forces a cut, per-execution detail (the error summary, the other executions' links) goes
 * before any pipeline does, and "and N more pipelines" counts pipelines. One function groups and
 * one fits, for every medium (slack-digest.ts, teams-digest.ts, discord-digest.ts, email.ts,
 * sms.ts; webhook.ts adds the groups as a summary beside every entry). Raw text: each medium
 * escapes it.
 */
import type { Digest, DigestEntry, NotificationKind } from "../types";
import { entryWhere } from "./digest";
import { shortId } from "./lifecycle";

/**
 * One pipeline's notifications in a digest: a pipeline is its account, region and name, as the
 * digest's `pipelines` count (fanout/digest-build.ts).
 */
export interface DigestGroup {
  /** The pipeline's entries, latest first (by `time`, then notification id). */
  entries: DigestEntry[];
  /** `entries[0]`: the one the group's line links to, with its stage, time and summary. */
  latest: DigestEntry;
  /** One entry per execution, the latest of each, latest first (`executions[0]` is `latest`). */
  executions: DigestEntry[];
  /**
   * Where the pipeline lives, as its line says it ("payments-prod, eu-west-1", digest.ts
   * `entryWhere`): when not home, and also when home if another group of the digest has the same
   * name (one name in two accounts or regions: each line says which it is); else undefined.
   */
  where: string | undefined;
}

/**
 * Which kinds come first: the latest notification's kind says the pipeline's state now, so a
 * pipeline still failing comes before one that failed and has since succeeded.
 */
const KIND_ORDER: NotificationKind[] = [
  "failure",
  "rejection",
  "approval-expired",
  "stopped",
  "canceled",
  "superseded",
  "approval-request",
  "status",
  "success",
];

/** A kind in a mixed group's count: "2 failed, 1 succeeded". */
const KIND_SHORT: Record<NotificationKind, string> = {
  failure: "failed",
  success: "succeeded",
  rejection: "rejected",
  "approval-request": "awaiting approval",
  "approval-expired": "approval expired",
  superseded: "superseded",
  canceled: "canceled",
  stopped: "stopped",
  status: "changed state",
};

const timeOf = (e: DigestEntry) => Date.parse(e.time) || 0;
const latestFirst = (a: DigestEntry, b: DigestEntry) =>
  timeOf(b) - timeOf(a) || a.notificationId.localeCompare(b.notificationId);

/**
 * The digest's entries, one group per pipeline (account, region, name), in the order every medium
 * shows them: by the latest notification's kind (failures first, successes last, `KIND_ORDER`),
 * then the most recent latest notification first, then pipeline name, account and region, so
 * the same digest always renders the same.
 */
export function digestGroups(d: Digest): DigestGroup[] {
  const byKey: Record<string, DigestEntry[]> = {};
  for (const e of d.entries) (byKey[`${e.account}/${e.region}/${e.pipeline}`] ??= []).push(e);
  const groups = Object.values(byKey).map((list): DigestGroup => {
    const entries = [...list].sort(latestFirst);
    const seen: Record<string, true> = {};
    const executions = entries.filter((e) => !seen[e.executionId] && (seen[e.executionId] = true));
    return { entries, latest: entries[0], executions, where: undefined };
  });
  const named: Record<string, number> = {};
  for (const g of groups) named[g.latest.pipeline] = (named[g.latest.pipeline] ?? 0) + 1;
  for (const g of groups) g.where = entryWhere(g.latest, named[g.latest.pipeline] > 1);
  const rank = (g: DigestGroup) => KIND_ORDER.indexOf(g.latest.kind);
  return groups.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      timeOf(b.latest) - timeOf(a.latest) ||
      a.latest.pipeline.localeCompare(b.latest.pipeline) ||
      a.latest.account.localeCompare(b.latest.account) ||
      a.latest.region.localeCompare(b.latest.region),
  );
}

/**
 * How many notifications the group stands for, after the pipeline's name: "" for one, "×3", and
 * the kinds when they differ: "×3 (2 failed, 1 succeeded)".
 */
export function groupCount(g: DigestGroup): string {
  if (g.entries.length === 1) return "";
  const kinds = kindCounts(g);
  const mixed = Object.keys(kinds).length > 1;
  const parts = KIND_ORDER.filter((k) => kinds[k]).map((k) => `${kinds[k]} ${KIND_SHORT[k]}`);
  return `×${g.entries.length}${mixed ? ` (${parts.join(", ")})` : ""}`;
}

/** The group's notifications per kind. */
export function kindCounts(g: DigestGroup): Partial<Record<NotificationKind, number>> {
  const kinds: Partial<Record<NotificationKind, number>> = {};
  for (const e of g.entries) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  return kinds;
}

/** "last " before the latest's time when the group has more than one notification, else "". */
export function lastWord(g: DigestGroup): string {
  return g.entries.length > 1 ? "last " : "";
}

/** Links to other executions a group's line shows at most (the rest are counted: "+4 earlier"). */
export const MAX_OTHER_LINKS = 5;

/**
 * The group's other executions to link (latest first, at most {@link MAX_OTHER_LINKS}) and how
 * many more there are.
 */
export function otherExecutions(g: DigestGroup): { links: DigestEntry[]; more: number } {
  const others = g.executions.slice(1);
  return {
    links: others.slice(0, MAX_OTHER_LINKS),
    more: Math.max(0, others.length - MAX_OTHER_LINKS),
  };
}

/** "15:09:12 UTC" of an ISO time (a link label: no reader-zone markup fits inside a link). */
export function utcClock(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/**
 * How an "earlier:" link tells its execution apart ({@link earlierParts}): `label` as plain text
 * reads it ("15:09:12 UTC", "15:09:12 UTC · 4f2a9c1e"), `suffix` what follows the time in it (""
 * or " · 4f2a9c1e"), `id` the execution id's first 8 characters, the whole id when another link's
 * are the same.
 */
export interface EarlierLabel {
  label: string;
  suffix: string;
  id: string;
}

/**
 * How a medium writes the parts of a group's line: `name` the pipeline's name linked to its
 * latest execution (`e`), `text` any other text escaped for the medium, `time` the latest's time
 * (already escaped), `earlier` the link to an earlier execution `e`, its time written as `time`
 * writes times (one medium, one way of writing time).
 */
export interface GroupMarkup {
  name(e: DigestEntry): string;
  text(s: string): string;
  time(iso: string): string;
  earlier(e: DigestEntry, label: EarlierLabel): string;
}

/**
 * The head of a group's line, in parts for the medium to join: the linked name with its count
 * ("×3"), where it is when not home, its stage, and "last <time>" (or the time of a lone one).
 */
export function groupHead(g: DigestGroup, m: GroupMarkup): string[] {
  const e = g.latest;
  const count = groupCount(g);
  return [
    `${m.name(e)}${count ? ` ${m.text(count)}` : ""}`,
    ...(g.where ? [m.text(g.where)] : []),
    ...(e.stage ? [m.text(e.stage)] : []),
    `${lastWord(g)}${m.time(e.time)}`,
  ];
}

/**
 * The labels of the executions an "earlier:" list links (`links`, as {@link otherExecutions}
 * gives them), one per entry, all different, in parts ({@link EarlierLabel}, for a medium that
 * writes the time in its own markup): each `label` its clock time ("15:09:12 UTC",
 * {@link utcClock}), and when another link has the same time also the first 8 characters of its
 * execution id, as titles write it (lifecycle.ts `shortId`): "15:09:12 UTC · 4f2a9c1e" (the
 * whole id when 8 characters do not tell them apart). An event's `time` is to the second (the
 * examples of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html,
 * "2017-12-22T18:43:48Z"), and a storm fails several executions of one pipeline within a second:
 * the times alone were identical labels ("earlier: 15:11:02 UTC, 15:11:02 UTC").
 */
export function earlierParts(links: DigestEntry[]): EarlierLabel[] {
  const clocks = links.map((x) => utcClock(x.time));
  const tally = (keys: string[]) => {
    const n: Record<string, number> = {};
    for (const k of keys) n[k] = (n[k] ?? 0) + 1;
    return n;
  };
  const sameClock = tally(clocks);
  const shorts = links.map((x) => shortId(x.executionId));
  const sameShort = tally(shorts);
  const sameBoth = tally(shorts.map((s, i) => `${clocks[i]} · ${s}`));
  return links.map((x, i) => {
    const id = sameShort[shorts[i]] === 1 ? shorts[i] : x.executionId;
    const shown = sameBoth[`${clocks[i]} · ${shorts[i]}`] === 1 ? shorts[i] : x.executionId;
    const suffix = sameClock[clocks[i]] === 1 ? "" : ` · ${shown}`;
    return { label: `${clocks[i]}${suffix}`, suffix, id };
  });
}

/**
 * "earlier: <link>, <link>, +4": the group's other executions, each linked as the medium writes
 * it ({@link otherExecutions}, {@link earlierParts}); "" when it has none.
 */
export function earlierLinks(g: DigestGroup, m: GroupMarkup): string {
  const { links, more } = otherExecutions(g);
  if (links.length === 0) return "";
  const labels = earlierParts(links);
  const listed = links.map((x, i) => m.earlier(x, labels[i])).join(", ");
  return `earlier: ${listed}${more > 0 ? `, +${more}` : ""}`;
}

/**
 * How much of a group a medium's line shows: 0 the head (pipeline linked to its latest
 * execution, count, where, stage, time), 1 also the latest's error summary, 2 also links to the
 * other executions. A cut lowers detail before it drops a pipeline.
 */
export type GroupDetail = 0 | 1 | 2;

/** "and 14 more pipelines" (empty for 0): the pipelines a cut left out. */
export function morePipelines(hidden: number): string {
  return hidden > 0 ? `and ${hidden} more ${hidden === 1 ? "pipeline" : "pipelines"}` : "";
}

/** What {@link fitGroups} chose. */
export interface GroupsFit<T> {
  /** The rendered groups shown, in {@link digestGroups} order. */
  shown: T[];
  /** Pipelines not shown (of the digest's `pipelines`, which may exceed its entries' groups). */
  hidden: number;
  /** Whether some shown group lost detail it had (its summary or other executions' links). */
  detailCut: boolean;
}

/**
 * Fits a digest's groups into a medium whose budget adds up: `render(g, detail)` makes a group's
 * item and `size(item)` its cost in the medium's unit; `fits(used, count, hidden)` says whether
 * `count` items costing `used` together, with `hidden` pipelines left out (an "and N more" line),
 * are within the medium's limits. First every group at detail 0; if not all fit, as many as fit,
 * in order, at detail 0 (a pipeline is dropped only when no detail is left to drop). Else, in
 * order, each group is raised to detail 1 if it still fits, then each to 2 (up to `maxDetail`).
 */
export function fitGroups<T>(
  d: Digest,
  groups: DigestGroup[],
  render: (g: DigestGroup, detail: GroupDetail) => T,
  size: (item: T) => number,
  fits: (used: number, count: number, hidden: number) => boolean,
  maxDetail: GroupDetail = 2,
): GroupsFit<T> {
  const total = Math.max(d.pipelines, groups.length);
  const items = groups.map((g) => render(g, 0));
  const sizes = items.map(size);
  let used = 0;
  let count = 0;
  while (count < items.length && fits(used + sizes[count], count + 1, total - count - 1)) {
    used += sizes[count];
    count += 1;
  }
  const hidden = total - count;
  if (count < items.length) {
    // Pipelines are left out: none of the shown ones gets detail the next pipeline could not.
    const shown = groups.slice(0, count);
    const detailCut = shown.some((g) => addsDetail(g, 1) || addsDetail(g, 2));
    return { shown: items.slice(0, count), hidden, detailCut };
  }
  let detailCut = false;
  for (let detail = 1 as GroupDetail; detail <= maxDetail; detail++) {
    for (let i = 0; i < count; i++) {
      if (!addsDetail(groups[i], detail)) continue;
      const next = render(groups[i], detail);
      const nextSize = size(next);
      if (fits(used - sizes[i] + nextSize, count, hidden)) {
        used += nextSize - sizes[i];
        items[i] = next;
        sizes[i] = nextSize;
      } else detailCut = true;
    }
  }
  return { shown: items.slice(0, count), hidden, detailCut };
}

/** Whether `detail` shows more of `g` than the level below (a summary; other executions). */
export function addsDetail(g: DigestGroup, detail: GroupDetail): boolean {
  if (detail === 1) return Boolean(g.latest.summary);
  return detail === 2 && g.executions.length > 1;
}
