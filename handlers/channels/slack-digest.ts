/**
 * Slack's digest (issue 11 grouping), a pure formatter beside slack-format.ts: a header with the
 * title sentence ("37 pipelines failed in the last 2 minutes"), the window, then one section per
 * notification (pipeline linked to its execution, account alias / region when not home, stage,
 * time, error summary) and "and N more" when Block Kit's limits cut the list
 * ({@link SLACK_LIMITS}: 50 blocks per message, 3000 characters per section text, 150 per header,
 * https://api.slack.com/reference/block-kit/blocks; and 11,000 characters of text in all blocks
 * together, `blocksText`, below the about 12,000 over which Slack answers `msg_blocks_too_long`).
 * The same budget holds in bot and webhook mode. User text goes through escapeSlackText, as in
 * every Slack message.
 */
import type { ContextBlock, KnownBlock, SectionBlock } from "@slack/types";
import { escapeSlackText as esc, truncateMrkdwn } from "../slack-text";
import type { Digest, DigestEntry } from "../types";
import { fitter, oneLine, type Fitter } from "./common";
import { digestTitle, entryWhere, moreWords, sortedEntries, takeWhileFits } from "./digest";
import {
  KIND_EMOJI,
  link,
  slackDate,
  SLACK_LIMITS,
  blockTextChars,
  type SlackConfig,
  type SlackMessage,
} from "./slack-format";

/** Blocks around the entries: the header and the window's context line. */
const FRAME_BLOCKS = 2;

/** Characters kept in the text budget for the "and N more" line (`_and 12345 more_`). */
const MORE_LINE_CHARS = 40;

function entrySection(e: DigestEntry, f: Fitter): SectionBlock {
  const emoji = KIND_EMOJI[e.kind] ?? KIND_EMOJI.status;
  const where = entryWhere(e);
  const head = [
    `${emoji} *${link(e.consoleUrl, esc(e.pipeline))}*`,
    ...(where ? [esc(where)] : []),
    ...(e.stage ? [esc(e.stage)] : []),
    slackDate(e.time),
  ].join(" · ");
  const summary = e.summary ? `\n${esc(oneLine(e.summary))}` : "";
  return {
    type: "section",
    text: { type: "mrkdwn", text: f.fit("entries", head + summary, SLACK_LIMITS.sectionText) },
  };
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
        text: `${slackDate(d.windowStart)} – ${slackDate(d.windowEnd)} · ${d.count} notifications, ${d.pipelines} pipelines`,
      },
    ],
  };
  const sections = sortedEntries(d).map((e) => entrySection(e, f));
  let text = blockTextChars([header, window]);
  const { shown, hidden } = takeWhileFits(d, sections, (taken, next, hiddenAfter) => {
    const more = hiddenAfter > 0 ? 1 : 0;
    const chars = text + blockTextChars(next) + more * MORE_LINE_CHARS;
    if (FRAME_BLOCKS + taken.length + 1 + more > SLACK_LIMITS.blocks) return false;
    if (chars > SLACK_LIMITS.blocksText) return false;
    text += blockTextChars(next);
    return true;
  });
  const more: KnownBlock[] =
    hidden > 0
      ? [{ type: "context", elements: [{ type: "mrkdwn", text: `_${moreWords(hidden)}_` }] }]
      : [];
  if (shown.length < d.entries.length) f.truncated.push("entries");
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
