/**
 * Slack's Block Kit limits, shared by the incoming-webhook and Web API stand-ins: Slack refuses a
 * message whose blocks break them, with `invalid_blocks` (incoming webhooks: HTTP 400 and the word
 * as `text/plain`; Web API: HTTP 200 `{"ok":false,"error":"invalid_blocks","errors":[…]}`, each
 * error naming the offending block with a JSON pointer, as Slack's answers do).
 *
 * Limits, with the page of the Block Kit reference (https://docs.slack.dev/reference/block-kit/…)
 * that sets each:
 * - {@link SLACK_BLOCK_LIMITS}`.blocks`: "You can include up to 50 blocks in each message"
 *   (`/blocks`);
 * - section (`/blocks/section-block`): `text` 1 to 3000 characters; `fields` at most 10, each text
 *   at most 2000; one of `text` or `fields` is required;
 * - header (`/blocks/header-block`): a `plain_text` object of at most 150 characters;
 * - context (`/blocks/context-block`): 1 to 10 elements;
 * - actions (`/blocks/actions-block`): 1 to 25 elements;
 * - button (`/block-elements/button-element`): text at most 75, `value` at most 2000,
 *   `action_id` at most 255, `url` at most 3000;
 * - `block_id` of any block at most 255 (`/blocks`);
 * - markdown (`/blocks/markdown-block`): `text` at most 12,000 characters.
 *
 * Lengths are JavaScript string lengths (UTF-16 code units). Slack says "characters" without
 * saying whether an emoji is one or two; of the two readings this one refuses more, so that a
 * formatter that fits the stand-in fits Slack (ARCHITECTURE.md, "The local world is as strict as
 * AWS").
 */
import { isRecord } from "./core";

/** The Block Kit limits the Slack stand-ins enforce (sources in the module comment). */
export const SLACK_BLOCK_LIMITS = {
  blocks: 50,
  blockId: 255,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  buttonUrl: 3000,
  markdownText: 12_000,
  /**
   * All the text of a message's blocks together, for `chat.postMessage` / `chat.update`: Slack
   * answers `msg_blocks_too_long` past "12,000 text characters with a buffer for block
   * containers" (a Slack engineer in slackapi/bolt-js#2509; the markdown block page gives 12,000
   * as "cumulative"; bolt-js#2867 saw the refusal under 12,000 with section and rich_text blocks).
   */
  cumulativeText: 12_000,
  /**
   * The top-level `text`: chat.postMessage "will truncate messages containing more than 40,000
   * characters" (https://docs.slack.dev/reference/methods/chat.postMessage, "Truncating content")
   * and lists `msg_too_long`; incoming webhooks answer `msg_too_long` too ("Handling errors",
   * https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks). The stand-ins
   * refuse past 40,000, the stricter reading.
   */
  messageText: 40_000,
} as const;

/** Every `text` string in a Block Kit value: what Slack counts towards a message's block text. */
export function blockTextLength(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + blockTextLength(v), 0);
  if (!isRecord(value)) return 0;
  let sum = 0;
  for (const [key, v] of Object.entries(value)) {
    sum += key === "text" && typeof v === "string" ? v.length : blockTextLength(v);
  }
  return sum;
}

/** A text object (`{ type: "plain_text" | "mrkdwn", text }`) of 1..max characters, or an error. */
function textObject(
  value: unknown,
  pointer: string,
  max: number,
  types: readonly string[] = ["plain_text", "mrkdwn"],
): string[] {
  if (!isRecord(value) || typeof value.text !== "string" || !types.includes(String(value.type))) {
    return [`must be a ${types.join(" or ")} text object [json-pointer:${pointer}]`];
  }
  if (value.text.length === 0) {
    return [`must be more than 0 characters [json-pointer:${pointer}/text]`];
  }
  if (value.text.length > max) {
    return [`must be less than ${max + 1} characters [json-pointer:${pointer}/text]`];
  }
  return [];
}

/** A string field of at most `max` characters, when present. */
function maxLength(value: unknown, pointer: string, max: number): string[] {
  if (value === undefined) return [];
  if (typeof value !== "string" || value.length > max) {
    return [`must be a string of at most ${max} characters [json-pointer:${pointer}]`];
  }
  return [];
}

