/**
 * Slack's digest (issue 11 grouping), a pure formatter beside slack-format.ts: a header with the
 * title sentence ("37 pipelines failed in the last 2 minutes"), the window, then one section per
 * pipeline (digest-groups.ts: linked to its latest execution, "×3" when the digest holds several
 * of its notifications, account alias / region when not home, stage, time, the latest's error
 * summary, links to its other executions) and "and N more pipelines" when Block Kit's limits cut
 * the list, which drops summaries and links before it drops a pipeline
 * ({@link SLACK_LIMITS}: 50 blocks per message, 3000 characters per section text, 150 per header,
 * https://api.slack.com/reference/block-kit/blocks; and 11,000 characters of text in all blocks
 * together, `blocksText`, below the about 12,000 over which Slack answers `msg_blocks_too_long`).
 * The same budget holds in bot and webhook mode. User text goes through escapeSlackText, as in
 * every Slack message.
 */
import type { ContextBlock, KnownBlock, SectionBlock } from "@slack/types";
import { escapeSlackText as esc, slackTime, slackTimeSpan, truncateMrkdwn } from "../slack-text";
import type { Digest, DigestEntry } from "../types";
import { fitter, oneLine, type Fitter } from "./common";
import { countWords, digestTitle } from "./digest";
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
import {
  isLinkable,
  KIND_EMOJI,
  link,
  linkTarget,
  SLACK_LIMITS,
  blockTextChars,
  type SlackConfig,
  type SlackMessage,
} from "./slack-format";

/** Blocks around the entries: the header and the window's context line. */
const FRAME_BLOCKS = 2;

/** Characters kept in the text budget for the "and N more pipelines" line. */
const MORE_LINE_CHARS = 40;

/**
 * One pipeline's section: its latest notification's emoji, the pipeline linked to its latest
 * execution, the count ("×3"), account alias / region when not home, stage and time ("last …");
 * with `detail` 1 the latest's summary, with 2 links to its other executions.
 */
function groupSection(g: DigestGroup, detail: GroupDetail, f: Fitter): SectionBlock {
  const e = g.latest;
  const head = groupHead(g, SLACK_MARKUP).join(" · ");
  const summary = detail >= 1 && e.summary ? `\n${esc(oneLine(e.summary))}` : "";
  const earlier = detail >= 2 ? earlierLinks(g, SLACK_MARKUP) : "";
  const others = earlier ? `\n${earlier}` : "";
  return {
    type: "section",
    text: {
      type: "mrkdwn",
      text: f.fit("section", head + summary + others, SLACK_LIMITS.sectionText),
    },
  };
}

/** A group's line in mrkdwn (the kind's emoji, the name bold, Slack's `<!date>`). */
const SLACK_MARKUP: GroupMarkup = {
  name: (e) =>
    `${KIND_EMOJI[e.kind] ?? KIND_EMOJI.status} *${link(e.consoleUrl, esc(e.pipeline))}*`,
  text: esc,
  time: slackTime,
  earlier: slackEarlier,
};

/**
 * An earlier execution as a date that is its link (api.slack.com, "Formatting text for app
 * surfaces", date formatting: `<!date^timestamp^token_string^optional_link|fallback_text>`):
 * "16:20:30" in the reader's zone, as the line's own time (`{time_secs}`: executions of a window
 * differ by seconds), with the label's suffix (" · 4f2a9c1e"); the fallback is the UTC label. A
 * time that does not parse, or a URL that cannot be a link, is a plain link or label.
 */
function slackEarlier(e: DigestEntry, l: EarlierLabel): string {
  const ms = Date.parse(e.time);
  if (Number.isNaN(ms) || !isLinkable(e.consoleUrl) || /[|^<>&]/.test(l.suffix)) {
    return link(e.consoleUrl, esc(l.label));
  }
  const url = linkTarget(e.consoleUrl);
  return `<!date^${Math.floor(ms / 1000)}^{time_secs}${l.suffix}^${url}|${esc(l.label)}>`;
}

/** Builds the digest message and lists what had to be cut (`entries` when some are not shown). */
export function renderSlackDigest(
  d: Digest,
  config: SlackConfig,
): { message: SlackMessage; truncated: string[] } {
  const f = fitter(truncateMrkdwn);
  const title = digestTitle(d);
  const emoji = d.entries.every((e) => e.kind === "success")
    ? ":large_green_circle:"
    : ":rotating_light:";
  const header: KnownBlock = {
    type: "header",
    text: {
      type: "plain_text",
      emoji: true,
      text: f.fit("header", `${emoji} ${title}`, SLACK_LIMITS.headerText),
    },
  };
  const window: ContextBlock = {
    type: "context",
    elements: [
      {
        type: "mrkdwn",
        text: `${slackTimeSpan(d.windowStart, d.windowEnd)} · ${countWords(d.count, "notification")}, ${countWords(d.pipelines, "pipeline")}`,
      },
    ],
  };
  const frameChars = blockTextChars([header, window]);
  const { shown, hidden, detailCut } = fitGroups(
    d,
    digestGroups(d),
    (g, detail) => groupSection(g, detail, f),
    (b) => blockTextChars(b),
    (chars, count, hiddenPipelines) => {
      const more = hiddenPipelines > 0 ? 1 : 0;
      if (FRAME_BLOCKS + count + more > SLACK_LIMITS.blocks) return false;
      return frameChars + chars + more * MORE_LINE_CHARS <= SLACK_LIMITS.blocksText;
    },
  );
  const more: KnownBlock[] =
    hidden > 0
      ? [{ type: "context", elements: [{ type: "mrkdwn", text: `_${morePipelines(hidden)}_` }] }]
      : [];
  if (hidden > 0) f.truncated.push("entries");
  if (detailCut) f.truncated.push("detail");
  const message: SlackMessage = {
    text: f.fit("text", `${emoji} ${esc(title)}`, SLACK_LIMITS.fallbackText),
    blocks: [header, window, ...shown, ...more],
    unfurl_links: false,
    unfurl_media: false,
    ...(config.mode === "bot" && config.channel !== undefined && { channel: config.channel }),
  };
  return { message, truncated: f.truncated };
}

/** The Slack digest message for `d` (pure). */
export function formatSlackDigest(d: Digest, config: SlackConfig): SlackMessage {
  return renderSlackDigest(d, config).message;
}
