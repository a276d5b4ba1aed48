/**
 * Discord's digest (issue 11 grouping), a pure builder beside discord.ts: embeds whose
 * descriptions list one line per pipeline (digest-groups.ts: linked to its latest execution,
 * "×3" when the digest holds several of its notifications, account alias / region when not home,
 * stage, time, the latest's summary, links to its other executions), the first titled with the
 * title sentence, while each description (4096), the embeds (10) and the message's total (6000
 * characters across all embeds) allow, then "and N more pipelines". User text goes
 * through escapeDiscordMarkdown and `allowed_mentions` is empty, as in every Discord message.
 */
import type { Digest, DigestEntry } from "../types";
import { cut } from "../events/fields";
import { isHttpUrl } from "../url";
import { fitter, oneLine, type Fitter } from "./common";
import { digestTitle, isUrgent } from "./digest";
import {
  digestGroups,
  earlierLinks,
  fitGroups,
  groupHead,
  morePipelines,
  type DigestGroup,
  type EarlierLabel,
  type GroupDetail,
  type GroupMarkup,
} from "./digest-groups";
import type { DiscordConfig } from "./discord";
import { escapeDiscordMarkdown as esc, fitEscaped } from "./markdown";

/** What the digest shares with discord.ts: its limits, footer and colours. */
export interface DiscordDigestFrame {
  /** discord.ts `DISCORD_LIMITS`. */
  limits: { title: number; description: number; total: number; username: number };
  footer: string;
  urgentColor: number;
  calmColor: number;
}

/** One embed of a digest: the first carries the title, the last the footer and time. */
export interface DiscordDigestEmbed {
  title?: string;
  description?: string;
  color: number;
  footer?: { text: string };
  timestamp?: string;
}

/** The webhook body of a digest: up to {@link DISCORD_DIGEST_LIMITS}`.embeds` embeds. */
export interface DiscordDigestMessage {
  username?: string;
  embeds: DiscordDigestEmbed[];
  allowed_mentions: { parse: [] };
}

/** An http(s) URL that cannot break a Markdown link `[label](url)` (no space or parenthesis). */
function isLinkable(url: string | undefined): url is string {
  return isHttpUrl(url) && !/[\s()]/.test(url);
}

/**
 * Discord's limits that shape a digest: at most 10 embeds per message ("embeds: up to 10 embed
 * objects", https://discord.com/developers/docs/resources/webhook#execute-webhook), an embed
 * description of at most 4096 characters and 6000 characters across all embeds of a message
 * (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). A description
 * that is full continues in the next embed; the 6000 total is what usually binds.
 */
export const DISCORD_DIGEST_LIMITS = { embeds: 10, description: 4096, total: 6000 } as const;

/** A Markdown link when the URL can be one, else the label alone. */
function mdLink(url: string, label: string): string {
  return isLinkable(url) ? `[${label}](${url})` : label;
}

/**
 * `<t:unix:f>`: Discord shows the instant in the reader's zone and locale ("20 April 2021 16:20",
 * https://discord.com/developers/docs/reference#message-formatting-timestamp-styles); an `iso`
 * that does not parse is escaped text.
 */
export function discordTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? esc(iso) : `<t:${Math.floor(ms / 1000)}:f>`;
}

/**
 * One pipeline's line: linked to its latest execution, the count ("×3"), account alias / region
 * when not home, stage and time ("last …"); with `detail` 1 the latest's summary (at most 300
 * characters), with 2 links to its other executions.
 */
function groupLine(g: DigestGroup, detail: GroupDetail, f: Fitter): string {
  const e = g.latest;
  const head = groupHead(g, DISCORD_MARKUP).join(" · ");
  const summary =
    detail >= 1 && e.summary ? `\n${fitEscaped(f, "summary", esc(oneLine(e.summary)), 300)}` : "";
  const earlier = detail >= 2 ? earlierLinks(g, DISCORD_MARKUP) : "";
  return head + summary + (earlier ? `\n${earlier}` : "");
}

/** A group's line in Discord markdown (names bold, times as Discord timestamps). */
const DISCORD_MARKUP: GroupMarkup = {
  name: (e) => mdLink(e.consoleUrl, `**${esc(e.pipeline)}**`),
  text: esc,
  time: discordTime,
  earlier: discordEarlier,
};

