/**
 * Single notifications through the strict Slack Web API stand-in (testing/receivers/slack-api.ts):
 * what the product posts must be what Slack accepts. chat.postMessage refuses a message whose
 * blocks carry more than about 12,000 characters of text in all (`msg_blocks_too_long`;
 * slackapi/bolt-js#2509), although each section is within its own 3000. Build output in a
 * summary or a commit message (`<testcase name="a & b">`) grows when escaped for mrkdwn (`&lt;`,
 * `&amp;`); with every text at the length CodePipeline allows (API reference: pipeline, stage and
 * action names 100, `ExecutionDetails.summary` and `ArtifactRevision.revisionSummary` 2048,
 * `ExecutionTrigger.triggerDetail` 1024; approval custom data 500) an approval request carries
 * about 10,800 characters: within 12,000, and about 500 below the 11,341 at which
 * slackapi/bolt-js#2867 saw a refusal. This test keeps it so.
 */
import { discordDriver } from "../../handlers/channels/discord";
import { slackDriver } from "../../handlers/channels/slack";
import { formatSlack, type SlackConfig } from "../../handlers/channels/slack-format";
import { SLACK_LIMITS, blockTextChars } from "../../handlers/channels/slack-limits";
import { MAX_ID_CHARS, MAX_TEXT_CHARS } from "../../handlers/events/model";
import type { ChannelConfig, Notification } from "../../handlers/types";
import { startReceivers, type Receivers } from "../../testing/receivers";
import { fixture, makeContext } from "./helpers";

let receivers: Receivers;
beforeAll(async () => {
  receivers = await startReceivers();
});
afterEach(() => receivers.reset());
afterAll(() => receivers.close());

/** `n` characters of JUnit-style build output: markup and ampersands, as test reports have. */
function buildOutput(n: number): string {
  const line = '<testcase name="checkout & pay"><failure message="expected <200> got <500>"/>\n';
  return line.repeat(Math.ceil(n / line.length)).slice(0, n);
}

/**
 * `base` with every text at the length CodePipeline allows (names 100, execution and revision
 * summaries 2048, trigger detail 1024, approval custom data 500), untrusted ones filled with
 * build output.
 */
function atLimits(base: Notification): Notification {
  return {
    ...base,
    pipeline: "p".repeat(100),
    stage: "S".repeat(100),
    action: "A".repeat(100),
    summary: buildOutput(2048),
    trigger: `Webhook ${buildOutput(1024)}`,
    externalUrl: `https://example.com/${"u".repeat(1000)}`,
    revision: {
      id: "9f2c1e7",
      message: buildOutput(2048),
      author: "Jane <jane@example.com>",
      url: `https://github.com/o/r/commit/${"c".repeat(40)}`,
    },
    ...(base.approval && {
      approval: {
        ...base.approval,
        customData: buildOutput(500),
        reviewUrl: `https://example.com/${"v".repeat(1000)}`,
      },
    }),
  };
}

describe("chat.postMessage (bot mode) accepts every single notification at CodePipeline's limits", () => {
  it.each(["approval-request", "rejection", "failure-hostile", "failure-revision"])(
    "%s, its texts full of build output",
    async (name) => {
      const config = {
        type: "slack",
        mode: "bot",
        channel: "C0STRICT",
        apiUrl: receivers.slackApiUrl,
      } as ChannelConfig;
      const { ctx } = makeContext(config, { botToken: "xoxb-strict" });
      await slackDriver.send(atLimits(fixture(name)), ctx as never);
      const attempts = receivers.attemptsOf("slack-api", "chat.postMessage");
      expect(attempts.map((a) => a.outcome)).toEqual(["delivered"]);
    },
  );
});

/**
 * `base` with every text at what the event parser lets through (handlers/events/model.ts:
 * identifiers `MAX_ID_CHARS`, free text `MAX_TEXT_CHARS`), and ten enrichment notes: more than
 * Slack's cumulative limit even after each text is cut to its own Block Kit limit (about 14,800
 * characters before the total was kept).
 */
function atParserCaps(base: Notification): Notification {
  const id = (c: string) => c.repeat(MAX_ID_CHARS);
  const n = atLimits(base);
  // An approval request's identifiers ride in its button value (2000), which refuses longer ones
  // by design: they stay at CodePipeline's own limits there.
  const keys =
    n.kind === "approval-request"
      ? {}
      : { pipeline: id("p"), stage: id("S"), action: id("A"), executionId: id("e") };
  return {
    ...n,
    ...keys,
    errorCode: id("E"),
    summary: buildOutput(MAX_TEXT_CHARS),
    trigger: `Webhook ${buildOutput(MAX_TEXT_CHARS)}`,
    decidedBy: id("d"),
    notes: Array.from({ length: 10 }, () => buildOutput(3000)),
    revision: { ...n.revision, message: buildOutput(MAX_TEXT_CHARS), author: id("a") },
  };
}

describe("a single notification is kept within Slack's cumulative block text", () => {
  it.each(["approval-request", "rejection", "failure-hostile", "failure-revision"])(
    "%s with every text at the parser's caps: within blocksText, and chat.postMessage takes it",
    async (name) => {
      const config = {
        type: "slack",
        mode: "bot",
        channel: "C0STRICT",
        apiUrl: receivers.slackApiUrl,
      } as SlackConfig;
      const n = atParserCaps(fixture(name));
      expect(blockTextChars(formatSlack(n, config).blocks)).toBeLessThanOrEqual(
        SLACK_LIMITS.blocksText,
      );
      const { ctx } = makeContext(config, { botToken: "xoxb-strict" });
      await slackDriver.send(n, ctx as never);
      const attempts = receivers.attemptsOf("slack-api", "chat.postMessage");
      expect(attempts.map((a) => a.outcome)).toEqual(["delivered"]);
    },
  );
});

describe("discord: the receipt path of ?wait=true", () => {
  it("posts with ?wait=true and the receipt carries the id of the message Discord created", async () => {
    const { ctx } = makeContext({ type: "discord" } as ChannelConfig, {
      webhookUrl: receivers.urlFor("discord", "strict"),
    });
    const receipt = await discordDriver.send(fixture("failure-revision"), ctx as never);
    const [delivery] = receivers.byReceiver("discord", "strict");
    expect(delivery.query).toEqual({ wait: "true" });
    expect(receipt).toMatchObject({ type: "discord", status: 200 });
    expect(receipt.id).toMatch(/^\d{17,20}$/);
  });
});
