/**
 * Teams' digest card (issue 11 grouping), a pure builder beside teams.ts: the title sentence, the
 * window, one TextBlock per notification (pipeline linked to its execution, account alias / region
 * when not home, stage, time, summary), added while the whole card stays within the card budget
 * (`TEAMS_LIMITS.cardBytes`, 20 KB of adaptive-card.ts `cardBytes`: Teams' 28 KB
 * (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/format-your-bot-messages)
 * is measured on message properties larger than the body, msteams-docs#11274), then "and N more". User text goes through escapeTeamsMarkdown, as in every Teams card.
 */
import type { Digest, DigestEntry } from "../types";
import { isHttpUrl } from "../url";
import { fitter } from "./common";
import {
  digestTitle,
  entryWhere,
  isUrgent,
  moreWords,
  sortedEntries,
  takeWhileFits,
} from "./digest";
import { escapeTeamsMarkdown as esc, fitEscaped } from "./markdown";
import { adaptiveCardMessage, cardBytes } from "./adaptive-card";
import type { AdaptiveElement, TeamsMessage } from "./teams";

/** The limits the card is built to (teams.ts `TEAMS_LIMITS`). */
export interface TeamsDigestLimits {
  /** The whole message's size in adaptive-card.ts `cardBytes` (escaped JSON bytes). */
  cardBytes: number;
  /** Characters of one entry's summary. */
  text: number;
}

/** An http(s) URL that cannot break a Markdown link `[label](url)` (no space or parenthesis). */
function isLinkable(url: string | undefined): url is string {
  return isHttpUrl(url) && !/[\s()]/.test(url);
}

/** Room kept in the card budget for the message frame, the actions and "and N more" (bytes). */
const DIGEST_FRAME_BYTES = 2048;

function digestEntryBlock(e: DigestEntry, limits: TeamsDigestLimits): AdaptiveElement {
  const where = entryWhere(e);
  const name = `**${esc(e.pipeline)}**`;
  const head = [
    isLinkable(e.consoleUrl) ? `[${name}](${e.consoleUrl})` : name,
    ...(where ? [esc(where)] : []),
    ...(e.stage ? [esc(e.stage)] : []),
    esc(e.time),
  ].join(" · ");
  const f = fitter();
  const summary = e.summary ? `\n\n${fitEscaped(f, "summary", esc(e.summary), limits.text)}` : "";
  return { type: "TextBlock", text: head + summary, wrap: true };
}

/**
 * Builds the digest card (issue 11 grouping): the title sentence, the window, one TextBlock per
 * notification (pipeline linked to its execution, account alias / region when not home, stage,
 * time, summary), entries added while the whole card stays within `limits.cardBytes`, then
 * "and N more".
 */
export function renderTeamsDigest(
  d: Digest,
  limits: TeamsDigestLimits,
): { message: TeamsMessage; truncated: string[] } {
  const head: AdaptiveElement[] = [
    {
      type: "TextBlock",
      text: esc(digestTitle(d)),
      wrap: true,
      size: "Large",
      weight: "Bolder",
      color: isUrgent(d) ? "Attention" : "Default",
    },
    {
      type: "TextBlock",
      text: esc(`${d.windowStart} – ${d.windowEnd}`),
      wrap: true,
      isSubtle: true,
    },
  ];
  const blocks = sortedEntries(d).map((e) => digestEntryBlock(e, limits));
  let bytes = cardBytes(head) + DIGEST_FRAME_BYTES;
  const { shown, hidden } = takeWhileFits(d, blocks, (_taken, next) => {
    const size = cardBytes(next) + 1;
    if (bytes + size > limits.cardBytes) return false;
    bytes += size;
    return true;
  });
  const more: AdaptiveElement[] =
    hidden > 0 ? [{ type: "TextBlock", text: moreWords(hidden), wrap: true, isSubtle: true }] : [];
  const message = adaptiveCardMessage([...head, ...shown, ...more], []);
  return { message, truncated: shown.length < d.entries.length ? ["entries"] : [] };
}