/**
 * An earlier execution: its time as a Discord timestamp (`<t:unix:T>`, "16:20:30" in the reader's
 * zone, as the line's own time), then a masked link labelled with its id: Discord documents no
 * timestamp inside a masked link's text
 * (https://discord.com/developers/docs/reference#message-formatting). A time that does not parse
 * is the link's plain label instead.
 */
function discordEarlier(e: DigestEntry, l: EarlierLabel): string {
  const ms = Date.parse(e.time);
  if (Number.isNaN(ms)) return mdLink(e.consoleUrl, esc(l.label));
  return `<t:${Math.floor(ms / 1000)}:T> ${mdLink(e.consoleUrl, esc(l.id))}`;
}

/**
 * The lines in embeds' descriptions: a description that would pass `max` continues in the next
 * embed. Within the message's 6000 characters and lines of at most about 2000 (a pipeline name
 * and stage of at most 100 characters each, a 300-character summary, 6 console links), that is
 * at most 4 embeds of the 10 allowed. A line longer than `max` would pass it alone: the caller
 * cuts lines to `max` first.
 */
function pagesOf(lines: string[], max: number): string[][] {
  const pages: string[][] = [[]];
  let len = 0;
  for (const line of lines) {
    const size = line.length + (pages[pages.length - 1].length > 0 ? 1 : 0);
    if (len + size > max && pages[pages.length - 1].length > 0) {
      pages.push([line]);
      len = line.length;
    } else {
      pages[pages.length - 1].push(line);
      len += size;
    }
  }
  return pages;
}

/**
 * Builds the digest message (issue 11 grouping): embeds whose descriptions list one line per
 * pipeline (digest-groups.ts `fitGroups`: summaries and other executions' links are dropped
 * before a pipeline is) — the first titled with the title sentence, a next one when a
 * description is full — while the message's 6000 characters allow, then "and N more pipelines".
 */
export function renderDiscordDigest(
  d: Digest,
  config: DiscordConfig,
  frame: DiscordDigestFrame,
): { message: DiscordDigestMessage; truncated: string[] } {
  const { limits, footer } = frame;
  const f = fitter();
  const title = fitEscaped(f, "title", esc(digestTitle(d)), limits.title);
  const more = `\n${morePipelines(Math.max(d.pipelines, 1))}`.length;
  const page = DISCORD_DIGEST_LIMITS.description - more;
  const total = Math.min(limits.total, DISCORD_DIGEST_LIMITS.total) - title.length - footer.length;
  const { shown, hidden, detailCut } = fitGroups(
    d,
    digestGroups(d),
    // A line is never longer than a page: pagesOf cannot split one (red team: a 1024-character
    // pipeline and stage name, which the event parser accepts, made a 5206-character description).
    (g, detail) => fitEscaped(f, "line", groupLine(g, detail, f), page),
    // Each line and its newline; a page break drops a newline, so the sum is an upper bound.
    (line) => line.length + 1,
    (used, _count, hiddenPipelines) => used + (hiddenPipelines > 0 ? more : 0) <= total,
  );
  const pages = pagesOf(shown, page);
  if (hidden > 0) pages[pages.length - 1].push(morePipelines(hidden));
  const timestamp = Number.isNaN(Date.parse(d.windowEnd))
    ? undefined
    : new Date(d.windowEnd).toISOString();
  const color = isUrgent(d) ? frame.urgentColor : frame.calmColor;
  const embeds: DiscordDigestEmbed[] = pages.map((lines, i) => ({
    ...(i === 0 && { title }),
    ...(lines.length > 0 && { description: lines.join("\n") }),
    color,
    ...(i === pages.length - 1 && { footer: { text: footer } }),
    ...(i === pages.length - 1 && timestamp && { timestamp }),
  }));
  const message: DiscordDigestMessage = {
    ...(config.username && { username: cut(config.username, limits.username) }),
    embeds,
    allowed_mentions: { parse: [] },
  };
  if (hidden > 0) f.truncated.push("entries");
  if (detailCut) f.truncated.push("detail");
  return { message, truncated: f.truncated };
}
