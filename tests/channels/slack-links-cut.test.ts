/**
 * Slack cuts never open a `<url|label>` link or a mention (handlers/slack-text.ts
 * `truncateMrkdwn`): a cut `<https://…` renders as raw text, the link lost and the field garbled.
 */
import { renderSlack, type SlackConfig } from "../../handlers/channels/slack-format";
import { MAX_ID_CHARS } from "../../handlers/events/model";
import { truncateMrkdwn } from "../../handlers/slack-text";
import type { Notification } from "../../handlers/types";
import { mrkdwnTexts } from "./helpers";
import { fixture } from "./helpers";

/** Whether every `<` of mrkdwn `text` is closed by a `>` (a link, mention or date kept whole). */
function linksClosed(text: string): boolean {
  let open = false;
  for (const ch of text) {
    if (ch === "<") {
      if (open) return false;
      open = true;
    } else if (ch === ">") open = false;
  }
  return !open;
}

describe("Slack cuts never open a <url|label> link", () => {
  it("a failure whose execution id is within the parser's cap keeps its Execution link whole", () => {
    // README "Poison input": identifiers up to 1024 characters are accepted ("Within that cap,
    // any identifier works"); REFERENCE.md: the console link carries the execution id.
    const executionId = "e".repeat(MAX_ID_CHARS);
    const base = fixture("failure-hostile");
    const n: Notification = {
      ...base,
      executionId,
      consoleUrl:
        `https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/${base.pipeline}` +
        `/executions/${executionId}/timeline?region=us-east-1`,
    };
    const config = { type: "slack", mode: "bot", channel: "C0X" } as SlackConfig;
    const { message } = renderSlack(n, config);
    const broken = mrkdwnTexts(message.blocks).filter((t) => !linksClosed(t));
    // A cut `<https://…` renders as raw text: the link is lost and the rest of the field garbled.
    expect(broken).toEqual([]);
  });
});

describe("truncateMrkdwn", () => {
  it("leaves a link or mention that the cut would open out whole, and keeps one that fits", () => {
    const text = "*Approvers* <@U012ABCDEF>, <https://example.com/review|Review the change>";
    expect(truncateMrkdwn(text, 40)).toEqual({
      text: "*Approvers* <@U012ABCDEF>, …",
      truncated: true,
    });
    expect(truncateMrkdwn(text, 20)).toEqual({ text: "*Approvers* …", truncated: true });
    expect(truncateMrkdwn(text, text.length)).toEqual({ text, truncated: false });
  });
});
