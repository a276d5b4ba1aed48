/**
 * Red team of the digests listed by pipeline (digest-groups.ts and the media's digest
 * formatters): each medium's documented limits at the edges (a huge pipeline name, 500
 * pipelines × 1, 1 pipeline × 500), user text that could format or mention, mixed kinds of one
 * pipeline, and one pipeline name in two accounts / regions (two groups, each saying where).
 * Pure: the formatters' output, asserted against each limit's source.
 */
import type { SectionBlock } from "@slack/types";
import { cardBytes, TEAMS_CARD_BUDGET_BYTES } from "../../handlers/channels/adaptive-card";
import { formatDiscordDigest } from "../../handlers/channels/discord";
import { EMAIL_DIGEST_BODY_BYTES, formatEmailDigest } from "../../handlers/channels/email";
import { formatSlackDigest } from "../../handlers/channels/slack";
import { blockTextChars, SLACK_LIMITS } from "../../handlers/channels/slack-format";
import { formatSmsDigest, isGsm7, SMS_MAX_CHARS } from "../../handlers/channels/sms";
import { formatTeamsDigest } from "../../handlers/channels/teams";
import type { ChannelConfig, Digest } from "../../handlers/types";
import { digestOf, entry, stormOf, useHome } from "./digest-support";

const slack = { type: "slack", mode: "webhook" } as ChannelConfig & { type: "slack" };
const discord = { type: "discord" } as never;
let restore: () => void;
beforeAll(() => {
  restore = useHome();
});
afterAll(() => restore());

/** Every embed's title, description and footer: Discord's 6000 total counts these. */
function discordChars(d: Digest): { total: number; descriptions: number[]; embeds: number } {
  const e = formatDiscordDigest(d, discord).embeds;
  const total = e.reduce(
    (n, x) =>
      n + (x.title ?? "").length + (x.description ?? "").length + (x.footer?.text ?? "").length,
    0,
  );
  return { total, descriptions: e.map((x) => (x.description ?? "").length), embeds: e.length };
}

/**
 * Discord: a description is at most 4096 characters, a message 6000 across its embeds, 10 embeds
 * (https://discord.com/developers/docs/resources/message#embed-object-embed-limits; over them
 * Discord answers 400 code 50035, which no retry and no short digest fixes).
 */
function expectWithinDiscord(d: Digest): void {
  const { total, descriptions, embeds } = discordChars(d);
  expect(embeds).toBeLessThanOrEqual(10);
  for (const n of descriptions) expect(n).toBeLessThanOrEqual(4096);
  expect(total).toBeLessThanOrEqual(6000);
}

/** Slack: 50 blocks, 3000 characters per section text, 11,000 of block text (slack-limits.ts). */
function expectWithinSlack(d: Digest): void {
  const blocks = formatSlackDigest(d, slack).blocks ?? [];
  expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  for (const b of blocks) {
    expect(((b as SectionBlock).text?.text ?? "").length).toBeLessThanOrEqual(3000);
  }
  expect(blockTextChars(blocks)).toBeLessThanOrEqual(SLACK_LIMITS.blocksText);
}

/**
 * Teams: the card within adaptive-card.ts TEAMS_CARD_BUDGET_BYTES (20 KB of its `cardBytes`,
 * below the 28 KB Teams refuses over); email: the body within EMAIL_DIGEST_BODY_BYTES (below
 * SNS Publish's 256 KB).
 */
function expectWithinTeamsAndEmail(d: Digest): void {
  expect(cardBytes(formatTeamsDigest(d))).toBeLessThanOrEqual(TEAMS_CARD_BUDGET_BYTES);
  const { message } = formatEmailDigest(d);
  expect(Buffer.byteLength(message)).toBeLessThanOrEqual(EMAIL_DIGEST_BODY_BYTES);
}

/** One SMS segment: at most 140 characters, all GSM-7 (sms.ts SMS_MAX_CHARS). */
function expectOneSegment(d: Digest): void {
  const { message } = formatSmsDigest(d);
  expect(message.length).toBeLessThanOrEqual(SMS_MAX_CHARS);
  expect(isGsm7(message)).toBe(true);
}

/**
 * Pipeline and stage names of 1024 characters (events/model.ts MAX_ID_CHARS: the parser accepts
 * them; CodePipeline's own are at most 100) made of characters Discord's escaping doubles.
 */
function hugeNames(n: number): Digest {
  const d = digestOf(n);
  d.entries = d.entries.map((e, i) => ({
    ...e,
    pipeline: `${"_".repeat(1020)}${i}`,
    stage: "*".repeat(1024),
    consoleUrl: `https://console.aws.amazon.com/codesuite/codepipeline/pipelines/${"_".repeat(1020)}${i}/view`,
  }));
  return d;
}