/** An array of `min..max` items, or an error. */
function countOf(value: unknown, pointer: string, min: number, max: number): string[] {
  if (!Array.isArray(value)) return [`must be an array [json-pointer:${pointer}]`];
  if (value.length < min) return [`must provide at least ${min} items [json-pointer:${pointer}]`];
  if (value.length > max) return [`must provide at most ${max} items [json-pointer:${pointer}]`];
  return [];
}

function button(element: Record<string, unknown>, pointer: string): string[] {
  const L = SLACK_BLOCK_LIMITS;
  return [
    ...textObject(element.text, `${pointer}/text`, L.buttonText, ["plain_text"]),
    ...maxLength(element.value, `${pointer}/value`, L.buttonValue),
    ...maxLength(element.action_id, `${pointer}/action_id`, L.actionId),
    ...maxLength(element.url, `${pointer}/url`, L.buttonUrl),
  ];
}

function section(block: Record<string, unknown>, pointer: string): string[] {
  const L = SLACK_BLOCK_LIMITS;
  if (block.text === undefined && block.fields === undefined) {
    return [`must provide text or fields [json-pointer:${pointer}]`];
  }
  const errors: string[] = [];
  if (block.text !== undefined)
    errors.push(...textObject(block.text, `${pointer}/text`, L.sectionText));
  if (block.fields !== undefined) {
    const count = countOf(block.fields, `${pointer}/fields`, 1, L.sectionFields);
    if (count.length > 0) return [...errors, ...count];
    (block.fields as unknown[]).forEach((f, i) =>
      errors.push(...textObject(f, `${pointer}/fields/${i}`, L.sectionFieldText)),
    );
  }
  if (isRecord(block.accessory) && block.accessory.type === "button") {
    errors.push(...button(block.accessory, `${pointer}/accessory`));
  }
  return errors;
}

function elements(
  block: Record<string, unknown>,
  pointer: string,
  max: number,
  check: (e: Record<string, unknown>, p: string) => string[],
): string[] {
  const count = countOf(block.elements, `${pointer}/elements`, 1, max);
  if (count.length > 0) return count;
  return (block.elements as unknown[]).flatMap((e, i) =>
    isRecord(e)
      ? check(e, `${pointer}/elements/${i}`)
      : [`must be an object [json-pointer:${pointer}/elements/${i}]`],
  );
}

/** The errors of one block (none for a block type the stand-in does not check further). */
function blockErrors(block: unknown, pointer: string): string[] {
  const L = SLACK_BLOCK_LIMITS;
  if (!isRecord(block) || typeof block.type !== "string") {
    return [`must be a block object with a type [json-pointer:${pointer}]`];
  }
  const errors = maxLength(block.block_id, `${pointer}/block_id`, L.blockId);
  switch (block.type) {
    case "section":
      return [...errors, ...section(block, pointer)];
    case "header":
      return [
        ...errors,
        ...textObject(block.text, `${pointer}/text`, L.headerText, ["plain_text"]),
      ];
    case "context":
      return [
        ...errors,
        ...elements(block, pointer, L.contextElements, (e, p) =>
          e.type === "image" ? [] : textObject(e, p, L.sectionText),
        ),
      ];
    case "actions":
      return [
        ...errors,
        ...elements(block, pointer, L.actionsElements, (e, p) =>
          e.type === "button" ? button(e, p) : [],
        ),
      ];
    case "markdown":
      return [...errors, ...maxLength(block.text, `${pointer}/text`, L.markdownText)];
    default:
      return errors;
  }
}

/**
 * What Slack would say of a message's `blocks` (already parsed): the errors that make it
 * `invalid_blocks` (empty when the blocks are valid). Blocks that are not an array are one error.
 */
export function blocksErrors(blocks: unknown): string[] {
  if (!Array.isArray(blocks)) return ["must be an array [json-pointer:/blocks]"];
  if (blocks.length > SLACK_BLOCK_LIMITS.blocks) {
    return [`must provide at most ${SLACK_BLOCK_LIMITS.blocks} items [json-pointer:/blocks]`];
  }
  return blocks.flatMap((b, i) => blockErrors(b, `/blocks/${i}`));
}
