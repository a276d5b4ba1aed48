/**
 * The rewritten request of a run that ended without a click (handlers/reminders/ended-message.ts),
 * cut to Slack's limits as mrkdwn: its top-level `text` is the notification fallback, one short
 * line (`SLACK_LIMITS.fallbackText`, https://api.slack.com/methods/chat.postMessage#text_usage),
 * parsed as mrkdwn, so a cut must not leave half of a `<!date^…|…>` or of an `&amp;` there (Slack,
 * "Formatting text for app surfaces": `<…>` spans and the `&amp;` / `&lt;` / `&gt;` escapes).
 * It cut the raw string at 300 characters: a long pipeline name or a console summary put the cut
 * inside the `<!date>` of the line, and the notification showed
 * "… at <!date^1796133720^{date_num} {time}|2026-12-" as text.
 */
import {
  endedEnding,
  endedReason,
  MRKDWN,
  nextStep,
  type RunEnd,
} from "../../handlers/approval/ended";
import { SLACK_LIMITS } from "../../handlers/channels/slack-limits";
import { endedLine, endedRequestMessage } from "../../handlers/reminders/ended-message";
import type { StoredPending } from "../../handlers/store/pending";

/** CodePipeline allows names of 1–100 characters of `A-Za-z0-9.@-_` (API_PipelineDeclaration.html). */
const pending = (pipeline: string) =>
  ({
    pipeline,
    stage: "ProductionApproval",
    action: "ManualApprovalForRelease",
    executionId: "64bd3ca1-1111-2222-3333-444455556666",
    consoleUrl: `https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/${pipeline}/view`,
  }) as unknown as StoredPending;

/** The message the fan-out writes for `end` (reminders/ended.ts `endingOf`, not decided by a click). */
function rewritten(p: StoredPending, end: RunEnd) {
  const reason = endedReason(p, end, MRKDWN);
  const icon = end.kind !== "decided" ? "🚫" : end.status === "Succeeded" ? "✅" : "❌";
  const ending = endedEnding(p, end, reason, nextStep(p, end));
  return endedRequestMessage(p, ending, endedLine(icon, reason), end.kind === "decided");
}

/** What is left of `text` once every whole `<…>` span and entity is taken out. */
const markupLeft = (text: string) => text.replace(/<[^<>]*>/g, "").replace(/&(?:amp|lt|gt);/g, "");

describe("the notification text of a rewritten request", () => {
  it("a stopped execution of a 70-character pipeline: the cut does not split the <!date>", () => {
    const p = pending(`payments-${"x".repeat(52)}-eu-west-1`);
    const end: RunEnd = {
      kind: "execution",
      status: "Stopped",
      executionId: p.executionId,
      endedAt: new Date("2026-12-01T14:02:31Z"),
    };
    const { text } = rewritten(p, end);
    expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
    expect(markupLeft(text)).not.toMatch(/[<>]/);
    // The date is left out whole, and the cut is marked.
    expect(text.endsWith("› ManualApprovalForRelease ended at …")).toBe(true);
  });

  it("a console rejection whose summary is cut: no half entity, the cut is marked", () => {
    const p = pending("main-app-production");
    const end: RunEnd = {
      kind: "decided",
      status: "Failed",
      // Escaped for mrkdwn, "R&D" is "R&amp;D", whose "&" falls 3 characters before the limit.
      summary: `Blocked: R&D says no: ${"wrong build & missing migration; ".repeat(6)}`,
      by: "arn:aws:sts::123456789012:assumed-role/CodePipelineApprovers/jane.doe@example.com",
      at: new Date("2026-12-01T14:02:31Z"),
    };
    const { text } = rewritten(p, end);
    expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
    expect(markupLeft(text)).not.toMatch(/[<>&]/);
    expect(text.endsWith(": Blocked: R…")).toBe(true);
  });
});

describe("what the rewritten request says once", () => {
  /** The texts a reader sees in the message's blocks (header, fields, context), in order. */
  const shown = (m: ReturnType<typeof rewritten>) =>
    JSON.stringify(m.blocks)
      .match(/"text":"(?:[^"\\]|\\.)*"/g)!
      .map((t) => JSON.parse(`{${t}}`).text as string);

  it("an execution that ended: its reason is in the State field, not again in a context line", () => {
    const p = pending("main-app-production");
    const end: RunEnd = {
      kind: "execution",
      status: "Stopped",
      executionId: p.executionId,
      endedAt: new Date("2026-12-01T14:02:31Z"),
    };
    const m = rewritten(p, end);
    const reason = endedReason(p, end, MRKDWN);
    expect(shown(m).filter((t) => t.includes(reason))).toHaveLength(1);
    expect(m.blocks.map((b) => b.type)).toEqual(["header", "section"]);
    // The notification still carries it.
    expect(m.text).toContain(reason);
  });

  it("a decision keeps its line: it adds the reviewer's comment", () => {
    const p = pending("main-app-production");
    const end: RunEnd = {
      kind: "decided",
      status: "Failed",
      summary: "wrong build",
      by: "arn:aws:iam::123456789012:role/approver",
      at: new Date("2026-12-01T14:02:31Z"),
    };
    const m = rewritten(p, end);
    expect(m.blocks.map((b) => b.type)).toEqual(["header", "section", "context"]);
    expect(shown(m).at(-1)).toMatch(/: wrong build\.$/);
  });

  it.each([
    ["Stopped", "Stopped."],
    ["Did they ship it?", "Did they ship it?"],
    ["cut here…", "cut here…"],
    ["Done.", "Done."],
    ["Halted!", "Halted!"],
  ])("endedLine ends %j with one sentence mark: %j", (reason, ends) => {
    expect(endedLine("🚫", reason)).toBe(`🚫 ${ends}`);
  });
});
