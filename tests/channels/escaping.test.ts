/**
 * Untrusted text stays inert (Slack mentions and links, Discord @everyone), and a 200 kB summary
 * is cut visibly, stays within each medium's limits and is still delivered.
 */
import {
  discordDriver,
  DISCORD_LIMITS,
  formatDiscord,
  type DiscordMessage,
} from "../../handlers/channels/discord";
import { pagerdutyDriver, PAGERDUTY_LIMITS } from "../../handlers/channels/pagerduty";
import {
  APPROVE_ACTION_ID,
  formatSlack,
  REJECT_ACTION_ID,
  SLACK_LIMITS,
  slackDriver,
  type SlackMessage,
} from "../../handlers/channels/slack";
import { teamsDriver, TEAMS_LIMITS } from "../../handlers/channels/teams";
import type { ChannelDriver } from "../../handlers/channels/types";
import type { ChannelConfig, Notification } from "../../handlers/types";
import { FIXTURE_NAMES, fixture, makeContext, replyWith, startServer } from "./helpers";

/** Every mrkdwn string in a Slack message, with the fallback `text`. */
function mrkdwnTexts(m: SlackMessage): string[] {
  const out = [m.text];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (o.type === "mrkdwn" && typeof o.text === "string") out.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(m.blocks);
  return out;
}

/** The only `<…>` constructs we put into mrkdwn ourselves. */
const OUR_CONSTRUCTS = [
  /^!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>]*$/,
  /^@(U012ABC|W0456DEF)$/,
  /^https:\/\/(eu-west-1\.console\.aws\.amazon\.com|github\.com\/example|grafana\.example\.com)\/[^\s<>|]*\|[^<>]*$/,
];

