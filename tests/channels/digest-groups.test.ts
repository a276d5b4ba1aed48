/**
 * A storm digest lists each pipeline once (the storm finding: `npm start -- --stack storm` showed
 * "🔴 svc-02 · Today 15:11 UTC" two or three times in #slack, once per execution, and its "and 14
 * more" then hid svc-16 to svc-20: the on-call could not see which services were failing). Per
 * medium: a digest of several executions of each pipeline and more pipelines than fit shows each
 * shown pipeline once with its count ("×3"), drops summaries and links before any pipeline, and
 * "and N more pipelines" counts the pipelines left out. Pure formatters, each medium's documented
 * limits (cited beside the formatters) checked too.
 */
import type { SectionBlock } from "@slack/types";
import { formatDiscordDigest } from "../../handlers/channels/discord";
import { digestGroups, fitGroups, groupCount } from "../../handlers/channels/digest-groups";
import { formatEmailDigest, EMAIL_DIGEST_BODY_BYTES } from "../../handlers/channels/email";
import { renderSlackDigest } from "../../handlers/channels/slack";
import { formatSmsDigest, isGsm7 } from "../../handlers/channels/sms";
import { formatTeamsDigest } from "../../handlers/channels/teams";
import { formatWebhookDigest } from "../../handlers/channels/webhook";
import { digestAsNotification, shortDigest } from "../../handlers/fanout/digest-send";
import type { ChannelConfig } from "../../handlers/types";
import { blockTextLength } from "../../testing/receivers/slack-blocks";
import { stormOf, useHome } from "./digest-support";

const slackBot = { type: "slack", mode: "bot", channel: "C0OPS" } as ChannelConfig & {
  type: "slack";
};
let restore: () => void;
beforeAll(() => {
  restore = useHome();
});
afterAll(() => restore());

const name = (p: number) => `svc-${String(p).padStart(2, "0")}`;

/** How often each pipeline name is shown as an entry's head (`head` finds it in one line). */
function timesShown(lines: string[], pipelines: number, head: (n: string) => RegExp) {
  const shown: Record<string, number> = {};
  for (let p = 1; p <= pipelines; p++) {
    const n = lines.filter((l) => head(name(p)).test(l)).length;
    if (n > 0) shown[name(p)] = n;
  }
  return shown;
}

/** Checks one medium's cut list: each shown once, the most recent first, the rest counted. */
function expectPipelinesOnce(
  shown: Record<string, number>,
  pipelines: number,
  moreLine: string | undefined,
) {
  const names = Object.keys(shown);
  expect(Object.values(shown).every((n) => n === 1)).toBe(true);
  expect(names.length).toBeGreaterThan(0);
  expect(names.length).toBeLessThan(pipelines);
  // stormOf: the highest-numbered pipeline failed last, so the shown ones are the newest.
  expect(names).toContain(name(pipelines));
  expect(moreLine).toBe(`and ${pipelines - names.length} more pipelines`);
}

describe("the shared grouping (handlers/channels/digest-groups.ts)", () => {
  it("one group per pipeline, its count, failing and most recent first", () => {
    const d = stormOf(4, 3);
    // svc-04's latest is a success: it is no longer failing, so it comes last.
    d.entries.push({
      ...d.entries[3],
      notificationId: "ok",
      kind: "success",
      executionId: "e-ok",
      time: "2026-12-01T15:01:00.000Z",
    });
    const groups = digestGroups(d);
    expect(groups.map((g) => g.latest.pipeline)).toEqual(["svc-03", "svc-02", "svc-01", "svc-04"]);
    expect(groups.map((g) => groupCount(g))).toEqual([
      "×3",
      "×3",
      "×3",
      "×4 (3 failed, 1 succeeded)",
    ]);
    expect(groups[0].latest.executionId).toBe("e-3-2");
    expect(groups[0].executions.map((e) => e.executionId)).toEqual(["e-3-2", "e-3-1", "e-3-0"]);
  });

  it("detail is dropped before a pipeline, and a pipeline only when no detail is left", () => {
    const d = stormOf(3, 2);
    const groups = digestGroups(d);
    const render = (g: (typeof groups)[number], detail: number) => `${g.latest.pipeline}:${detail}`;
    // A head costs 8, each detail step 2 more.
    const size = (s: string) => 8 + 2 * Number(s.slice(-1));
    const fit = (budget: number) => fitGroups(d, groups, render, size, (used) => used <= budget);
    expect(fit(36)).toEqual({
      shown: ["svc-03:2", "svc-02:2", "svc-01:2"],
      hidden: 0,
      detailCut: false,
    });
    // The first (most recent) pipeline gets the room left; the others stay heads, all listed.
    expect(fit(26)).toEqual({
      shown: ["svc-03:1", "svc-02:0", "svc-01:0"],
      hidden: 0,
      detailCut: true,
    });
    // Two heads fit, not three: no detail for the two while a pipeline is left out.
    expect(fit(23)).toEqual({ shown: ["svc-03:0", "svc-02:0"], hidden: 1, detailCut: true });
  });
});

