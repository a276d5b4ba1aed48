/**
 * Teams' digest card (issue 11 grouping), a pure builder beside teams.ts: the title sentence, the
 * window, one TextBlock per pipeline (digest-groups.ts: linked to its latest execution, "×3" when
 * the digest holds several of its notifications, account alias / region when not home, stage,
 * time, the latest's summary, links to its other executions; summaries and links are dropped
 * before a pipeline is), added while the whole card stays within the card budget
 * (`TEAMS_LIMITS.cardBytes`, 20 KB of adaptive-card.ts `cardBytes`: Teams' 28 KB
 * (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/format-your-bot-messages)
 * is measured on message properties larger than the body, msteams-docs#11274), then "and N more pipelines". User text goes through escapeTeamsMarkdown, as in every Teams card.
 */
import type { Digest } from "../types";
import { isHttpUrl } from "../url";
import { fitter } from "./common";
import { digestTitle, isUrgent, windowSpan } from "./digest";
import {
  digestGroups,
  earlierLinks,
  fitGroups,
  groupHead,
  morePipelines,
  utcClock,
  type DigestGroup,
  type GroupDetail,
  type GroupMarkup,
} from "./digest-groups";
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

/** A Markdown link when the URL can be one, else the label alone. */
function mdLink(url: string, label: string): string {
  return isLinkable(url) ? `[${label}](${url})` : label;
}

/**
 * One pipeline's TextBlock: the pipeline linked to its latest execution, the count ("×3"),
 * account alias / region when not home, stage and time ("last …"); with `detail` 1 the latest's
 * summary, with 2 links to its other executions.
 */
function groupBlock(
  g: DigestGroup,
  detail: GroupDetail,
  limits: TeamsDigestLimits,
): AdaptiveElement {
  const e = g.latest;
  const head = groupHead(g, TEAMS_MARKUP).join(" · ");
  const f = fitter();
  const summary =
    detail >= 1 && e.summary ? `\n\n${fitEscaped(f, "summary", esc(e.summary), limits.text)}` : "";
  const earlier = detail >= 2 ? earlierLinks(g, TEAMS_MARKUP) : "";
  return {
    type: "TextBlock",
    text: head + summary + (earlier ? `\n\n${earlier}` : ""),
    wrap: true,
  };
}

/** A group's line in Teams' Markdown (names bold, times as "12:00:04 UTC"). */
const TEAMS_MARKUP: GroupMarkup = {
  name: (e) => mdLink(e.consoleUrl, `**${esc(e.pipeline)}**`),
  text: esc,
  time: (iso) => esc(utcClock(iso)),
  earlier: (e, l) => mdLink(e.consoleUrl, esc(l.label)),
};

/**
 * Builds the digest card (issue 11 grouping): the title sentence, the window, one TextBlock per
 * pipeline (digest-groups.ts `fitGroups`), within `limits.cardBytes`, then "and N more
 * pipelines". `truncated`: `entries` when pipelines are left out, `detail` when summaries or
 * links are.
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
      text: esc(windowSpan(d)),
      wrap: true,
      isSubtle: true,
    },
  ];
  const frame = cardBytes(head) + DIGEST_FRAME_BYTES;
  const { shown, hidden, detailCut } = fitGroups(
    d,
    digestGroups(d),
    (g, detail) => groupBlock(g, detail, limits),
    (block) => cardBytes(block) + 1,
    (bytes) => frame + bytes <= limits.cardBytes,
  );
  const more: AdaptiveElement[] =
    hidden > 0
      ? [{ type: "TextBlock", text: morePipelines(hidden), wrap: true, isSubtle: true }]
      : [];
  const message = adaptiveCardMessage([...head, ...shown, ...more], []);
  return {
    message,
    truncated: [...(hidden > 0 ? ["entries"] : []), ...(detailCut ? ["detail"] : [])],
  };
}
