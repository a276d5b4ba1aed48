/**
 * Pure parts of the Slack approval flow: parsing the interaction payload and the button value,
 * deciding who may approve, and building the Slack messages. No I/O here, so every rule is
 * testable on its own.
 */
import { findPipelineRule } from "./routing";
import type { PipelineRule } from "./types";
import { escapeSlackText, truncateText } from "./slack-text";

/** `action_id` of the approve button posted by the fan-out. */
export const APPROVE_ACTION_ID = "deploy-notifier.approve";
/** `action_id` of the reject button posted by the fan-out. */
export const REJECT_ACTION_ID = "deploy-notifier.reject";

/** `callback_id` of the "reject with a reason" modal opened by a Reject click. */
export const REJECT_REASON_CALLBACK_ID = "deploy-notifier.reject-reason";
/** `block_id` and `action_id` of the reason input in that modal. */
export const REJECT_REASON_INPUT_ID = "reason";
/** The longest reason accepted; the modal's input enforces it too. */
export const REJECT_REASON_MAX_CHARS = 500;
/**
 * Slack caps a view's `private_metadata` at 3000 characters
 * (https://api.slack.com/reference/surfaces/views).
 */
export const PRIVATE_METADATA_MAX_CHARS = 3000;
/**
 * PutApprovalResult's `result.summary` is at most 512 characters
 * (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ApprovalResult.html).
 */
export const APPROVAL_SUMMARY_MAX_CHARS = 512;

/** Approved or rejected, as CodePipeline's PutApprovalResult spells it. */
export type ApprovalDecision = "Approved" | "Rejected";

/** The approval a button stands for: the JSON `value` of the approve and reject buttons. */
export interface ApprovalTarget {
  pipeline: string;
  stage: string;
  action: string;
  executionId: string;
}

/** The Slack user who clicked. */
export interface SlackActor {
  id: string;
  username?: string;
  name?: string;
}

/** The subset of a Slack message that the flow reads back from the interaction payload. */
export interface SlackMessage {
  text?: string;
  blocks?: Record<string, unknown>[];
}

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

/** Result of parsing an interaction payload. */
export type ParsedInteraction =
  | { ok: true; interaction: BlockActionsInteraction | OtherInteraction }
  | { ok: false; reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * Parses the JSON of the form field `payload` of an interaction request. Lenient on fields the
 * flow does not need, strict on the ones it does (user id, the first action's id).
 */
export function parseInteraction(payloadJson: string): ParsedInteraction {
  let payload: unknown;
  try {
    payload = JSON.parse(payloadJson);
  } catch {
    return { ok: false, reason: "payload is not valid JSON" };
  }
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
  const message = isRecord(payload.message)
    ? {
        text: optionalString(payload.message.text),
        blocks: Array.isArray(payload.message.blocks)
          ? payload.message.blocks.filter(isRecord)
          : undefined,
      }
    : undefined;
  const channel = isRecord(payload.channel) ? optionalString(payload.channel.id) : undefined;
  const messageTs =
    (isRecord(payload.container) ? optionalString(payload.container.message_ts) : undefined) ??
    (isRecord(payload.message) ? optionalString(payload.message.ts) : undefined);
  return {
    ok: true,
    interaction: {
      type: "block_actions",
      user: {
        id: user.id,
        username: optionalString(user.username),
        name: optionalString(user.name),
      },
      actionId: first.action_id,
      value: optionalString(first.value),
      responseUrl: optionalString(payload.response_url),
      message,
      channelId: channel,
      triggerId: optionalString(payload.trigger_id),
      messageTs,
    },
  };
}

/** Maps a button's `action_id` to the decision it asks for; undefined for foreign buttons. */
export function decisionOf(actionId: string): ApprovalDecision | undefined {
  if (actionId === APPROVE_ACTION_ID) return "Approved";
  if (actionId === REJECT_ACTION_ID) return "Rejected";
  return undefined;
}

/** Parses a button value into the approval it stands for; undefined when malformed. */
export function parseApprovalTarget(value: string | undefined): ApprovalTarget | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const { pipeline, stage, action, executionId } = parsed;
  if (
    typeof pipeline !== "string" ||
    typeof stage !== "string" ||
    typeof action !== "string" ||
    typeof executionId !== "string" ||
    !pipeline ||
    !stage ||
    !action ||
    !executionId
  ) {
    return undefined;
  }
  return { pipeline, stage, action, executionId };
}

/** Whether a user may decide an approval, and if not, why (shown to them, and audited). */
export type Authorization =
  | { allowed: true }
  | { allowed: false; reason: "not-configured" | "not-an-approver"; message: string };

/**
 * Decides whether `userId` may approve or reject `pipeline`: the pipeline must match a configured
 * rule with Slack approvals, and the user must be one of its approvers.
 */
export function authorizeApprover(
  pipelines: PipelineRule[],
  pipeline: string,
  userId: string,
): Authorization {
  const rule = findPipelineRule(pipelines, pipeline);
  const name = escapeSlackText(pipeline);
  if (!rule?.approvals) {
    return {
      allowed: false,
      reason: "not-configured",
      message: `${name} is not configured for Slack approvals.`,
    };
  }
  if (!rule.approvals.approvers.includes(userId)) {
    return {
      allowed: false,
      reason: "not-an-approver",
      message: `You are not an approver for ${name}.`,
    };
  }
  return { allowed: true };
}

/** How a person is named in audit records and the CodePipeline summary: "Jane Doe (U012ABC)". */
export function actorLabel(user: SlackActor): string {
  const name = user.name ?? user.username;
  return name ? `${name} (${user.id})` : user.id;
}

/**
 * The summary PutApprovalResult records, e.g. "Approved by Jane Doe (U012ABC) via Slack", or
 * "Rejected by Jane Doe (U012ABC) via Slack: <reason>". The reason is cut (marked with "…") so
 * that the summary fits CodePipeline's {@link APPROVAL_SUMMARY_MAX_CHARS}.
 */
export function approvalSummary(
  decision: ApprovalDecision,
  user: SlackActor,
  reason?: string,
): string {
  const base = `${decision} by ${actorLabel(user)} via Slack`;
  const room = APPROVAL_SUMMARY_MAX_CHARS - base.length - 2;
  if (!reason || room < 2) return base.slice(0, APPROVAL_SUMMARY_MAX_CHARS);
  return `${base}: ${truncateText(reason, room).text}`;
}

/**
 * A Slack mention of a user id; anything that is not a plain user id is escaped instead, so a
 * forged id can never become a `<!channel>`.
 */
export function mentionOf(userId: string): string {
  return /^[UW][A-Z0-9]{1,20}$/.test(userId) ? `<@${userId}>` : escapeSlackText(userId);
}

/** "14:02 UTC" for an ISO instant. */
export function utcTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return escapeSlackText(iso);
  return `${date.toISOString().slice(11, 16)} UTC`;
}

