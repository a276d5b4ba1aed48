/**
 * Digest formats (issue 11 grouping), pure: the title sentence, each medium's layout with asserted
 * values, and each medium's documented limits when the list is long (cited beside each test).
 */
import type { SectionBlock } from "@slack/types";
import { formatDiscordDigest } from "../../handlers/channels/discord";
import { digestTitle, entryWhere, windowSpan } from "../../handlers/channels/digest";
import { formatEmailDigest } from "../../handlers/channels/email";
import { CHANNEL_DRIVERS } from "../../handlers/channels/registry";
import { formatSlackDigest } from "../../handlers/channels/slack";
import { formatSmsDigest, isGsm7 } from "../../handlers/channels/sms";
import { formatTeamsDigest } from "../../handlers/channels/teams";
import { formatWebhookDigest } from "../../handlers/channels/webhook";
import type { ChannelConfig } from "../../handlers/types";
import { digestOf, entry, useHome } from "./digest-support";

const slackBot = { type: "slack", mode: "bot", channel: "C0OPS" } as ChannelConfig & {
  type: "slack";
};
let restore: () => void;
beforeAll(() => {
  restore = useHome();
});
afterAll(() => restore());

function sectionText(b: unknown): string {
  return ((b as SectionBlock).text?.text ?? "") as string;
}

describe("shared pieces (handlers/channels/digest.ts)", () => {
  it("title: one failure per pipeline, several per pipeline, mixed kinds", () => {
    expect(digestTitle(digestOf(37))).toBe("37 pipelines failed in the last 2 minutes");
    expect(digestTitle(digestOf(37, { count: 40 }))).toBe(
      "40 failures in 37 pipelines in the last 2 minutes",
    );
    const mixed = digestOf(2);
    mixed.entries[1] = entry(1, { kind: "success" });
    expect(digestTitle(mixed)).toBe("2 notifications for 2 pipelines in the last 2 minutes");
    expect(digestTitle(digestOf(1, { windowEnd: "2026-11-30T12:00:45.000Z" }))).toBe(
      "1 pipeline failed in the last 45 seconds",
    );
  });

  it("where: the alias and region only when the pipeline is not at home", () => {
    expect(entryWhere(entry(0))).toBeUndefined();
    expect(entryWhere(entry(4))).toBe("payments-prod, us-east-1");
    expect(entryWhere(entry(4, { accountAlias: undefined }))).toBe("222222222222, us-east-1");
  });

  it("every channel type but PagerDuty has a digest (PagerDuty: one incident per pipeline)", () => {
    const withDigest = Object.entries(CHANNEL_DRIVERS)
      .filter(([, d]) => typeof d.formatDigest === "function" && typeof d.sendDigest === "function")
      .map(([t]) => t)
      .sort();
    expect(withDigest).toEqual(["discord", "email", "slack", "sms", "teams", "webhook"]);
    expect(CHANNEL_DRIVERS.pagerduty.formatDigest).toBeUndefined();
  });
});

