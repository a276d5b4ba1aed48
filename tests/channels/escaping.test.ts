/**
 * Untrusted text stays inert (Slack mentions and links; Teams and Discord Markdown: links, images,
 * emphasis, code, mentions, with the exact escaped text per medium), and a 200 kB summary
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
  formatSlack,
  SLACK_LIMITS,
  slackDriver,
  type SlackMessage,
} from "../../handlers/channels/slack";
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from "../../handlers/contracts/slack-approval";
import { fitter } from "../../handlers/channels/common";
import {
  escapeDiscordMarkdown,
  escapeTeamsMarkdown,
  fitEscaped,
} from "../../handlers/channels/markdown";
import {
  formatTeams,
  teamsDriver,
  TEAMS_LIMITS,
  type TeamsMessage,
} from "../../handlers/channels/teams";
import type { ChannelDriver } from "../../handlers/channels/types";
import type { ChannelConfig, Notification } from "../../handlers/types";
import {
  FIXTURE_NAMES,
  fixture,
  makeContext,
  mrkdwnTexts,
  replyWith,
  startServer,
} from "./helpers";

/** Every mrkdwn string in a Slack message, with the fallback `text`. */
function slackTexts(m: SlackMessage): string[] {
  return [m.text, ...mrkdwnTexts(m.blocks)];
}