describe("each medium: 3 executions per pipeline, more pipelines than fit", () => {
  it("slack: one section per pipeline with ×3, linked to its latest execution, 'and N more pipelines'", () => {
    const { message, truncated } = renderSlackDigest(stormOf(80, 3), slackBot);
    const texts = message.blocks.map((b) =>
      b.type === "section" ? ((b as SectionBlock).text?.text ?? "") : JSON.stringify(b),
    );
    const shown = timesShown(texts, 80, (n) => new RegExp(`\\|${n}>\\*`));
    const more = /_(and \d+ more pipelines)_/.exec(texts[texts.length - 1])?.[1];
    expectPipelinesOnce(shown, 80, more);
    expect(texts[2]).toMatch(
      /^:red_circle: \*<https:\/\/console\.aws\.amazon\.com\/codesuite\/codepipeline\/pipelines\/svc-80\/executions\/e-80-2\/timeline\|svc-80>\* ×3 · Deploy · last <!date\^\d+\^\{date_num\} \{time\}\|2026-12-01 15:04 UTC>$/,
    );
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(blockTextLength(message.blocks)).toBeLessThanOrEqual(11_000);
    expect(truncated).toEqual(["entries", "detail"]);
  });

  it("slack: the storm of 20 pipelines × 3 lists all 20 once, with the room left for summaries and links", () => {
    const { message } = renderSlackDigest(stormOf(20, 3), slackBot);
    const texts = message.blocks.map((b) => ((b as SectionBlock).text?.text ?? "") as string);
    const shown = timesShown(texts, 20, (n) => new RegExp(`\\|${n}>\\*`));
    expect(Object.keys(shown)).toHaveLength(20);
    expect(Object.values(shown).every((n) => n === 1)).toBe(true);
    expect(JSON.stringify(message.blocks)).not.toContain("more pipelines");
    // The newest first, with its summary and its other two executions linked.
    expect(texts[2]).toContain("\nDeployment failed for svc-20 in execution e-20-2\nearlier: ");
    expect(texts[2]).toContain("/executions/e-20-1/timeline|15:00:40 UTC>, <");
  });

  it("teams: one TextBlock per pipeline with ×3, within the card budget, 'and N more pipelines'", () => {
    const m = formatTeamsDigest(stormOf(150, 3));
    expect(Buffer.byteLength(JSON.stringify(m))).toBeLessThanOrEqual(28 * 1024);
    const body = m.attachments[0].content.body.map((b) => String((b as { text?: string }).text));
    const shown = timesShown(body, 150, (n) => new RegExp(`^\\[\\*\\*${n}\\*\\*\\]\\(`));
    expectPipelinesOnce(shown, 150, body[body.length - 1]);
    expect(body[2]).toMatch(
      /^\[\*\*svc-150\*\*\]\(.*\/executions\/e-150-2\/timeline\) ×3 · Deploy · last /,
    );
    expect(body.join("\n")).not.toContain("Deployment failed");
  });

  it("discord: one line per pipeline with ×3, within 6000 characters, 'and N more pipelines'", () => {
    const m = formatDiscordDigest(stormOf(60, 3), { type: "discord" } as never);
    const lines = m.embeds.flatMap((e) => (e.description ?? "").split("\n"));
    const chars = m.embeds.reduce(
      (n, x) =>
        n + (x.title ?? "").length + (x.description ?? "").length + (x.footer?.text ?? "").length,
      0,
    );
    expect(chars).toBeLessThanOrEqual(6000);
    expect(m.embeds.length).toBeLessThanOrEqual(10);
    const shown = timesShown(lines, 60, (n) => new RegExp(`^\\[\\*\\*${n}\\*\\*\\]\\(`));
    expectPipelinesOnce(shown, 60, lines[lines.length - 1]);
    expect(lines[0]).toMatch(
      /^\[\*\*svc-60\*\*\]\(.*\/e-60-2\/timeline\) ×3 · Deploy · last <t:\d+:f>$/,
    );
  });

  it("email: one block per pipeline with ×3, within its body bytes, 'and N more pipelines'", () => {
    const m = formatEmailDigest(stormOf(2000, 3));
    expect(Buffer.byteLength(m.message)).toBeLessThanOrEqual(EMAIL_DIGEST_BODY_BYTES);
    const lines = m.message.split("\n");
    const heads = lines.filter((l) => l.startsWith("- "));
    const shown: Record<string, number> = {};
    for (const l of heads) shown[l.split(" ")[1]] = (shown[l.split(" ")[1]] ?? 0) + 1;
    expectPipelinesOnce(shown, 2000, lines[lines.length - 1]);
    expect(heads[0]).toBe("- svc-2000 ×3 | Deploy | last 16:40:00 UTC");
    expect(heads.every((l) => l.includes(" ×3 | "))).toBe(true);
  });

  it("sms: each pipeline once with its count, the pipelines not named counted, ≤ 140 GSM-7", () => {
    const { message } = formatSmsDigest(stormOf(20, 3));
    expect(message).toBe(
      "60 more failures in 20 pipelines in 2 min: svc-20 x3, svc-19 x3, svc-18 x3, svc-17 x3, svc-16 x3, +15 more pipelines - see slack-oncall",
    );
    expect(message.length).toBeLessThanOrEqual(140);
    expect(isGsm7(message)).toBe(true);
  });

  it("webhook: every entry kept (machine readers need every id), plus one summary per pipeline", () => {
    const d = stormOf(20, 3);
    const body = formatWebhookDigest(d, undefined, { now: new Date("2026-12-01T15:02:01.000Z") });
    expect(body.digest.entries).toHaveLength(60);
    expect(body.byPipeline).toHaveLength(20);
    expect(body.byPipeline[0]).toEqual({
      pipeline: "svc-20",
      account: "111111111111",
      region: "eu-west-1",
      count: 3,
      executions: 3,
      kinds: { failure: 3 },
      latestNotificationId: "n-20-2",
      latestExecutionId: "e-20-2",
      latestTime: "2026-12-01T15:01:00.000Z",
      consoleUrl:
        "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/svc-20/executions/e-20-2/timeline",
    });
    expect(body.byPipeline.reduce((n, p) => n + p.count, 0)).toBe(60);
  });
});

