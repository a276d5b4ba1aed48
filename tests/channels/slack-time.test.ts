/**
 * Slack messages write a time one way (the UX pass: the approval request's Time and Expires and
 * every digest time fell back to raw ISO 8601, "2024-05-01T12:34:56Z", where the approval answers,
 * decision lines and reminders write "2024-05-01 12:34 UTC"). Slack's date formatting
 * `<!date^unix^{date_num} {time}|fallback>` (docs.slack.dev, "Formatting text for app surfaces",
 * date formatting) shows the time in the reader's own zone; the fallback, for a client that
 * cannot, is slack-text.ts `humanTime`, as in slack-text.ts `slackTime`.
 */
import type { SectionBlock } from "@slack/types";
import { formatSlack } from "../../handlers/channels/slack-format";
import { formatSlackDigest } from "../../handlers/channels/slack";
import type { ChannelConfig } from "../../handlers/types";
import { stormOf, useHome } from "./digest-support";
import { FIXTURE_NAMES, fixture, mrkdwnTexts } from "./helpers";

const slack = { type: "slack", mode: "webhook" } as ChannelConfig & { type: "slack" };

let restore: () => void;
beforeAll(() => {
  restore = useHome();
});
afterAll(() => restore());

describe("the approval request (slack-format.ts)", () => {
  const texts = mrkdwnTexts(formatSlack(fixture("approval-request"), slack).blocks);

  it("Time: Slack's date in the reader's zone, falling back to '2024-05-01 12:34 UTC'", () => {
    // 2024-05-01T12:34:56Z is 1714566896 s after the epoch.
    expect(texts).toContain("*Time*\n<!date^1714566896^{date_num} {time}|2024-05-01 12:34 UTC>");
  });

  it("Expires: the same form", () => {
    const approval = texts.find((t) => t.startsWith("*Approvers*")) ?? "";
    expect(approval.split("\n")[1]).toBe(
      "*Expires* <!date^1715171696^{date_num} {time}|2024-05-08 12:34 UTC>",
    );
  });
});

it.each(FIXTURE_NAMES)("%s: no Slack date falls back to ISO 8601", (name) => {
  const texts = mrkdwnTexts(formatSlack(fixture(name), slack).blocks);
  const dates = texts.flatMap((t) => t.match(/<!date\^[^>]*>/g) ?? []);
  expect(dates.length).toBeGreaterThan(0);
  for (const d of dates) expect(d).toMatch(/^<!date\^\d+\^\{date_num\} \{time\}\|[^|T]+ UTC>$/);
});

it("the digest: its window and each pipeline's time in the same form", () => {
  const m = formatSlackDigest(stormOf(2, 1), slack);
  const window = mrkdwnTexts(m.blocks[1])[0];
  // The date once: the window's end on the same day is its time alone (Slack's {time} token).
  expect(window).toBe(
    "<!date^1796137200^{date_num} {time}|2026-12-01 15:00 UTC> – " +
      "<!date^1796137320^{time}|15:02 UTC> · 2 notifications, 2 pipelines",
  );
  expect(((m.blocks[2] as SectionBlock).text?.text ?? "").split("\n")[0]).toMatch(
    / · Deploy · <!date\^1796137202\^\{date_num\} \{time\}\|2026-12-01 15:00 UTC>$/,
  );
});

it("the digest: a window across midnight (UTC) gives both ends their date", () => {
  const m = formatSlackDigest(
    stormOf(2, 1, {
      windowStart: "2026-12-01T23:59:00.000Z",
      windowEnd: "2026-12-02T00:01:00.000Z",
    }),
    slack,
  );
  expect(mrkdwnTexts(m.blocks[1])[0]).toBe(
    "<!date^1796169540^{date_num} {time}|2026-12-01 23:59 UTC> – " +
      "<!date^1796169660^{date_num} {time}|2026-12-02 00:01 UTC> · 2 notifications, 2 pipelines",
  );
});
