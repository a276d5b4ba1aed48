/**
 * Pure parts of the Slack approval flow: parsing the interaction payload and the button value,
 * deciding who may approve, and building the Slack messages. No I/O here, so every rule is
 * testable on its own.
 */
import { findPipelineRule } from "./routing";
import type { PipelineRule } from "./types";
import { escapeSlackText } from "./slack-text";

/** `action_id` of the approve button posted by the fan-out. */
export const APPROVE_ACTION_ID = "deploy-notifier.approve";
/** `action_id` of the reject button posted by the fan-out. */
export const REJECT_ACTION_ID = "deploy-notifier.reject";

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
}

/** Any other interaction type (view_submission, shortcut, …), which this app ignores. */
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

/** The summary PutApprovalResult records, e.g. "Approved by Jane Doe (U012ABC) via Slack". */
export function approvalSummary(decision: ApprovalDecision, user: SlackActor): string {
  // CodePipeline caps the summary at 512 characters; a Slack display name is far shorter.
  return `${decision} by ${actorLabel(user)} via Slack`.slice(0, 512);
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

/** The line that replaces the buttons once decided: "✅ Approved by <@U…> at 14:02 UTC". */
export function decisionLine(decision: ApprovalDecision, userId: string, at: string): string {
  const icon = decision === "Approved" ? "✅" : "❌";
  return `${icon} ${decision} by ${mentionOf(userId)} at ${utcTime(at)}`;
}

/** What the loser of a double click is told: "Already approved by <@U…> at 14:02 UTC." */
export function alreadyDecidedText(decision: string, userId: string, at: string): string {
  const verb = decision === "Rejected" ? "rejected" : "approved";
  return `Already ${verb} by ${mentionOf(userId)} at ${utcTime(at)}.`;
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

export { findPipelineRule };