/**
 * The line that replaces the buttons once decided: "✅ Approved by <@U…> at 14:02 UTC", or
 * "❌ Rejected by <@U…> at 14:02 UTC: <reason>" with the reason escaped (it is user text).
 */
export function decisionLine(
  decision: ApprovalDecision,
  userId: string,
  at: string,
  reason?: string,
): string {
  const icon = decision === "Approved" ? "✅" : "❌";
  const line = `${icon} ${decision} by ${mentionOf(userId)} at ${utcTime(at)}`;
  return reason ? `${line}: ${escapeSlackText(reason)}` : line;
}

/** What the loser of a double click is told: "Already approved by <@U…> at 14:02 UTC." */
export function alreadyDecidedText(decision: string, userId: string, at: string): string {
  const verb = decision === "Rejected" ? "rejected" : "approved";
  return `Already ${verb} by ${mentionOf(userId)} at ${utcTime(at)}.`;
}

/**
 * The plain-text variant of {@link alreadyDecidedText} for a modal's error, where mentions do not
 * render: "Already approved by Jane Doe (U012ABC) at 14:02 UTC."
 */
export function alreadyDecidedPlain(decision: string, user: SlackActor, at: string): string {
  const verb = decision === "Rejected" ? "rejected" : "approved";
  return `Already ${verb} by ${actorLabel(user)} at ${utcTime(at)}.`;
}

/** A response_url body that shows `text` only to the clicking user and keeps the message. */
export function ephemeral(text: string): Record<string, unknown> {
  return { response_type: "ephemeral", replace_original: false, text };
}

function isOurActionsBlock(block: Record<string, unknown>): boolean {
  if (block.type !== "actions" || !Array.isArray(block.elements)) return false;
  return block.elements.some(
    (element: unknown) =>
      isRecord(element) &&
      typeof element.action_id === "string" &&
      element.action_id.startsWith("deploy-notifier."),
  );
}

/**
 * A response_url body that replaces the original approval request: its blocks (our own, already
 * escaped when the fan-out posted them) without the approve/reject buttons, plus a context line.
 * `line` must already be safe mrkdwn.
 */
export function replaceButtons(
  original: SlackMessage | undefined,
  line: string,
): Record<string, unknown> {
  const kept = (original?.blocks ?? []).filter((block) => !isOurActionsBlock(block));
  const fallback = original?.text ?? "Deployment approval";
  const blocks =
    kept.length > 0
      ? kept
      : [{ type: "section", text: { type: "mrkdwn", text: fallback.slice(0, 3000) } }];
  return {
    replace_original: true,
    text: `${fallback}\n${line}`.slice(0, 3000),
    // Slack allows 50 blocks per message; keep room for the decision line.
    blocks: [
      ...blocks.slice(0, 49),
      { type: "context", elements: [{ type: "mrkdwn", text: line }] },
    ],
  };
}

