/**
 * Discord's digest (issue 11 grouping), a pure builder beside discord.ts: embeds whose
 * descriptions list one line per notification (pipeline linked to its execution, account alias /
 * region when not home, stage, time, summary), the first titled with the title sentence, while
 * each description (4096), the embeds (10) and the message's total (6000 characters across all
 * embeds) allow, then "and N more". User text goes
 * through escapeDiscordMarkdown and `allowed_mentions` is empty, as in every Discord message.
 */
import type { Digest, DigestEntry } from "../types";
import { cut } from "../events/fields";
import { isHttpUrl } from "../url";
import { fitter, oneLine, type Fitter } from "./common";
import {
  digestTitle,
  entryWhere,
  isUrgent,
  moreWords,
  sortedEntries,
  takeWhileFits,
} from "./digest";
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

function digestLine(e: DigestEntry, f: Fitter): string {
  const where = entryWhere(e);
  const ms = Date.parse(e.time);
  const name = `**${esc(e.pipeline)}**`;
  const head = [
    isLinkable(e.consoleUrl) ? `[${name}](${e.consoleUrl})` : name,
    ...(where ? [esc(where)] : []),
    ...(e.stage ? [esc(e.stage)] : []),
    // Discord's timestamp markup shows the time in the reader's zone (message formatting docs).
    Number.isNaN(ms) ? esc(e.time) : `<t:${Math.floor(ms / 1000)}:f>`,
  ].join(" · ");
  const summary = e.summary ? `\n${fitEscaped(f, "summary", esc(oneLine(e.summary)), 300)}` : "";
  return head + summary;
}

/**
 * Builds the digest message (issue 11 grouping): embeds whose descriptions list one line per
 * notification (pipeline linked to its execution, account alias / region when not home, stage,
 * time, summary) — the first titled with the title sentence, a next one when a description is
 * full — while the 10 embeds and the message's 6000 characters allow, then "and N more".
 */
export function renderDiscordDigest(
  d: Digest,
  config: DiscordConfig,
  frame: DiscordDigestFrame,
): { message: DiscordDigestMessage; truncated: string[] } {
  const { limits, footer } = frame;
  const f = fitter();
  const title = fitEscaped(f, "title", esc(digestTitle(d)), limits.title);
  const more = `\n${moreWords(d.count)}`.length;
  const total = Math.min(limits.total, DISCORD_DIGEST_LIMITS.total) - title.length - footer.length;
  const pages: string[][] = [[]];
  const lens = [0];
  let used = 0;
  const { shown, hidden } = takeWhileFits(
    d,
    sortedEntries(d).map((e) => digestLine(e, f)),
    (_taken, next) => {
      let page = pages.length - 1;
      let size = next.length + (pages[page].length > 0 ? 1 : 0);
      if (lens[page] + size > DISCORD_DIGEST_LIMITS.description - more) {
        // The next embed: its description is a new 4096 (the 6000 total still binds).
        if (pages.length >= DISCORD_DIGEST_LIMITS.embeds) return false;
        size = next.length;
        page += 1;
      }
      if (used + size > total - more) return false;
      if (page === pages.length) {
        pages.push([]);
        lens.push(0);
      }
      pages[page].push(next);
      lens[page] += size;
      used += size;
      return true;
    },
  );
  if (hidden > 0) pages[pages.length - 1].push(moreWords(hidden));
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
  if (shown.length < d.entries.length) f.truncated.push("entries");
  return { message, truncated: f.truncated };
}
