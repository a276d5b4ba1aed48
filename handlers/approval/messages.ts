/**
 * Everything the approval flow says, to Slack and to CodePipeline: the message that replaces the
 * buttons, ephemerals, the reject-reason modal (Block Kit, typed with `@slack/types`), and the
 * PutApprovalResult summary. Pure: no I/O.
 */
import type { ContextBlock, KnownBlock, ModalView, SectionBlock } from "@slack/types";
import {
  ACTION_ID_PREFIX,
  REJECT_REASON_CALLBACK_ID,
  REJECT_REASON_INPUT_ID,
  type ApprovalDecision,
} from "../contracts/slack-approval";
import { cut } from "../events/fields";
import { escapeSlackText, fitLine, humanTime, slackTime, truncateText } from "../slack-text";
import type { ApprovalClaim, ApprovalTarget, SlackActor, SlackMessage } from "./types";
import { isRecord } from "./util";

/** The longest reason accepted; the modal's input enforces it too. */
export const REJECT_REASON_MAX_CHARS = 500;
/**
 * PutApprovalResult's `result.summary` is at most 512 characters
 * (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ApprovalResult.html).
 */
export const APPROVAL_SUMMARY_MAX_CHARS = 512;

/** A response_url body: an ephemeral to the clicker, or the replacement of the original message. */
export interface ResponseUrlBody {
  response_type?: "ephemeral";
  replace_original: boolean;
  text: string;
  /** Our blocks read back from Slack (untyped JSON) plus the ones built here. */
  blocks?: (KnownBlock | Record<string, unknown>)[];
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
  if (!reason || room < 2) return cut(base, APPROVAL_SUMMARY_MAX_CHARS);
  return `${base}: ${truncateText(reason, room).text}`;
}

/**
 * A Slack mention of a user id; anything that is not a plain user id is escaped instead, so a
 * forged id can never become a `<!channel>`.
 */
export function mentionOf(userId: string): string {
  return /^[UW][A-Z0-9]{1,20}$/.test(userId) ? `<@${userId}>` : escapeSlackText(userId);
}

export { humanTime, slackTime };

/**
 * The line that replaces the buttons once decided: "✅ Approved by <@U…> at <!date^…|2026-12-01
 * 14:02 UTC>", or "❌ Rejected by <@U…> at <!date^…>: <reason>" with the reason escaped (it is
 * user text); times as slack-text.ts `slackTime`.
 */
export function decisionLine(
  decision: ApprovalDecision,
  userId: string,
  at: string,
  reason?: string,
): string {
  const icon = decision === "Approved" ? "✅" : "❌";
  const line = `${icon} ${decision} by ${mentionOf(userId)} at ${slackTime(at)}`;
  return reason ? `${line}: ${escapeSlackText(reason)}` : line;
}

/**
 * What the loser of a double click is told: "Already approved by <@U…> at <!date^…|2026-12-01
 * 14:02 UTC>." (slack-text.ts `slackTime`).
 */
export function alreadyDecidedText(decision: string, userId: string, at: string): string {
  const verb = decision === "Rejected" ? "rejected" : "approved";
  return `Already ${verb} by ${mentionOf(userId)} at ${slackTime(at)}.`;
}

/**
 * The plain-text variant of {@link alreadyDecidedText} for a modal's error, where mentions do not
 * render, nor does `<!date>`: "Already approved by Jane Doe (U012ABC) at 2026-12-01 14:02 UTC."
 */
export function alreadyDecidedPlain(decision: string, user: SlackActor, at: string): string {
  const verb = decision === "Rejected" ? "rejected" : "approved";
  return `Already ${verb} by ${actorLabel(user)} at ${humanTime(at)}.`;
}

/** A response_url body that shows `text` only to the clicking user and keeps the message. */
export function ephemeral(text: string): ResponseUrlBody {
  return { response_type: "ephemeral", replace_original: false, text };
}

/** Whether a block read back from Slack is the actions block that holds our buttons. */
export function isOurActionsBlock(block: Record<string, unknown>): boolean {
  if (block.type !== "actions" || !Array.isArray(block.elements)) return false;
  return block.elements.some(
    (element: unknown) =>
      isRecord(element) &&
      typeof element.action_id === "string" &&
      element.action_id.startsWith(ACTION_ID_PREFIX),
  );
}

/**
 * Slack's header block text limit: plain_text of at most 150 characters
 * (https://docs.slack.dev/reference/block-kit/blocks/header-block).
 */
export const HEADER_MAX_CHARS = 150;

/**
 * How a request ended, as its rewritten blocks say it: the header line (plain text, at most
 * {@link HEADER_MAX_CHARS}: its names are cut, never what it says happened, slack-text.ts
 * `fitLine`) and the State field (mrkdwn). See {@link decidedEnding} and {@link replacedEnding}.
 */
export interface RequestEnding {
  header: string;
  state: string;
}

/**
 * The ending of a decided request: header "✅ main-app: approved by Jane Doe at 2026-12-01 14:02
 * UTC" (plain text: `humanTime`), the Decision field with Slack's `<!date>` (`slackTime`). With
 * `stopping` (its execution was stopping as it was decided: token.ts `RunToken`), the header ends
 * "(execution stopping)", kept when long names are cut to fit, and the State adds
 * {@link STOPPING_NOTE}: an approval then releases nothing.
 */
