/**
 * The Slack Web API methods the approval flow calls, as api.slack.com documents them:
 * - every method answers HTTP 200 with `ok: false` and an `error` code for application errors
 *   ("Using the Slack Web API", https://api.slack.com/web#responses), `not_authed` when there is
 *   no token (a `Bearer` Authorization header or a `token` field), `invalid_auth` when it is no
 *   bot or user token ("Some aspect of authentication cannot be validated", chat.postMessage's
 *   errors; tokens begin with `xoxb-` for a bot and `xoxp-` for a user, Slack "Tokens",
 *   https://api.slack.com/authentication/token-types): a signing secret or a webhook URL sent
 *   as the token is refused, as Slack refuses it;
 * - `chat.postMessage` (https://api.slack.com/methods/chat.postMessage): `channel` is required
 *   (`channel_not_found`), one of `text`/`blocks`/`attachments` too (`no_text`), blocks must be an
 *   array within Block Kit's limits (`invalid_blocks` with an `errors` list of JSON pointers, as
 *   Slack answers; the limits and their pages are in slack-blocks.ts), all their text together at
 *   most 12,000 characters (`msg_blocks_too_long`: Slack documents the number only on the markdown
 *   block page, "12,000 characters cumulative"; a Slack engineer gave it for all blocks, "12,000
 *   text characters with a buffer for block containers", in slackapi/bolt-js#2509), and `text` at
 *   most 40,000 (`msg_too_long`); the answer carries the new message's `ts`; optional `metadata`
 *   `{ event_type, event_payload }` (Slack, "Using message metadata",
 *   https://docs.slack.dev/messaging/message-metadata; JSON text in a form post) is kept with the
 *   message, `invalid_metadata_format` when it is not an object with a string `event_type` and
 *   an object `event_payload`;
 * - `conversations.history` (https://api.slack.com/methods/conversations.history): a channel's
 *   messages newest first, `oldest` (exclusive) and `limit` (default 100) honoured; `metadata`
 *   only with `include_all_metadata` true;
 * - `chat.update` (https://api.slack.com/methods/chat.update): the message is named by `channel`
 *   and `ts` (`message_not_found` otherwise); its blocks and text are held to the same limits
 *   (its error list has `invalid_blocks`, `msg_blocks_too_long` and `msg_too_long` too);
 * - `views.open` (https://api.slack.com/methods/views.open): a `trigger_id` and a view are required;
 *   a modal's title is at most 24 characters and its `private_metadata` at most 3000.
 * Any other method is `unknown_method`.
 *
 * Rate limits ("Rate limits", https://api.slack.com/docs/rate-limits): `chat.postMessage` is
 * "Special" — "generally allows posting one message per second per channel" with short bursts
 * ({@link SLACK_POST_MESSAGE_RATE_LIMIT}, per channel); `chat.update` is Tier 3, "50+ per minute"
 * per method per workspace per app ({@link SLACK_TIER3_RATE_LIMIT}). Over a limit the Web API
 * answers HTTP 429 with `Retry-After` seconds and `{"ok":false,"error":"ratelimited"}`
 * ({@link slackApiRateLimited}).
 */
import type { IncomingHttpHeaders } from "node:http";
import { isRecord, json, safeJson, type Answer, type RateLimit } from "./core";
import { blocksErrors, blockTextLength, SLACK_BLOCK_LIMITS } from "./slack-blocks";

/** `chat.postMessage`: 1 per second per channel, short bursts allowed (3 here, as for webhooks). */
export const SLACK_POST_MESSAGE_RATE_LIMIT: RateLimit = {
  limit: 1,
  perSeconds: 1,
  burst: 3,
  source:
    "https://api.slack.com/methods/chat.postMessage (Special rate limit) and https://api.slack.com/docs/rate-limits: one message per second per channel, short bursts allowed",
};

/** Web API Tier 3 (`chat.update`): 50 per minute per workspace, "sporadic bursts are welcome". */
export const SLACK_TIER3_RATE_LIMIT: RateLimit = {
  limit: 50,
  perSeconds: 60,
  burst: 50,
  source: "https://api.slack.com/docs/rate-limits: Web API Tier 3, 50+ per minute",
};

/**
 * The rate-limit scope of a Web API call: `chat.postMessage:<channel>` (per channel),
 * `chat.update` (per workspace: the stand-in is one workspace), undefined for unlimited methods.
 */
