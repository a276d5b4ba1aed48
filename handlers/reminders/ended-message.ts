/**
 * The message that replaces a request whose run ended without a Slack decision (ended.ts). The
 * fan-out does not keep the request's own blocks (its revision, details and review link; Slack
 * returns them only to a click, and `chat.update` replaces every block it is not given back:
 * https://api.slack.com/methods/chat.update, `blocks`), so the request is rebuilt from what the
 * pending item holds, in the request's layout: the header and the State field of the ending
 * (handlers/approval/messages.ts `RequestEnding`, the words a click's rewrite uses), the pipeline,
 * stage / action and execution fields, and the ending's line as context. No actions block: the
 * buttons are gone.
 */
import type { RequestEnding } from "../approval/messages";
import { link } from "../channels/slack-format";
import { SLACK_LIMITS } from "../channels/slack-limits";
import { escapeSlackText, truncateMrkdwn, truncateText } from "../slack-text";
import type { PendingApproval } from "../store/pending";
import type { ReminderMessage } from "./messages";

/**
 * The rewritten request of `p`: header `ending.header` (plain text, cut to Slack's 150), fields
 * Pipeline, Stage / action, the ending's State (or Decision) and Execution (linked to the console),
 * and `line` (mrkdwn, already escaped) as context unless `context` is false (the State field
 * already says it: a replaced request, an execution that ended); `text`, the notification
 * fallback, is the header and the line. Every mrkdwn text is cut as mrkdwn (slack-text.ts
 * `truncateMrkdwn`: never inside a `<!date>`, a link or an `&amp;`, the cut marked "…"): the
 * fallback's 300 characters are reached by a long pipeline name or a console summary.
 */
export function endedRequestMessage(
  p: PendingApproval,
  ending: RequestEnding,
  line: string,
  context = true,
): ReminderMessage {
  const e = escapeSlackText;
  const mrkdwn = (text: string, max: number) => truncateMrkdwn(text, max).text;
  const field = (text: string) => ({ type: "mrkdwn", text: mrkdwn(text, SLACK_LIMITS.fieldText) });
  const header = truncateText(ending.header, SLACK_LIMITS.headerText).text;
  return {
    text: mrkdwn(`${header}\n${line}`, SLACK_LIMITS.fallbackText),
    blocks: [
      { type: "header", text: { type: "plain_text", emoji: true, text: header } },
      {
        type: "section",
        fields: [
          field(`*Pipeline*\n${e(p.pipeline)}`),
          field(`*Stage / action*\n${e(`${p.stage}/${p.action}`)}`),
          field(ending.state),
          field(`*Execution*\n${link(p.consoleUrl, `\`${e(p.executionId)}\``)}`),
        ],
      },
      ...(context
        ? [
            {
              type: "context",
              elements: [{ type: "mrkdwn", text: mrkdwn(line, SLACK_LIMITS.contextText) }],
            },
          ]
        : []),
    ],
  };
}

/**
 * The one line of a rewritten request (mrkdwn): `icon` and `reason`, which ends with a period
 * unless it already ends a sentence or a cut (`.`, `!`, `?`, `…`): "ship it?." and "….", before.
 */
export function endedLine(icon: string, reason: string): string {
  return `${icon} ${/[.!?…]$/.test(reason) ? reason : `${reason}.`}`;
}