describe("slack (Block Kit)", () => {
  it("header, window, one section per pipeline with link, alias/region, stage, time, summary", () => {
    // One notification per pipeline: no count, no "last"; the most recent first (p-04 … p-00).
    const d = digestOf(5);
    d.entries[0].summary = "boom <!channel> & <https://evil.example|click>";
    const m = formatSlackDigest(d, slackBot);
    expect(m.channel).toBe("C0OPS");
    expect(m.blocks).toHaveLength(2 + 5);
    expect(m.blocks[0]).toEqual({
      type: "header",
      text: {
        type: "plain_text",
        emoji: true,
        text: ":rotating_light: 5 pipelines failed in the last 2 minutes",
      },
    });
    const oldest = sectionText(m.blocks[6]);
    expect(oldest).toBe(
      ":red_circle: *<https://console.aws.amazon.com/codesuite/codepipeline/pipelines/p-00/executions/e-0/timeline|p-00>* · Deploy · " +
        "<!date^1796040000^{date_num} {time}|2026-11-30 12:00 UTC>\n" +
        // escapeSlackText: the summary's mention and link stay inert
        "boom &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;",
    );
    expect(sectionText(m.blocks[2])).toContain("|p-04>* · payments-prod, us-east-1 · Deploy · ");
    expect(m.text).toBe(":rotating_light: 5 pipelines failed in the last 2 minutes");
  });

  it("cut to 50 blocks (https://api.slack.com/reference/block-kit/blocks) with 'and N more pipelines' counting the unlisted pipelines", () => {
    const d = digestOf(100, { count: 120 });
    const m = formatSlackDigest(d, slackBot);
    expect(m.blocks).toHaveLength(50);
    // 2 frame blocks + 47 pipelines + "and N more pipelines": 100 - 47 = 53
    expect(m.blocks[49]).toEqual({
      type: "context",
      elements: [{ type: "mrkdwn", text: "_and 53 more pipelines_" }],
    });
    for (const b of m.blocks)
      if (b.type === "section") expect(sectionText(b).length).toBeLessThanOrEqual(3000);
    // The top says the whole scale, for a reader who sees only it or the notification preview
    // (`text`), as Teams', Discord's and email's titles do: not the 47 pipelines listed.
    expect(m.blocks[0]).toMatchObject({
      text: { text: ":rotating_light: 120 failures in 100 pipelines in the last 2 minutes" },
    });
    expect(m.text).toBe(":rotating_light: 120 failures in 100 pipelines in the last 2 minutes");
  });

  it("a 3000-character section limit and a 150-character header (Block Kit section / header)", () => {
    const d = digestOf(1, { count: 1 });
    d.entries[0].summary = "x".repeat(5000);
    d.entries[0].pipeline = "p".repeat(200);
    const m = formatSlackDigest(d, slackBot);
    expect(sectionText(m.blocks[2]).length).toBe(3000);
    expect(sectionText(m.blocks[2]).endsWith("…")).toBe(true);
    const long = digestOf(3, { windowEnd: "2026-11-30T12:00:05.000Z" });
    expect((m.blocks[0] as { text: { text: string } }).text.text.length).toBeLessThanOrEqual(150);
    expect(formatSlackDigest(long, slackBot).blocks[0]).toMatchObject({
      text: { text: ":rotating_light: 3 pipelines failed in the last 5 seconds" },
    });
  });
});

describe("teams (Adaptive Card)", () => {
  it("title, pipelines (the most recent first) with Markdown links and escaped text", () => {
    const d = digestOf(2);
    d.entries[1].summary = "see [here](https://evil.example) *now*";
    const body = formatTeamsDigest(d).attachments[0].content.body;
    expect(body[0]).toMatchObject({
      text: "2 pipelines failed in the last 2 minutes",
      color: "Attention",
    });
    expect(body[3]).toEqual({
      type: "TextBlock",
      wrap: true,
      text: "[**p-00**](https://console.aws.amazon.com/codesuite/codepipeline/pipelines/p-00/executions/e-0/timeline) · Deploy · 12:00:00 UTC\n\nBuild failed for p-00",
    });
    // escapeTeamsMarkdown: no link or emphasis from the summary
    expect((body[2] as { text: string }).text).toContain(
      "see \\[here\\]\\(https://evil.example\\) \\*now\\*",
    );
  });

  it("stays within Teams' 28 KB (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/format-your-bot-messages)", () => {
    const d = digestOf(400, { count: 450 });
    for (const e of d.entries) e.summary = "y".repeat(200);
    const m = formatTeamsDigest(d);
    expect(Buffer.byteLength(JSON.stringify(m))).toBeLessThanOrEqual(28 * 1024);
    const body = m.attachments[0].content.body;
    const shown = body.length - 3;
    // "and N more pipelines" counts the 400 pipelines, not the 450 notifications.
    expect(body[body.length - 1]).toMatchObject({ text: `and ${400 - shown} more pipelines` });
    expect(shown).toBeGreaterThan(40);
  });
});