export function slackApiRateScope(method: string, body: unknown): string | undefined {
  if (method === "chat.update") return method;
  if (method !== "chat.postMessage") return undefined;
  const channel = isRecord(body) && typeof body.channel === "string" ? body.channel : "";
  return `${method}:${channel}`;
}

/** The Web API's 429: `{"ok":false,"error":"ratelimited"}` (+ `Retry-After`). */
export function slackApiRateLimited(): Answer {
  return json(429, { ok: false, error: "ratelimited" });
}

/** A message posted through the Slack Web API stand-in, as chat.update leaves it. */
export interface SlackApiMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  /** Message metadata as posted (`event_type`, `event_payload`), if any. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** How many times chat.update changed it. */
  updates: number;
  /** A reply: the `ts` of its thread's parent (a reply's own `ts` given as `thread_ts` is its parent's). */
  threadTs?: string;
}

/** The Web API stand-in's state: messages by `<channel>:<ts>` and id counters. */
export interface SlackApiState {
  messages: Record<string, SlackApiMessage>;
  /** Not reset between tests: a `ts` or view id is never handed out twice by one server. */
  counters: { slackTs: number; viewId: number };
}

/** An empty {@link SlackApiState}. */
export function createSlackApiState(): SlackApiState {
  return { messages: {}, counters: { slackTs: 0, viewId: 0 } };
}

/** Answers one Web API call of `method` (the path segment after `/slack-api/`). */
export function slackApi(
  state: SlackApiState,
  method: string,
  headers: IncomingHttpHeaders,
  body: unknown,
): Answer {
  const fields = isRecord(body) ? body : {};
  const bearer = /^Bearer (\S+)/.exec(String(headers.authorization ?? ""))?.[1];
  const token = bearer ?? (typeof fields.token === "string" ? fields.token : undefined);
  if (token === undefined) return json(200, { ok: false, error: "not_authed" });
  if (!/^xox[bp]-/.test(token)) return json(200, { ok: false, error: "invalid_auth" });
  if (method === "views.open") return viewsOpen(state, fields);
  if (method === "conversations.history") return history(state, fields);
  if (method !== "chat.postMessage" && method !== "chat.update") {
    return json(200, { ok: false, error: "unknown_method" });
  }
  const channel = typeof fields.channel === "string" ? fields.channel : "";
  if (channel === "") return json(200, { ok: false, error: "channel_not_found" });
  const blocks = typeof fields.blocks === "string" ? safeJson(fields.blocks) : fields.blocks;
  if (blocks !== undefined) {
    const errors = blocksErrors(blocks);
    if (errors.length > 0) {
      return json(200, {
        ok: false,
        error: "invalid_blocks",
        errors,
        response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) },
      });
    }
    if (blockTextLength(blocks) > SLACK_BLOCK_LIMITS.cumulativeText) {
      return json(200, { ok: false, error: "msg_blocks_too_long" });
    }
  }
  const messageText = typeof fields.text === "string" ? fields.text : undefined;
  if (messageText !== undefined && messageText.length > SLACK_BLOCK_LIMITS.messageText) {
    return json(200, { ok: false, error: "msg_too_long" });
  }
  // blocksErrors found them an array.
  const blockList = blocks as unknown[] | undefined;
  return method === "chat.postMessage"
    ? postMessage(state, fields, channel, messageText, blockList)
    : updateMessage(state, fields, channel, messageText, blockList);
}

function postMessage(
  state: SlackApiState,
  fields: Record<string, unknown>,
  channel: string,
  messageText: string | undefined,
  blocks: unknown[] | undefined,
): Answer {
  if (messageText === undefined && blocks === undefined && fields.attachments === undefined) {
    return json(200, { ok: false, error: "no_text" });
  }
  const metadata =
    typeof fields.metadata === "string" ? safeJson(fields.metadata) : fields.metadata;
  if (
    metadata !== undefined &&
    !(
      isRecord(metadata) &&
      typeof metadata.event_type === "string" &&
      isRecord(metadata.event_payload)
    )
  ) {
    return json(200, { ok: false, error: "invalid_metadata_format" });
  }
  const thread = threadOf(state, channel, fields.thread_ts);
  if (thread === null) return json(200, { ok: false, error: "message_not_found" });
  state.counters.slackTs += 1;
  const ts = `${Math.floor(Date.now() / 1000)}.${String(state.counters.slackTs).padStart(6, "0")}`;
  const kept = metadata as SlackApiMessage["metadata"];
  state.messages[`${channel}:${ts}`] = {
    channel,
    ts,
    text: messageText,
    blocks,
    ...(kept && { metadata: kept }),
    updates: 0,
    ...(thread !== undefined && { threadTs: thread }),
  };
  return json(200, {
    ok: true,
    channel,
    ts,
    message: {
      type: "message",
      text: messageText,
      blocks,
      ts,
      ...(thread !== undefined && { thread_ts: thread }),
      ...(kept && { metadata: kept }),
    },
  });
}