it("discord: a line longer than a description (1024-character pipeline and stage names, escaped) is cut to fit one", () => {
  // It was one description of 5206 characters: Discord refuses the digest and its short copy.
  const d = hugeNames(3);
  expectWithinDiscord(d);
  const lines = formatDiscordDigest(d, discord).embeds[0].description?.split("\n") ?? [];
  expect(lines[0]).toMatch(/^\[\*\*(\\_)+/);
  expect(lines[0].endsWith("…")).toBe(true);
});

it.each([
  ["huge names", hugeNames(3)],
  ["500 pipelines × 1", stormOf(500, 1)],
  ["1 pipeline × 500", stormOf(1, 500)],
])("%s: Slack, Discord, Teams, email and SMS stay within their limits", (_name, d) => {
  expectWithinSlack(d);
  expectWithinTeamsAndEmail(d);
  expectWithinDiscord(d);
  expectOneSegment(d);
});

it("1 pipeline × 500: one group, its count and the other executions counted, not listed", () => {
  const text = JSON.stringify(formatSlackDigest(stormOf(1, 500), slack).blocks);
  expect(text).toContain("|svc-01>* ×500");
  expect(text).toContain(", +494");
  // The window's line: "1 pipeline", not "1 pipelines".
  expect(text).toContain(' · 500 notifications, 1 pipeline"');
  expect(formatSmsDigest(stormOf(1, 500)).message).toContain("svc-01 x500");
});

it("user text that formats or mentions is escaped: <!channel>, @everyone, <script>, &, *", () => {
  const d = digestOf(2);
  d.entries[0] = entry(0, { pipeline: "@everyone", summary: "<!channel> <@U1> **b** & <script>" });
  d.entries[1] = entry(1, { summary: "*x* _y_ `z` [l](http://e) ||s||" });
  const s = JSON.stringify(formatSlackDigest(d, slack).blocks);
  expect(s).not.toContain("<!channel>");
  expect(s).toContain("&lt;!channel&gt; &lt;@U1&gt;");
  expect(s).not.toContain("<script>");
  const m = formatDiscordDigest(d, discord);
  expect(m.allowed_mentions).toEqual({ parse: [] });
  const desc = m.embeds[0].description ?? "";
  expect(desc).toContain("**\\@everyone**");
  expect(desc).toContain("\\*x\\* \\_y\\_ \\`z\\` \\[l\\]\\(http://e\\) \\|\\|s\\|\\|");
  const t = JSON.stringify(formatTeamsDigest(d));
  expect(t).not.toContain("<script>");
});

it("mixed kinds of one pipeline: one group with each kind counted", () => {
  const d = digestOf(1);
  d.entries = [
    entry(0, { kind: "failure", executionId: "e-a" }),
    entry(0, {
      notificationId: "n-late",
      kind: "success",
      executionId: "e-b",
      time: "2026-11-30T12:01:00.000Z",
    }),
  ];
  d.count = 2;
  const s = JSON.stringify(formatSlackDigest(d, slack).blocks);
  expect(s).toContain("×2 (1 failed, 1 succeeded)");
  expect(formatEmailDigest(d).message).toContain("×2 (1 failed, 1 succeeded)");
});

it("one pipeline name in three accounts and regions: three groups, each saying where, also the home one", () => {
  const d = digestOf(3);
  d.entries = [
    entry(0, { pipeline: "svc" }),
    entry(1, {
      pipeline: "svc",
      account: "222222222222",
      region: "us-east-1",
      accountAlias: "payments-prod",
    }),
    entry(2, { pipeline: "svc", account: "333333333333", region: "ap-south-1" }),
  ];
  d.pipelines = 3;
  const slackText = JSON.stringify(formatSlackDigest(d, slack).blocks);
  const discordText = formatDiscordDigest(d, discord).embeds[0].description ?? "";
  const email = formatEmailDigest(d).message;
  const teams = JSON.stringify(formatTeamsDigest(d));
  for (const text of [slackText, discordText, email, teams]) {
    expect(text).toContain("payments-prod, us-east-1");
    expect(text).toContain("333333333333, ap-south-1");
    expect(text).not.toContain("×");
  }
  // The home one says where too: a console link cannot switch accounts (channels/origin.ts).
  expect(slackText).toContain("111111111111, eu-west-1");
  expect(formatSmsDigest(d).message).toBe(
    "3 more pipelines failed in 2 min: svc (333333333333, ap-south-1), svc (payments-prod, us-east-1), +1 more pipeline - see slack-oncall",
  );
});

it("sms: non-GSM characters in a pipeline name, an alias or the see-channel never switch the text to UCS-2", () => {
  const d = digestOf(2, { seeChannel: "slack-ĉ🚀" });
  d.entries = [
    entry(0, { pipeline: "déploiement-ĉ€🚀" }),
    entry(1, { pipeline: "déploiement-ĉ€🚀", account: "222222222222", accountAlias: "paï€" }),
  ];
  const { message } = formatSmsDigest(d);
  expect(isGsm7(message)).toBe(true);
  expect(message).toBe(
    "2 more pipelines failed in 2 min: déploiement-cEUR (paiEUR, eu-west-1), déploiement-cEUR (111111111111, eu-west-1) - see slack-c",
  );
});
