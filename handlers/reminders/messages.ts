/**
 * The texts of a reminder and of an expired request, as Slack messages (mrkdwn, Block Kit).
 * Pipeline, stage and action names are CodePipeline names (`[A-Za-z0-9.@\-_]`, nothing mrkdwn
 * could misread); they are escaped anyway, like every text that did not come from us.
 */
import { escapeSlackText, slackTime } from "../slack-text";
import type { PendingApproval } from "../store/pending";

/** A Slack message body: `text` (the notification fallback) and `blocks`. */
export interface ReminderMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
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
function what(p: Pick<PendingApproval, "pipeline" | "stage" | "action">): string {
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
    `it expires ${slackTime(p.approvalExpiresAt)}.`;
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
 * How an approval run ended without a decision: `expired` (CodePipeline's timeout; `waitedMs`
 * from the request to the end, when known; under a minute is worded "in time"), or its execution ended around it — `Stopped` /
 * `Stopping` (StopPipelineExecution), `Superseded`, `Cancelled` (the pipeline's definition was
 * updated) or any other status of GetPipelineExecution (API_PipelineExecution.html `status`),
 * with when CodePipeline ended the run (`endedAt`).
 */
export type ApprovalEnd =
  | { kind: "expired"; waitedMs?: number }
  | {
      kind: "execution";
      status: string;
      executionId: string;
      endedAt?: Date;
      /** Why it was stopped, as whoever stopped it wrote it (ListPipelineExecutions `stopTrigger.reason`). */
      reason?: string;
    };

/** What happened to an execution, by its GetPipelineExecution status (API_PipelineExecution.html). */
const EXECUTION_ENDED: Record<string, string> = {
  Stopped: "was stopped",
  Stopping: "was stopped",
  Superseded: "was superseded by a newer execution",
  Cancelled: "was cancelled (the pipeline was updated)",
  Failed: "failed",
  Succeeded: "ended",
};

/**
 * The one wording of an approval that ended undecided, shared by the expiry notice and the
 * approval function's answer to a click (mrkdwn-safe: names escaped): "Approval of a › b › c
 * expired — no decision in 7 days." or "Approval of a › b › c ended at 2026-12-01 08:52 UTC:
 * execution 64bd3ca1 was stopped (reason: …)." (the execution's first 8 characters). `time`
 * writes when: Slack's `<!date>` (mrkdwn, the default), `humanTime` for plain text, ISO for the
 * audit; `text` writes the stop's reason (someone else's text): escaped for mrkdwn (the
 * default), as written for plain text and the audit, which escaping would misquote ("R&D" read
 * "R&amp;D", and a later clicker's mrkdwn answer escaped it twice).
 */
export function approvalEndedText(
  names: Pick<PendingApproval, "pipeline" | "stage" | "action">,
  end: ApprovalEnd,
  time: (iso: string) => string = slackTime,
  text: (text: string) => string = escapeSlackText,
): string {
  if (end.kind === "expired") {
    // Under a minute is no wait CodePipeline's approval timeout gives (minutes to days): a run
    // whose times say so was ended early or read from a skewed clock (the sandbox expires its
    // requests at once); "0 minutes" would be wrong, so it says "in time", as the page does.
    const known = end.waitedMs !== undefined && end.waitedMs >= 60_000;
    const waited = known ? durationWords(end.waitedMs as number) : "time";
    return `Approval of ${what(names)} expired — no decision in ${waited}.`;
  }
  const at = end.endedAt ? ` at ${time(end.endedAt.toISOString())}` : "";
  const id = escapeSlackText(end.executionId.slice(0, 8));
  const happened = EXECUTION_ENDED[end.status] ?? "ended";
  const why = end.reason ? ` (reason: ${text(end.reason)})` : "";
  return `Approval of ${what(names)} ended${at}: execution ${id} ${happened}${why}.`;
}

/**
 * What an expired request says: "expired — no decision in <N days>", counted from the request
 * to when CodePipeline ended it (`endedAt`, else the expected expiry). Its blocks carry no
 * actions, so that `chat.update` removes the buttons.
 */
export function expiredMessage(p: PendingApproval, endedAt?: Date): ReminderMessage {
  const end = endedAt?.getTime() ?? Date.parse(p.approvalExpiresAt);
  const text = approvalEndedText(p, {
    kind: "expired",
    waitedMs: end - Date.parse(p.requestedAt),
  });
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