/**
 * The parent `ts` a `thread_ts` names: undefined when there is none (a top-level message), null
 * when it names no message of `channel`. chat.postMessage's `thread_ts`: "Provide another
 * message's ts value to make this message a reply. Avoid using a reply's ts value; use its
 * parent instead" (https://api.slack.com/methods/chat.postMessage#arg_thread_ts): a reply's `ts`
 * joins its parent's thread. The stand-in is strict where Slack's documentation is silent: a
 * `thread_ts` that matches no message in that channel is refused with `message_not_found`, so that
 * a lost or mixed-up parent shows up in tests instead of becoming a stray top-level message.
 */
function threadOf(
  state: SlackApiState,
  channel: string,
  threadTs: unknown,
): string | undefined | null {
  if (threadTs === undefined || threadTs === "") return undefined;
  const parent =
    typeof threadTs === "string" ? state.messages[`${channel}:${threadTs}`] : undefined;
  if (!parent) return null;
  return parent.threadTs ?? parent.ts;
}

function updateMessage(
  state: SlackApiState,
  fields: Record<string, unknown>,
  channel: string,
  messageText: string | undefined,
  blocks: unknown[] | undefined,
): Answer {
  const ts = typeof fields.ts === "string" ? fields.ts : "";
  const message = state.messages[`${channel}:${ts}`];
  if (!message) return json(200, { ok: false, error: "message_not_found" });
  message.text = messageText ?? message.text;
  message.blocks = blocks ?? message.blocks;
  message.updates += 1;
  return json(200, { ok: true, channel, ts, text: message.text });
}

function viewsOpen(state: SlackApiState, fields: Record<string, unknown>): Answer {
  const triggerId = typeof fields.trigger_id === "string" ? fields.trigger_id : "";
  if (triggerId === "") return json(200, { ok: false, error: "invalid_trigger_id" });
  const view = typeof fields.view === "string" ? safeJson(fields.view) : fields.view;
  if (!isRecord(view) || typeof view.type !== "string" || !Array.isArray(view.blocks)) {
    return json(200, { ok: false, error: "invalid_arguments" });
  }
  const title = isRecord(view.title) ? view.title.text : undefined;
  const metadata = view.private_metadata;
  if (
    (view.type === "modal" && (typeof title !== "string" || title.length > 24)) ||
    (metadata !== undefined && (typeof metadata !== "string" || metadata.length > 3000))
  ) {
    return json(200, { ok: false, error: "invalid_arguments" });
  }
  state.counters.viewId += 1;
  const id = `V${String(state.counters.viewId).padStart(10, "0")}`;
  return json(200, { ok: true, view: { ...view, id, hash: `${Date.now()}.${id}` } });
}

/** `conversations.history`: the channel's messages, newest first. */
function history(state: SlackApiState, fields: Record<string, unknown>): Answer {
  const channel = typeof fields.channel === "string" ? fields.channel : "";
  if (channel === "") return json(200, { ok: false, error: "channel_not_found" });
  const oldest = Number(fields.oldest ?? 0);
  const limit = Number(fields.limit ?? 100) || 100;
  const withMetadata =
    fields.include_all_metadata === true || fields.include_all_metadata === "true";
  const messages = Object.values(state.messages)
    // Only parents and top-level messages: "conversations.history … returns only parent messages"
    // (replies are read with conversations.replies; https://api.slack.com/methods/conversations.replies).
    .filter((m) => m.channel === channel && Number(m.ts) > oldest && m.threadTs === undefined)
    .sort((a, b) => Number(b.ts) - Number(a.ts))
    .slice(0, limit)
    .map((m) => ({
      type: "message",
      ts: m.ts,
      text: m.text,
      ...(m.blocks && { blocks: m.blocks }),
      ...(withMetadata && m.metadata && { metadata: m.metadata }),
    }));
  return json(200, { ok: true, messages, has_more: false });
}