describe("discord (embeds)", () => {
  it("one embed: title, one line per pipeline (the most recent first), mentions escaped and suppressed", () => {
    const d = digestOf(2);
    d.entries[0].summary = "@everyone look";
    const m = formatDiscordDigest(d, { type: "discord" } as never);
    expect(m.allowed_mentions).toEqual({ parse: [] });
    expect(m.embeds).toHaveLength(1);
    expect(m.embeds[0].title).toBe("2 pipelines failed in the last 2 minutes");
    expect(m.embeds[0].description).toBe(
      "[**p-01**](https://console.aws.amazon.com/codesuite/codepipeline/pipelines/p-01/executions/e-1/timeline) · Deploy · <t:1796040002:f>\nBuild failed for p-01\n" +
        "[**p-00**](https://console.aws.amazon.com/codesuite/codepipeline/pipelines/p-00/executions/e-0/timeline) · Deploy · <t:1796040000:f>\n\\@everyone look",
    );
  });

  it("description ≤ 4096, message ≤ 6000, ≤ 10 embeds (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)", () => {
    const d = digestOf(100, { count: 130 });
    const e = formatDiscordDigest(d, { type: "discord" } as never).embeds;
    expect(e.length).toBeGreaterThan(1); // a full description continues in the next embed
    expect(e.length).toBeLessThanOrEqual(10);
    for (const x of e) expect((x.description ?? "").length).toBeLessThanOrEqual(4096);
    const chars = e.reduce(
      (n, x) =>
        n + (x.title ?? "").length + (x.description ?? "").length + (x.footer?.text ?? "").length,
      0,
    );
    expect(chars).toBeLessThanOrEqual(6000);
    const lines = e.flatMap((x) => (x.description ?? "").split("\n"));
    const shown = lines.filter((l) => l.startsWith("[**")).length;
    expect(shown).toBeGreaterThan(30);
    // The 100 pipelines are counted, not the 130 notifications.
    expect(lines.pop()).toBe(`and ${100 - shown} more pipelines`);
  });
});

describe("email, sms, webhook", () => {
  it("email: ASCII subject, one block per pipeline (the most recent first) with its console link", () => {
    const m = formatEmailDigest(digestOf(3));
    expect(m.subject).toBe("[deploy-notifier] 3 pipelines failed in the last 2 minutes");
    expect(m.message.split("\n").slice(0, 4)).toEqual([
      "3 pipelines failed in the last 2 minutes",
      "Window: 2026-11-30 12:00:00–12:02:00 UTC",
      "",
      "- p-02 | Deploy | 12:00:04 UTC",
    ]);
    expect(m.message).toContain(
      "  https://console.aws.amazon.com/codesuite/codepipeline/pipelines/p-02/executions/e-2/timeline",
    );
  });

  it("sms: one GSM-7 text of at most 140 characters naming where the list is", () => {
    const { message } = formatSmsDigest(digestOf(37));
    expect(message).toBe(
      "37 more pipelines failed in 2 min: p-36, p-35, p-34, p-33, p-32, p-31, p-30, p-29, p-28, p-27, p-26, +26 more pipelines - see slack-oncall",
    );
    expect(message.length).toBeLessThanOrEqual(140);
    expect(isGsm7(message)).toBe(true);
    const noSee = formatSmsDigest(digestOf(2, { seeChannel: undefined })).message;
    expect(noSee).toBe("2 more pipelines failed in 2 min: p-01, p-00 - see the console");
  });

  it("webhook: the documented shape with type 'digest', entries oldest first", () => {
    const d = digestOf(2);
    d.entries.reverse();
    const body = formatWebhookDigest(d, undefined, { now: new Date("2026-11-30T12:02:01.000Z") });
    expect(body).toMatchObject({
      version: "1",
      type: "digest",
      title: "2 pipelines failed in the last 2 minutes",
      sentAt: "2026-11-30T12:02:01.000Z",
      digest: { id: d.id, count: 2, pipelines: 2, severity: "critical" },
    });
    expect(body.digest.entries.map((e) => e.pipeline)).toEqual(["p-00", "p-01"]);
  });
});

describe("windowSpan: a digest's window for people (the new-user pass: Teams and email showed raw ISO)", () => {
  it("one date and a clock range within a day; both dates across midnight; not-a-time as it is", () => {
    const span = (windowStart: string, windowEnd: string) => windowSpan({ windowStart, windowEnd });
    expect(span("2026-11-30T12:00:00.000Z", "2026-11-30T12:02:00.000Z")).toBe(
      "2026-11-30 12:00:00–12:02:00 UTC",
    );
    expect(span("2026-11-30T23:59:00.000Z", "2026-12-01T00:01:00.000Z")).toBe(
      "2026-11-30 23:59:00 UTC – 2026-12-01 00:01:00 UTC",
    );
    expect(span("soon", "later")).toBe("soon – later");
  });
});
