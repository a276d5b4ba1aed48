/**
 * The texts of a reminder and of an expired request, as Slack messages (mrkdwn, Block Kit).
 * Pipeline, stage and action names are CodePipeline names (`[A-Za-z0-9.@\-_]`, nothing mrkdwn
 * could misread); they are escaped anyway, like every text that did not come from us.
 */
import { escapeSlackText } from "../slack-text";
import type { PendingApproval } from "../store/pending";

/** A Slack message body: `text` (the notification fallback) and `blocks`. */
export interface ReminderMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

/** `2026-12-01 14:00 UTC` for an ISO time. */
export function utcTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A duration in words, rounded to whole days, else hours, else minutes: "7 days", "1 hour". */
export function durationWords(ms: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes >= 24 * 60) return unit(Math.round(minutes / (24 * 60)), "day");
  if (minutes >= 60) return unit(Math.round(minutes / 60), "hour");
  return unit(minutes, "minute");
}

/** `pipeline › stage › action` (escaped). */
function what(p: PendingApproval): string {
  return [p.pipeline, p.stage, p.action].map(escapeSlackText).join(" › ");
}

/** A link to the execution in the CodePipeline console, where the request can be reviewed. */
function consoleLink(p: PendingApproval): string {
  return `<${p.consoleUrl}|Review in CodePipeline>`;
}

/**
 * The one reminder: mentions every approver (`<@U…>`, which notifies them), says when the request
 * expires (UTC) and links the execution. In bot mode it is a reply in the request's thread, whose
 * buttons still decide; with a webhook it is a new message that points at the request above.
 */
export function reminderMessage(p: PendingApproval, threaded: boolean): ReminderMessage {
  const mentions = p.approvers.map((u) => `<@${u}>`).join(" ");
  const where = threaded ? "the buttons above" : "the approval request in this channel";
  const text =
    `${mentions} reminder: approval of ${what(p)} is still waiting for a decision; ` +
    `it expires ${utcTime(p.approvalExpiresAt)}.`;
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `:hourglass: ${text}` } },
      {
        type: "context",
        elements: [{ type: "mrkdwn", text: `Decide with ${where}, or ${consoleLink(p)}.` }],
      },
    ],
  };
}

/**
 * What an expired request says: "expired — no decision in <N days>", counted from the request
 * to when CodePipeline ended it (`endedAt`, else the expected expiry). Its blocks carry no
 * actions, so that `chat.update` removes the buttons.
 */
export function expiredMessage(p: PendingApproval, endedAt?: Date): ReminderMessage {
  const end = endedAt?.getTime() ?? Date.parse(p.approvalExpiresAt);
  const waited = durationWords(end - Date.parse(p.requestedAt));
  const text = `Approval of ${what(p)} expired — no decision in ${waited}.`;
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `:no_entry_sign: *${text}*` } },
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: `Execution ${escapeSlackText(p.executionId)} · ${consoleLink(p)}`,
          },
        ],
      },
    ],
  };
}
