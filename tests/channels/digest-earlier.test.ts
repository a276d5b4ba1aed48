/**
 * The "earlier:" links of a digest's pipeline line tell executions apart (the UX pass: a storm
 * failed three executions of svc-01 within one second, and every medium listed
 * "earlier: 15:11:02 UTC, 15:11:02 UTC", two links a reader could not tell apart). An event's
 * `time` is to the second (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
 * examples), so executions of one pipeline can share it; their labels then add the execution id's
 * first 8 characters, as titles do (lifecycle.ts `shortId`). Exact texts per medium.
 */
import type { SectionBlock } from "@slack/types";
import { formatDiscordDigest } from "../../handlers/channels/discord";
import { earlierParts } from "../../handlers/channels/digest-groups";

/** The plain-text labels of `links` (what Teams and email show). */
const earlierLabels = (links: Parameters<typeof earlierParts>[0]) =>
  earlierParts(links).map((p) => p.label);
import { formatEmailDigest } from "../../handlers/channels/email";
import { formatSlackDigest } from "../../handlers/channels/slack";
import { formatTeamsDigest } from "../../handlers/channels/teams";
import type { Digest, DigestEntry } from "../../handlers/types";
import { stormOf, useHome } from "./digest-support";

let restore: () => void;
beforeAll(() => {
  restore = useHome();
});
afterAll(() => restore());

/** CodePipeline execution ids are UUIDs (API reference, `PipelineExecution.pipelineExecutionId`). */
const IDS = [
  "0d3b5c1e-7f2a-4c61-9a0e-5b8e2f6a1c11", // the latest
  "4f2a9c1e-1b7d-4e2a-8c3f-9d0e1a2b3c44",
  "a81c07d2-2c6e-4f1b-9d4a-0e1f2a3b4c55",
];

/** 2026-12-01T15:11:02Z in Unix seconds. */
const SAME_SECOND = 1796137862;

const url = (k: number) =>
  `https://console.aws.amazon.com/codesuite/codepipeline/pipelines/svc-01/executions/${IDS[k]}/timeline`;

/**
 * svc-01 failed three times within one second (15:11:02Z), execution k with id `IDS[k]`: within
 * one time the notification id decides (digest-groups.ts), so execution 0 is the latest.
 */
function sameSecond(): Digest {
  const d = stormOf(1, 3);
  d.entries.forEach((e: DigestEntry, k) => {
    e.executionId = IDS[k];
    e.time = "2026-12-01T15:11:02Z";
    e.consoleUrl = url(k);
  });
  return d;
}

describe("earlier executions in the same second", () => {
  it("slack: each link its time in the reader's zone and the execution id's first 8 characters", () => {
    const text = (
      formatSlackDigest(sameSecond(), { type: "slack", mode: "webhook" } as never)
        .blocks?.[2] as SectionBlock
    ).text?.text;
    // <!date^timestamp^token_string^optional_link|fallback_text> (api.slack.com, "Formatting
    // text for app surfaces", date formatting): the whole date is the link.
    const at = (k: number, id: string) =>
      `<!date^${SAME_SECOND}^{time_secs} · ${id}^${url(k)}|15:11:02 UTC · ${id}>`;
    expect(text?.split("\n")[2]).toBe(`earlier: ${at(1, "4f2a9c1e")}, ${at(2, "a81c07d2")}`);
  });

  it("teams: the same labels in Markdown links", () => {
    const body = formatTeamsDigest(sameSecond()).attachments[0].content.body;
    const text = String((body[2] as { text?: string }).text);
    expect(text.split("\n\n")[2]).toBe(
      `earlier: [15:11:02 UTC · 4f2a9c1e](${url(1)}), [15:11:02 UTC · a81c07d2](${url(2)})`,
    );
  });

  it("discord: each its time as a Discord timestamp and a masked link labelled with the id", () => {
    const m = formatDiscordDigest(sameSecond(), { type: "discord" } as never);
    expect(m.embeds[0].description?.split("\n")[2]).toBe(
      `earlier: <t:${SAME_SECOND}:T> [4f2a9c1e](${url(1)}), <t:${SAME_SECOND}:T> [a81c07d2](${url(2)})`,
    );
  });

  it("email: the same labels before each URL", () => {
    const lines = formatEmailDigest(sameSecond()).message.split("\n");
    expect(lines.filter((l) => l.startsWith("  earlier "))).toEqual([
      `  earlier 15:11:02 UTC · 4f2a9c1e: ${url(1)}`,
      `  earlier 15:11:02 UTC · a81c07d2: ${url(2)}`,
    ]);
  });
});

describe("earlierParts labels (handlers/channels/digest-groups.ts)", () => {
  const entry = (executionId: string, time: string) => ({ executionId, time }) as DigestEntry;

  it("times alone when they differ: short as before", () => {
    expect(
      earlierLabels([entry(IDS[1], "2026-12-01T15:11:02Z"), entry(IDS[2], "2026-12-01T15:11:03Z")]),
    ).toEqual(["15:11:02 UTC", "15:11:03 UTC"]);
  });

  it("the id only where a time is shared", () => {
    expect(
      earlierLabels([
        entry(IDS[0], "2026-12-01T15:11:05Z"),
        entry(IDS[1], "2026-12-01T15:11:02Z"),
        entry(IDS[2], "2026-12-01T15:11:02Z"),
      ]),
    ).toEqual(["15:11:05 UTC", "15:11:02 UTC · 4f2a9c1e", "15:11:02 UTC · a81c07d2"]);
  });

  it("the whole id when the first 8 characters are shared too", () => {
    expect(
      earlierLabels([
        entry("deploy-2026-a", "2026-12-01T15:11:02Z"),
        entry("deploy-2026-b", "2026-12-01T15:11:02Z"),
      ]),
    ).toEqual(["15:11:02 UTC · deploy-2026-a", "15:11:02 UTC · deploy-2026-b"]);
  });
});

/**
 * One medium, one way of writing time (the UX review: a Slack or Discord digest line said "last"
 * in the reader's own zone, through the medium's date markup, and then "earlier: 15:00:03 UTC").
 * Slack: `<!date>` with its optional link (api.slack.com, "Formatting text for app surfaces");
 * Discord: `<t:unix:style>` (discord.com/developers/docs/reference#message-formatting-timestamp-styles),
 * beside the link, since Discord documents no timestamp inside a masked link's text.
 */
describe("every time of a digest in the reader's zone, where the medium can show one", () => {
  const clock = /\b\d{2}:\d{2}(:\d{2})?\b/;

  it("slack: no clock outside <!date…> markup", () => {
    const blocks = formatSlackDigest(stormOf(3, 2), { type: "slack", mode: "webhook" } as never)
      .blocks as SectionBlock[];
    const texts = blocks.slice(1).map((b) => JSON.stringify(b));
    expect(texts.some((t) => t.includes("earlier: <!date^"))).toBe(true);
    for (const t of texts) expect(t.replace(/<!date\^[^>]*>/g, "")).not.toMatch(clock);
  });

  it("discord: no clock outside <t:…> markup", () => {
    const m = formatDiscordDigest(stormOf(3, 2), { type: "discord" } as never);
    const description = String(m.embeds[0].description);
    expect(description).toContain("earlier: <t:");
    expect(description).not.toMatch(clock);
  });
});
