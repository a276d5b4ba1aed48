/**
 * Slack's size limits and what keeps a message within them: the Block Kit limits of each text,
 * the characters of all block text together ({@link blockTextChars}), and a {@link Fitter} whose
 * caps are scaled down for a message over that total ({@link scaledFitter}).
 */
import { truncateMrkdwn } from "../slack-text";
import { fitter, type Fitter } from "./common";

/** Block Kit limits (https://api.slack.com/reference/block-kit/blocks, …/block-elements#button). */
export const SLACK_LIMITS = {
  /** https://api.slack.com/reference/block-kit/blocks */
  blocks: 50,
  /** https://api.slack.com/reference/block-kit/blocks#section */
  sectionText: 3000,
  /** https://api.slack.com/reference/block-kit/blocks#section (each of `fields`) */
  fieldText: 2000,
  /** https://api.slack.com/reference/block-kit/blocks#section (at most 10 `fields`) */
  fields: 10,
  /** https://api.slack.com/reference/block-kit/blocks#header */
  headerText: 150,
  /** https://api.slack.com/reference/block-kit/blocks#context (at most 10 elements) */
  contextElements: 10,
  /** https://api.slack.com/reference/block-kit/composition-objects#text */
  contextText: 3000,
  /** https://api.slack.com/reference/block-kit/block-elements#button */
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  actionId: 255,
  /** https://api.slack.com/reference/block-kit/blocks#actions */
  actionsElements: 25,
  /**
   * Characters of text in all of a message's blocks together (every text object's `text`), what
   * a message is built to: Slack refuses more than about 12,000 (chat.postMessage answers
   * `ok:false msg_blocks_too_long`, incoming webhooks 400 `invalid_blocks` / `msg_too_long`)
   * well before 50 blocks of 3000. A Slack engineer: "12,000 text characters with a buffer for
   * block containers" (slackapi/bolt-js#2509, refused at about 13,200; #2867 at 11,341 of
   * `.text`); the markdown block documents 12,000 cumulative
   * (https://docs.slack.dev/reference/block-kit/blocks/markdown-block). 11,000 keeps a margin
   * below the lowest refusal seen.
   */
  blocksText: 11_000,
  /**
   * Top-level `text` is the notification and screen-reader fallback
   * (https://api.slack.com/methods/chat.postMessage#text_usage): one short line.
   */
  fallbackText: 300,
} as const;

/**
 * Characters of text in `blocks` as Slack counts them toward `SLACK_LIMITS.blocksText`: every
 * text object's `text` (headers, sections, their fields, context elements), at any depth.
 */
export function blockTextChars(blocks: unknown): number {
  if (Array.isArray(blocks)) return blocks.reduce((n: number, b) => n + blockTextChars(b), 0);
  if (blocks === null || typeof blocks !== "object") return 0;
  return Object.entries(blocks).reduce(
    (n, [k, v]) => n + (k === "text" && typeof v === "string" ? v.length : blockTextChars(v)),
    0,
  );
}

/** Each rebuild of a message over `blocksText` scales its texts' caps by this much. */
export const SHRINK = 0.7;
/** The smallest scale tried; no text is cut below {@link MIN_SCALED_CHARS} by scaling. */
export const MIN_SCALE = 0.02;
const MIN_SCALED_CHARS = 100;

/**
 * A {@link Fitter} for Slack (cuts never open a `<…>` link or mention, `truncateMrkdwn`) whose
 * caps are `scale` times the Block Kit limits (never below
 * {@link MIN_SCALED_CHARS}, nor above the limit), the top-level fallback `text` excepted: it is
 * not block text.
 */
export function scaledFitter(scale: number): Fitter {
  const f = fitter(truncateMrkdwn);
  if (scale >= 1) return f;
  return {
    truncated: f.truncated,
    fit: (field, text, max) => f.fit(field, text, field === "text" ? max : scaledCap(max, scale)),
  };
}

/** A Block Kit limit `max` scaled by `scale` (at most 1), never below {@link MIN_SCALED_CHARS}. */
export function scaledCap(max: number, scale: number): number {
  if (scale >= 1) return max;
  return Math.max(Math.min(max, MIN_SCALED_CHARS), Math.floor(max * scale));
}