/** Asserts every Block Kit limit the message could hit. */
function expectWithinSlackLimits(m: SlackMessage): void {
  expect(m.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  expect(m.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
  expect(m.text).not.toContain("\n");
  for (const block of m.blocks as any[]) {
    if (block.type === "header")
      expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    if (block.type === "section") {
      if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      for (const field of block.fields ?? [])
        expect(field.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
      expect((block.fields ?? []).length).toBeLessThanOrEqual(SLACK_LIMITS.fields);
    }
    if (block.type === "context") {
      expect(block.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
      for (const el of block.elements)
        expect(el.text.length).toBeLessThanOrEqual(SLACK_LIMITS.contextText);
    }
    if (block.type === "actions") {
      expect(block.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.actionsElements);
      const ids = block.elements.map((b: any) => b.action_id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const b of block.elements) {
        expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonText);
        expect(b.action_id.length).toBeLessThanOrEqual(SLACK_LIMITS.actionId);
        if (b.value !== undefined)
          expect(b.value.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonValue);
        if (b.url !== undefined) expect(b.url.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonUrl);
      }
    }
  }
}

function discordSize(m: DiscordMessage): number {
  const e = m.embeds[0];
  return (
    e.title.length +
    (e.description?.length ?? 0) +
    e.footer.text.length +
    e.fields.reduce((s, f) => s + f.name.length + f.value.length, 0)
  );
}

describe("slack escaping", () => {
  it.each(FIXTURE_NAMES)("%s: every <…> in mrkdwn is one of ours", (name) => {
    // Act
    const message = formatSlack(fixture(name), { type: "slack", mode: "webhook" });
    // Assess
    for (const text of mrkdwnTexts(message)) {
      for (const [, inner] of text.matchAll(/<([^>]*)>/g)) {
        expect(OUR_CONSTRUCTS.some((re) => re.test(inner))).toBe(true);
      }
    }
    expectWithinSlackLimits(message);
  });

  it("neutralizes mentions and links in summary, commit message, author and custom data", () => {
    // Prepare
    const hostile = "<!channel> <!here> <@U123> <https://evil.example|click> & done";
    const n: Notification = {
      ...fixture("approval-request"),
      summary: hostile,
      revision: { id: "abc", message: hostile, author: hostile },
      approval: { customData: hostile, approvers: ["U012ABC"] },
      trigger: hostile,
      notes: [hostile],
    };
    // Act
    const texts = mrkdwnTexts(formatSlack(n, { type: "slack", mode: "webhook" })).join("\n");
    // Assess
    for (const live of ["<!channel>", "<!here>", "<@U123>", "<https://evil.example"])
      expect(texts).not.toContain(live);
    expect(texts).toContain("&lt;!channel&gt;");
    expect(texts).toContain("&lt;https://evil.example|click&gt; &amp; done");
    expect(texts).not.toMatch(/&(?!amp;|lt;|gt;)/);
  });

  it("a rejection is never worded as a failure", () => {
    const message = formatSlack(fixture("rejection"), { type: "slack", mode: "webhook" });
    const header = (message.blocks[0] as any).text.text as string;
    expect(header).toContain("Rejected by Jane Doe (U012ABC)");
    expect(`${header} ${message.text}`).not.toMatch(/fail/i);
  });

  it("an approval request carries the decision buttons with nothing but what is decided", () => {
    // Prepare
    const n = fixture("approval-request");
    // Act
    const message = formatSlack(n, { type: "slack", mode: "webhook" });
    // Assess
    const actions = message.blocks.find((b) => b.type === "actions") as any;
    const approve = actions.elements.find((b: any) => b.action_id === APPROVE_ACTION_ID);
    const reject = actions.elements.find((b: any) => b.action_id === REJECT_ACTION_ID);
    expect(approve).toMatchObject({ style: "primary", text: { text: "Approve" } });
    expect(reject).toMatchObject({ style: "danger", text: { text: "Reject" } });
    const expected = {
      pipeline: n.pipeline,
      stage: "Approve",
      action: "ManualApproval",
      executionId: n.executionId,
    };
    expect(JSON.parse(approve.value)).toEqual(expected);
    expect(JSON.parse(reject.value)).toEqual(expected);
  });

  it("only approval requests have decision buttons", () => {
    for (const name of FIXTURE_NAMES.filter((x) => x !== "approval-request")) {
      const json = JSON.stringify(formatSlack(fixture(name), { type: "slack", mode: "webhook" }));
      expect(json).not.toContain(APPROVE_ACTION_ID);
      expect(json).not.toContain(REJECT_ACTION_ID);
    }
  });
});

describe("discord mentions", () => {
  it("@everyone in a summary cannot ping anyone", () => {
    const m = formatDiscord(
      { ...fixture("failure-hostile"), summary: "@everyone @here <@123> <@&456>" },
      { type: "discord" },
    );
    expect(m.allowed_mentions).toEqual({ parse: [] });
    expect(m).not.toHaveProperty("content");
  });
});

/** Channels that must deliver a 200 kB summary, cut to their limits. */
const BIG: [string, ChannelDriver<any>, ChannelConfig, (body: any) => void][] = [
  [
    "slack",
    slackDriver,
    { type: "slack", mode: "webhook" },
    (body: SlackMessage) => {
      expectWithinSlackLimits(body);
      expect(JSON.stringify(body)).toContain("z…");
    },
  ],
  [
    "discord",
    discordDriver,
    { type: "discord" },
    (body: DiscordMessage) => {
      expect(discordSize(body)).toBeLessThanOrEqual(DISCORD_LIMITS.total);
      expect(body.embeds[0].description?.length).toBeLessThanOrEqual(DISCORD_LIMITS.description);
      expect(body.embeds[0].description?.endsWith("z…")).toBe(true);
    },
  ],
  [
    "teams",
    teamsDriver,
    { type: "teams" },
    (body: unknown) => {
      expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(
        TEAMS_LIMITS.payloadBytes,
      );
      expect(JSON.stringify(body)).toContain("z…");
    },
  ],
  [
    "pagerduty",
    pagerdutyDriver,
    { type: "pagerduty" },
    (body: any) => {
      expect(body.payload.summary.length).toBeLessThanOrEqual(PAGERDUTY_LIMITS.summary);
      expect(body.payload.summary.endsWith("z…")).toBe(true);
    },
  ],
];

describe.each(BIG)("%s with a 200 kB summary", (type, driver, config, check) => {
  it("is cut visibly, within limits, delivered, and the cut reported", async () => {
    // Prepare
    const server = await startServer(
      replyWith({ status: type === "pagerduty" ? 202 : 200, body: "ok" }),
    );
    try {
      const cfg = type === "pagerduty" ? { ...config, endpoint: server.url } : config;
      const secret: Record<string, string> =
        type === "pagerduty"
          ? { routingKey: "r".repeat(32) }
          : { webhookUrl: `${server.url}/hook` };
      const { ctx, lines } = makeContext(cfg, secret);
      const n: Notification = {
        ...fixture("failure-hostile"),
        summary: `<!channel> ${"z".repeat(200_000)}`,
      };
      // Act
      const receipt = await driver.send(n, ctx);
      // Assess
      expect(server.requests).toHaveLength(1);
      check(JSON.parse(server.requests[0].body));
      expect(receipt.truncated).toBe(true);
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: "warn",
          fields: expect.objectContaining({
            channel: ctx.name,
            fields: expect.arrayContaining(["summary"]),
          }),
        }),
      );
    } finally {
      await server.close();
    }
  });
});
