/**
 * Parsing what Slack sends: the `payload` of an interaction (a `block_actions` click or a
 * `view_submission`), and the reject-reason modal's `private_metadata`, which travels through
 * Slack and comes back to be re-validated. Lenient on fields the flow does not need, strict on the
 * ones it does. Pure: no I/O.
 */
import { parseApprovalButtonValue, REJECT_REASON_INPUT_ID } from "../contracts/slack-approval";
import { cut, wellFormed, wellFormedReviver } from "../events/fields";
import { truncateText } from "../slack-text";
import { isHttpUrl } from "../url";
import { isOurActionsBlock, REJECT_REASON_MAX_CHARS } from "./messages";
import type { ApprovalTarget, SlackActor, SlackMessage } from "./types";
import { isRecord, optionalString } from "./util";

/**
 * Slack caps a view's `private_metadata` at 3000 characters
 * (https://api.slack.com/reference/surfaces/views).
 */
export const PRIVATE_METADATA_MAX_CHARS = 3000;

/** A `block_actions` interaction, reduced to what the approval flow needs. */
export interface BlockActionsInteraction {
  type: "block_actions";
  user: SlackActor;
  actionId: string;
  /** The button's raw `value` (JSON for our buttons). */
  value: string | undefined;
  /** Where to post ephemerals and the message update. A capability URL: never log it. */
  responseUrl: string | undefined;
  message: SlackMessage | undefined;
  channelId: string | undefined;
  /** Lets the app open a modal within 3 s of the click (`views.open`). */
  triggerId: string | undefined;
  /** `ts` of the message that holds the buttons. */
  messageTs: string | undefined;
}

/** Any other interaction type (view_submission is parsed again with `parseViewSubmission`). */
export interface OtherInteraction {
  type: string;
}

/** Result of parsing an interaction payload; `reason` is for logs and the audit trail. */
export type ParsedInteraction =
  | { ok: true; interaction: BlockActionsInteraction | OtherInteraction }
  | { ok: false; reason: string };

/** A `view_submission` interaction, reduced to what the reject-reason flow needs. */
export interface ViewSubmission {
  user: SlackActor;
  callbackId: string;
  /** Raw `view.private_metadata`; parse it with {@link parseRejectReasonMetadata}. */
  privateMetadata: string | undefined;
  /** `view.state.values.reason.reason.value`, as typed (not yet normalized). */
  reason: unknown;
}

/**
 * What the reject-reason modal carries in `private_metadata` to finish the rejection on submit.
 * Not secret (though `responseUrl` is a capability URL: never log it), and only Slack can send it
 * back, inside a signed request; it is re-validated on submission all the same.
 */
export interface RejectReasonMetadata extends ApprovalTarget {
  /** The click's response_url, to replace the buttons once rejected. */
  responseUrl: string;
  /** When the Reject click issued `responseUrl` (ISO 8601): it works for 30 minutes. */
  clickedAt?: string;
  channel?: string;
  messageTs?: string;
  /** The approval request without its buttons, when it fits; else only its text, or nothing. */
  message?: SlackMessage;
}

/**
 * The parsed JSON of a payload, every string well-formed Unicode (a lone surrogate in a reason or
 * a user name becomes U+FFFD: `wellFormedReviver`); undefined when it is not valid JSON.
 */
function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text, wellFormedReviver) };
  } catch {
    return undefined;
  }
}

function actorOf(user: Record<string, unknown>, id: string): SlackActor {
  return { id, username: optionalString(user.username), name: optionalString(user.name) };
}

function messageOf(value: unknown): SlackMessage | undefined {
  if (!isRecord(value)) return undefined;
  return {
    text: optionalString(value.text),
    blocks: Array.isArray(value.blocks) ? value.blocks.filter(isRecord) : undefined,
  };
}

/**
 * Parses the JSON of the form field `payload` of an interaction request. Lenient on fields the
 * flow does not need, strict on the ones it does (user id, the first action's id).
 */