describe("a digest refused for its size, and a driver without sendDigest (fanout/digest-send.ts)", () => {
  it("the short digest keeps the first 5 pipelines with all their entries: counts stay true", () => {
    const short = shortDigest(stormOf(20, 3));
    expect(short.count).toBe(60);
    expect(short.pipelines).toBe(20);
    expect(short.entries).toHaveLength(15);
    expect(digestGroups(short).map((g) => `${g.latest.pipeline} ${groupCount(g)}`)).toEqual([
      "svc-20 ×3",
      "svc-19 ×3",
      "svc-18 ×3",
      "svc-17 ×3",
      "svc-16 ×3",
    ]);
    const { message } = renderSlackDigest(short, slackBot);
    expect(JSON.stringify(message.blocks)).toContain("_and 15 more pipelines_");
  });

  it("the digest as one notification: one line per pipeline", () => {
    const lines = (digestAsNotification(stormOf(3, 2)).summary ?? "").split("\n");
    expect(lines).toEqual([
      "6 failures in 3 pipelines in the last 2 minutes",
      "svc-03 ×2: https://console.aws.amazon.com/codesuite/codepipeline/pipelines/svc-03/executions/e-3-1/timeline",
      "svc-02 ×2: https://console.aws.amazon.com/codesuite/codepipeline/pipelines/svc-02/executions/e-2-1/timeline",
      "svc-01 ×2: https://console.aws.amazon.com/codesuite/codepipeline/pipelines/svc-01/executions/e-1-1/timeline",
    ]);
  });
});