export function decidedEnding(claim: ApprovalClaim, stopping = false): RequestEnding {
  const verb = claim.decision === "Approved" ? "approved" : "rejected";
  const icon = claim.decision === "Approved" ? "✅" : "❌";
  const by = claim.user.name ?? claim.user.username ?? claim.user.id;
  const decision = `*Decision*\n${icon} ${claim.decision} by ${mentionOf(claim.user.id)} at ${slackTime(claim.at)}`;
  const header = fitLine(
    [
      `${icon} `,
      { cut: claim.pipeline },
      `: ${verb} by `,
      { cut: by },
      ` at ${humanTime(claim.at)}${stopping ? " (execution stopping)" : ""}`,
    ],
    HEADER_MAX_CHARS,
  );
  return { header, state: stopping ? `${decision}\n${STOPPING_NOTE}` : decision };
}

/**
 * What a decided request says when its execution was stopping (stop and wait) as it was decided:
 * the approval's in-progress run completes, then the execution is Stopped (user guide, "Stop a
 * pipeline execution"), so nothing after this stage runs, whatever was decided.
 */
export const STOPPING_NOTE =
  "⏹️ The execution is stopping: it ends once this approval is decided and does not go on. To release this revision, retry this stage once it has stopped.";

/**
 * The one wording of a request whose approval run was replaced, in CodePipeline's term: each run
 * of an action is an action execution (API_ListActionExecutions.html; user guide, "Approve or
 * reject an approval action": "the token associated with latest execution of the approval
 * action"), and a retried stage runs its failed actions again (user guide, "Configuring stage
 * retry": "failed actions are triggered again"; RetryStageExecution), a new action execution
 * with a new token. The clicker's ephemeral, the message's header, State and context line, the
 * audit result and the sandbox page's badge all say it so.
 */
export const REPLACED = "replaced by a newer action execution (the stage was retried)";

/** What to do about a replaced request: its newer action execution has a request of its own. */
export const REPLACED_NEXT = "use the newest message";

/** The ending of a request whose approval run was replaced ({@link REPLACED}; nothing decided). */
export function replacedEnding(target: ApprovalTarget): RequestEnding {
  return {
    header: fitLine(["⏭️ ", { cut: target.pipeline }, `: ${REPLACED}`], HEADER_MAX_CHARS),
    state: `*State*\n⏭️ ${REPLACED[0].toUpperCase()}${REPLACED.slice(1)}; ${REPLACED_NEXT}`,
  };
}

/**
 * A request block rewritten once it ended, so nothing still reads as pending: the header says
 * how it ended, the State field becomes the ending's, and the Expires line goes. Other blocks are
 * returned unchanged.
 */
function endedBlock(
  block: Record<string, unknown>,
  ending: RequestEnding,
): Record<string, unknown> {
  if (block.type === "header") {
    return {
      ...block,
      text: {
        type: "plain_text",
        emoji: true,
        text: truncateText(ending.header, HEADER_MAX_CHARS).text,
      },
    };
  }
  if (block.type !== "section") return block;
  const fields = Array.isArray(block.fields)
    ? block.fields.map((f: unknown) =>
        isRecord(f) && typeof f.text === "string" && f.text.startsWith("*State*\n")
          ? { ...f, text: ending.state }
          : f,
      )
    : block.fields;
  const text =
    isRecord(block.text) && typeof block.text.text === "string"
      ? {
          ...block.text,
          text: block.text.text
            .split("\n")
            .filter((l: string) => !l.startsWith("*Expires* "))
            .join("\n"),
        }
      : block.text;
  return {
    ...block,
    ...(block.fields !== undefined && { fields }),
    ...(block.text !== undefined && { text }),
  };
}

/**
 * A response_url body that replaces the original approval request: its blocks (our own, already
 * escaped when the fan-out posted them) without the approve/reject buttons, plus a context line.
 * With an `ending` ({@link decidedEnding}, {@link replacedEnding}), the header, State field and
 * Expires line no longer read as pending (see `endedBlock`). `line` must already be safe mrkdwn. Text is cut at 3000
 * characters, blocks at Slack's 50.
 */
export function replaceButtons(
  original: SlackMessage | undefined,
  line: string,
  ending?: RequestEnding,
): ResponseUrlBody {
  const kept = (original?.blocks ?? [])
    .filter((block) => !isOurActionsBlock(block))
    .map((block) => (ending ? endedBlock(block, ending) : block));
  const fallback = original?.text ?? "Deployment approval";
  const section: SectionBlock = {
    type: "section",
    text: { type: "mrkdwn", text: cut(fallback, 3000) },
  };
  const blocks = kept.length > 0 ? kept : [section];
  const outcome: ContextBlock = { type: "context", elements: [{ type: "mrkdwn", text: line }] };
  return {
    replace_original: true,
    text: cut(`${fallback}\n${line}`, 3000),
    // Slack allows 50 blocks per message; keep room for the decision line.
    blocks: [...blocks.slice(0, 49), outcome],
  };
}

/**
 * The "Reject deployment" modal: one required multi-line reason and a context line naming the
 * approval (escaped: the names came back from a button value). `privateMetadata` comes from
 * `rejectReasonMetadata` in interaction.ts (at most 3000 characters).
 */
export function rejectReasonModal(target: ApprovalTarget, privateMetadata: string): ModalView {
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
      { type: "context", elements: [{ type: "mrkdwn", text: cut(what, 3000) }] },
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