/** The only `<…>` constructs we put into mrkdwn ourselves. */
const OUR_CONSTRUCTS = [
  /^!date\^\d+\^\{date_num\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
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
    for (const text of slackTexts(message)) {
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
    const texts = slackTexts(formatSlack(n, { type: "slack", mode: "webhook" })).join("\n");
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
    // The run the request was posted for (`action-execution-id`): a button decides that run
    // only (issue 10, item 2; contracts/slack-approval.ts).
    const expected = {
      pipeline: n.pipeline,
      stage: "Approve",
      action: "ManualApproval",
      executionId: n.executionId,
      actionExecutionId: "6c1f0e2d-3a4b-4c5d-9e6f-7a8b9c0d1e2f",
    };
    expect(JSON.parse(approve.value)).toEqual(expected);
    expect(JSON.parse(reject.value)).toEqual(expected);
  });

  it("a URL with | keeps its button (a JSON string) and is percent-encoded in an mrkdwn link", () => {
    // Prepare: CloudWatch Logs Insights and Grafana URLs carry `|` in their queries. Block Kit's
    // button `url` is a JSON string of at most 3000 characters (docs.slack.dev, button element):
    // `|` is harmless there; only mrkdwn `<url|label>` would end the URL at it.
    const logs = "https://grafana.example.com/explore?expr=rate(x)|json&from=now-1h";
    const execution = "https://eu-west-1.console.aws.amazon.com/codesuite/x?filter=a|b";
    const n: Notification = {
      ...fixture("failure-revision"),
      externalUrl: logs,
      consoleUrl: execution,
    };
    // Act
    const message = formatSlack(n, { type: "slack", mode: "webhook" });
    // Assess: both buttons, with the URLs as given; the Execution field's link is %7C-encoded.
    const actions = message.blocks.find((b) => b.type === "actions") as any;
    const urls = Object.fromEntries(actions.elements.map((b: any) => [b.text.text, b.url]));
    expect(urls).toMatchObject({ "View logs": logs, "View execution": execution });
    const texts = slackTexts(message).join("\n");
    expect(texts).toContain("<https://eu-west-1.console.aws.amazon.com/codesuite/x?filter=a%7Cb|`");
    expect(texts).not.toContain("filter=a|b");
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

/**
 * Hostile texts and exactly what each medium receives. Teams: Adaptive Card TextBlock / FactSet
 * Markdown; Discord: embed Markdown. A backslash makes the next character literal in both.
 */
const HOSTILE: { name: string; text: string; teams: string; discord: string }[] = [
  {
    name: "masked link",
    text: "[click here](https://evil.example)",
    teams: "\\[click here\\]\\(https://evil.example\\)",
    discord: "\\[click here\\]\\(https://evil.example\\)",
  },
  {
    name: "image",
    text: "![img](https://evil.example/x.png)",
    teams: "!\\[img\\]\\(https://evil.example/x.png\\)",
    discord: "!\\[img\\]\\(https://evil.example/x.png\\)",
  },
  {
    name: "mentions",
    text: "@everyone @here <@123> <@&456> <#789>",
    teams: "@everyone @here \\<@123\\> \\<@\\&456\\> \\<#789\\>",
    discord: "\\@everyone \\@here \\<\\@123\\> \\<\\@&456\\> \\<#789\\>",
  },
  {
    name: "bold",
    text: "**bold**",
    teams: "\\*\\*bold\\*\\*",
    discord: "\\*\\*bold\\*\\*",
  },
  {
    name: "italic",
    text: "_italic_ *italic*",
    teams: "\\_italic\\_ \\*italic\\*",
    discord: "\\_italic\\_ \\*italic\\*",
  },
  {
    name: "a CloudFormation status",
    text: "UPDATE_ROLLBACK_COMPLETE",
    teams: "UPDATE\\_ROLLBACK\\_COMPLETE",
    discord: "UPDATE\\_ROLLBACK\\_COMPLETE",
  },
  {
    name: "backticks",
    text: "`rm -rf /`\n```\nblock\n```",
    teams: "\\`rm -rf /\\`\n\\`\\`\\`\nblock\n\\`\\`\\`",
    discord: "\\`rm -rf /\\`\n\\`\\`\\`\nblock\n\\`\\`\\`",
  },
  {
    name: "autolink",
    text: "<https://evil.example>",
    teams: "\\<https://evil.example\\>",
    discord: "\\<https://evil.example\\>",
  },
  {
    // Kept readable and left to the client to auto-link: see handlers/channels/markdown.ts.
    name: "bare URL",
    text: "see https://docs.example/a_b#c_d now",
    teams: "see https://docs.example/a\\_b#c\\_d now",
    discord: "see https://docs.example/a_b#c_d now",
  },
  {
    name: "Discord-only syntax",
    text: "__under__ ~~strike~~ ||spoiler|| </cmd:1> <t:0:R> <:e:1>",
    teams: "\\_\\_under\\_\\_ \\~\\~strike\\~\\~ ||spoiler|| \\</cmd:1\\> \\<t:0:R\\> \\<:e:1\\>",
    discord:
      "\\_\\_under\\_\\_ \\~\\~strike\\~\\~ \\|\\|spoiler\\|\\| \\</cmd:1\\> \\<t:0:R\\> \\<:e:1\\>",
  },
  {
    name: "block markers at line starts",
    text: "- item\n+ item\n  1. first\n# head\n## head\n-# subtext\n> quote\nnot - a list 2. x",
    teams:
      "\\- item\n\\+ item\n  1\\. first\n\\# head\n\\## head\n\\-# subtext\n\\> quote\nnot - a list 2. x",
    discord:
      "\\- item\n\\+ item\n  1\\. first\n\\# head\n\\## head\n\\-# subtext\n\\> quote\nnot - a list 2. x",
  },
  {
    name: "backslashes and entities",
    text: "C:\\temp\\_x &#91;a&#93;(https://evil.example)",
    teams: "C:\\\\temp\\\\\\_x \\&#91;a\\&#93;\\(https://evil.example\\)",
    discord: "C:\\\\temp\\\\\\_x &#91;a&#93;\\(https://evil.example\\)",
  },
];

describe.each(HOSTILE)("$name", ({ text, teams, discord }) => {
  it("is escaped for Teams", () => {
    expect(escapeTeamsMarkdown(text)).toBe(teams);
  });

  it("is escaped for Discord", () => {
    expect(escapeDiscordMarkdown(text)).toBe(discord);
  });
});

/** A notification with `hostile` in every field that carries text we did not write. */
function everywhere(hostile: string): Notification {
  return {
    ...fixture("approval-request"),
    pipeline: hostile,
    stage: hostile,
    action: hostile,
    state: hostile,
    errorCode: hostile,
    decidedBy: hostile,
    trigger: hostile,
    summary: hostile,
    revision: { id: "abc", message: hostile, author: hostile },
    approval: {
      customData: hostile,
      approvers: [hostile],
      expiresAt: "2024-05-08T12:34:56Z",
      reviewUrl: "https://grafana.example.com/d/canary?var-env=prod",
    },
    notes: [hostile],
    externalUrl: "https://logs.example.com/run/1",
  };
}

/** Every Markdown-rendered string of a Teams card: TextBlock texts and fact values. */
function teamsTexts(m: TeamsMessage): string[] {
  return m.attachments[0].content.body.flatMap((el) =>
    el.type === "TextBlock" ? [el.text] : el.facts.map((fact) => fact.value),
  );
}

/** Every Markdown-rendered string of a Discord message: title, description, field values. */
function discordTexts(m: DiscordMessage): string[] {
  const e = m.embeds[0];
  return [e.title, e.description ?? "", ...e.fields.map((x) => x.value)];
}

/** A character that opens syntax and has no backslash before it (an even run of them). */
const UNESCAPED = (chars: string): RegExp => new RegExp(`(^|[^\\\\])(\\\\\\\\)*[${chars}]`);

describe("teams and discord payloads", () => {
  const hostile =
    "[click here](https://evil.example) <@123> **b** _i_ UPDATE_ROLLBACK_COMPLETE `c`";

  it("teams: no field renders the sender's Markdown, and the only links are our buttons", () => {
    // Act
    const m = formatTeams(everywhere(hostile));
    // Assess
    const texts = teamsTexts(m);
    expect(texts.join("\n")).toContain("\\[click here\\]\\(https://evil.example\\)");
    for (const text of texts) expect(text).not.toMatch(UNESCAPED("\\[\\]()<>*_`"));
    expect(m.attachments[0].content.actions.map((a) => [a.title, a.url])).toEqual([
      ["View execution", fixture("approval-request").consoleUrl],
      ["View logs", "https://logs.example.com/run/1"],
      ["Review", "https://grafana.example.com/d/canary?var-env=prod"],
    ]);
  });

  it("discord: no field renders the sender's Markdown, and the only links are ours", () => {
    // Act
    const m = formatDiscord(everywhere(hostile), { type: "discord" });
    // Assess
    const texts = discordTexts(m);
    expect(texts.join("\n")).toContain("\\[click here\\]\\(https://evil.example\\)");
    const ours = ["[Open review](https://grafana.example.com/d/canary?var-env=prod)"];
    ours.push("[View logs](https://logs.example.com/run/1)");
    // The Expires field: Discord's timestamp markup for the fixture's 2024-05-08T12:34:56Z.
    ours.push("<t:1715171696:f>");
    for (const text of texts.filter((t) => !ours.includes(t)))
      expect(text).not.toMatch(UNESCAPED("\\[\\]()<>*_`@"));
    expect(m.embeds[0].fields.map((x) => x.value)).toEqual(expect.arrayContaining(ours));
    expect(m.allowed_mentions).toEqual({ parse: [] });
  });

  it("a cut never leaves half an escape before the ellipsis", () => {
    // Prepare
    const n = { ...fixture("failure-hostile"), summary: "_".repeat(20_000) };
    // Act
    const description = formatDiscord(n, { type: "discord" }).embeds[0].description ?? "";
    const teams = teamsTexts(formatTeams(n)).find((t) => t.startsWith("\\_")) ?? "";
    // Assess
    for (const text of [description, teams]) {
      expect(text.endsWith("\\_…")).toBe(true);
      expect(text).not.toMatch(UNESCAPED("_"));
    }
    expect(description.length).toBeLessThanOrEqual(DISCORD_LIMITS.description);
    expect(teams.length).toBeLessThanOrEqual(TEAMS_LIMITS.summary);
  });

  it("fitEscaped drops the backslash of a pair the cut split", () => {
    const f = fitter();
    expect(fitEscaped(f, "x", "ab\\_cd", 4)).toBe("ab…");
    expect(fitEscaped(f, "y", "a\\\\bcd", 4)).toBe("a\\\\…");
    expect(fitEscaped(f, "z", "a\\_b", 4)).toBe("a\\_b");
    expect(f.truncated).toEqual(["x", "y"]);
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