/**
 * Trims a reason and caps it at {@link REJECT_REASON_MAX_CHARS}; undefined when nothing is left.
 * Slack enforces the input's `max_length`, but the submission is re-validated all the same.
 */
export function normalizeReason(raw: unknown): string | undefined {
  if (typeof raw !== "string") return undefined;
  const trimmed = raw.trim();
  if (trimmed === "") return undefined;
  return truncateText(trimmed, REJECT_REASON_MAX_CHARS).text;
}

/**
 * What the reject-reason modal carries in `private_metadata` to finish the rejection on submit.
 * Not secret (though `responseUrl` is a capability URL: never log it), and only Slack can send it
 * back, inside a signed request; it is re-validated on submission all the same.
 */
export interface RejectReasonMetadata extends ApprovalTarget {
  /** The click's response_url, to replace the buttons once rejected. */
  responseUrl: string;
  channel?: string;
  messageTs?: string;
  /** The approval request without its buttons, when it fits; else only its text, or nothing. */
  message?: SlackMessage;
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
    message?.text === undefined ? undefined : { text: message.text.slice(0, 1000) },
    undefined,
  ];
  for (const candidate of candidates) {
    const json = JSON.stringify(candidate ? { ...essentials, message: candidate } : essentials);
    if (json.length <= PRIVATE_METADATA_MAX_CHARS) return json;
  }
  return undefined;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

/** Parses and re-validates `private_metadata` of a submitted modal; undefined when malformed. */
export function parseRejectReasonMetadata(
  json: string | undefined,
): RejectReasonMetadata | undefined {
  const target = parseApprovalTarget(json);
  if (!target || json === undefined) return undefined;
  const parsed = JSON.parse(json) as Record<string, unknown>;
  const { responseUrl, channel, messageTs, message } = parsed;
  if (typeof responseUrl !== "string" || !isHttpUrl(responseUrl)) return undefined;
  const result: RejectReasonMetadata = { ...target, responseUrl };
  if (typeof channel === "string" && channel !== "") result.channel = channel;
  if (typeof messageTs === "string" && messageTs !== "") result.messageTs = messageTs;
  if (isRecord(message)) {
    result.message = {
      text: optionalString(message.text),
      blocks: Array.isArray(message.blocks) ? message.blocks.filter(isRecord) : undefined,
    };
  }
  return result;
}

/**
 * The "Reject deployment" modal: one required multi-line reason and a context line naming the
 * approval (escaped: the names came back from a button value). `privateMetadata` comes from
 * {@link rejectReasonMetadata}.
 */
export function rejectReasonModal(
  target: ApprovalTarget,
  privateMetadata: string,
): Record<string, unknown> {
  const e = escapeSlackText;
  const what =
    `Pipeline *${e(target.pipeline)}* · stage *${e(target.stage)}* · ` +
    `action *${e(target.action)}* · execution ${e(target.executionId)}`;
  return {
    type: "modal",
    callback_id: REJECT_REASON_CALLBACK_ID,
    title: { type: "plain_text", text: "Reject deployment" },
    submit: { type: "plain_text", text: "Reject" },
    close: { type: "plain_text", text: "Cancel" },
    private_metadata: privateMetadata,
    blocks: [
      { type: "context", elements: [{ type: "mrkdwn", text: what.slice(0, 3000) }] },
      {
        type: "input",
        block_id: REJECT_REASON_INPUT_ID,
        label: { type: "plain_text", text: "Reason" },
        element: {
          type: "plain_text_input",
          action_id: REJECT_REASON_INPUT_ID,
          multiline: true,
          max_length: REJECT_REASON_MAX_CHARS,
          placeholder: { type: "plain_text", text: "Why is this deployment rejected?" },
        },
      },
    ],
  };
}

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
 * Parses the payload JSON of a `view_submission` interaction: strict on the user id and the
 * view's `callback_id`, lenient on the rest (checked by the caller).
 */
export function parseViewSubmission(
  payloadJson: string,
): { ok: true; submission: ViewSubmission } | { ok: false; reason: string } {
  let payload: unknown;
  try {
    payload = JSON.parse(payloadJson);
  } catch {
    return { ok: false, reason: "payload is not valid JSON" };
  }
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
      user: {
        id: user.id,
        username: optionalString(user.username),
        name: optionalString(user.name),
      },
      callbackId: view.callback_id,
      privateMetadata: optionalString(view.private_metadata),
      reason: isRecord(input) ? input.value : undefined,
    },
  };
}

export { findPipelineRule };