export function parseInteraction(payloadJson: string): ParsedInteraction {
  const parsed = parseJson(payloadJson);
  if (!parsed) return { ok: false, reason: "payload is not valid JSON" };
  const payload = parsed.value;
  if (!isRecord(payload) || typeof payload.type !== "string") {
    return { ok: false, reason: "payload has no type" };
  }
  if (payload.type !== "block_actions") {
    return { ok: true, interaction: { type: payload.type } };
  }
  const user = payload.user;
  if (!isRecord(user) || typeof user.id !== "string" || user.id === "") {
    return { ok: false, reason: "block_actions payload has no user id" };
  }
  const actions = payload.actions;
  const first = Array.isArray(actions) ? actions[0] : undefined;
  if (!isRecord(first) || typeof first.action_id !== "string") {
    return { ok: false, reason: "block_actions payload has no action" };
  }
  const messageTs =
    (isRecord(payload.container) ? optionalString(payload.container.message_ts) : undefined) ??
    (isRecord(payload.message) ? optionalString(payload.message.ts) : undefined);
  return {
    ok: true,
    interaction: {
      type: "block_actions",
      user: actorOf(user, user.id),
      actionId: first.action_id,
      value: optionalString(first.value),
      responseUrl: optionalString(payload.response_url),
      message: messageOf(payload.message),
      channelId:
        (isRecord(payload.channel) ? optionalString(payload.channel.id) : undefined) ??
        (isRecord(payload.container) ? optionalString(payload.container.channel_id) : undefined),
      triggerId: optionalString(payload.trigger_id),
      messageTs,
    },
  };
}

/**
 * Parses the payload JSON of a `view_submission` interaction: strict on the user id and the
 * view's `callback_id`, lenient on the rest (checked by the caller).
 */
export function parseViewSubmission(
  payloadJson: string,
): { ok: true; submission: ViewSubmission } | { ok: false; reason: string } {
  const parsed = parseJson(payloadJson);
  if (!parsed) return { ok: false, reason: "payload is not valid JSON" };
  const payload = parsed.value;
  if (!isRecord(payload) || payload.type !== "view_submission") {
    return { ok: false, reason: "payload is not a view_submission" };
  }
  const { user, view } = payload;
  if (!isRecord(user) || typeof user.id !== "string" || user.id === "") {
    return { ok: false, reason: "view_submission payload has no user id" };
  }
  if (!isRecord(view) || typeof view.callback_id !== "string") {
    return { ok: false, reason: "view_submission payload has no view callback_id" };
  }
  const values = isRecord(view.state) ? view.state.values : undefined;
  const block = isRecord(values) ? values[REJECT_REASON_INPUT_ID] : undefined;
  const input = isRecord(block) ? block[REJECT_REASON_INPUT_ID] : undefined;
  return {
    ok: true,
    submission: {
      user: actorOf(user, user.id),
      callbackId: view.callback_id,
      privateMetadata: optionalString(view.private_metadata),
      reason: isRecord(input) ? input.value : undefined,
    },
  };
}

/**
 * Trims a reason and caps it at {@link REJECT_REASON_MAX_CHARS}; undefined when nothing is left.
 * Slack enforces the input's `max_length`, but the submission is re-validated all the same.
 */
export function normalizeReason(raw: unknown): string | undefined {
  if (typeof raw !== "string") return undefined;
  const trimmed = wellFormed(raw).trim();
  if (trimmed === "") return undefined;
  return truncateText(trimmed, REJECT_REASON_MAX_CHARS).text;
}

/**
 * Serializes the modal's `private_metadata`, keeping the original message (minus our buttons)
 * when it fits in {@link PRIVATE_METADATA_MAX_CHARS}, else its text, else no message at all.
 * Undefined when not even the essentials fit.
 */
export function rejectReasonMetadata(meta: RejectReasonMetadata): string | undefined {
  const { message, ...essentials } = meta;
  const kept = message?.blocks?.filter((block) => !isOurActionsBlock(block));
  const candidates: (SlackMessage | undefined)[] = [
    message && { text: message.text, blocks: kept && kept.length > 0 ? kept : undefined },
    message?.text === undefined ? undefined : { text: cut(message.text, 1000) },
    undefined,
  ];
  for (const candidate of candidates) {
    const json = JSON.stringify(candidate ? { ...essentials, message: candidate } : essentials);
    if (json.length <= PRIVATE_METADATA_MAX_CHARS) return json;
  }
  return undefined;
}

/** Parses and re-validates `private_metadata` of a submitted modal; undefined when malformed. */
export function parseRejectReasonMetadata(
  json: string | undefined,
): RejectReasonMetadata | undefined {
  const target = parseApprovalButtonValue(json);
  if (!target || json === undefined) return undefined;
  const parsed = JSON.parse(json, wellFormedReviver) as Record<string, unknown>;
  const { responseUrl, clickedAt, channel, messageTs, message } = parsed;
  if (typeof responseUrl !== "string" || !isHttpUrl(responseUrl)) return undefined;
  const result: RejectReasonMetadata = { ...target, responseUrl };
  if (typeof clickedAt === "string" && !Number.isNaN(Date.parse(clickedAt))) {
    result.clickedAt = clickedAt;
  }
  if (typeof channel === "string" && channel !== "") result.channel = channel;
  if (typeof messageTs === "string" && messageTs !== "") result.messageTs = messageTs;
  const kept = messageOf(message);
  if (kept) result.message = kept;
  return result;
}
