/**
 * Slack's digest within Slack's cumulative block-text limit (redteam11), in bot and webhook mode.
 *
 * Slack refuses a message whose blocks together carry more than about 12,000 characters of text:
 * chat.postMessage answers `{"ok":false,"error":"msg_blocks_too_long"}` (slackapi/bolt-js#2509: "12,000
 * text characters with a buffer for block containers", refused at about 13,200; #2867 refused
 * 11,341 characters of `.text`), incoming webhooks 400 `invalid_blocks` / `msg_too_long`; the
 * markdown block documents 12,000 cumulative
 * (https://docs.slack.dev/reference/block-kit/blocks/markdown-block). The digest kept only 50
 * blocks and 3000 characters per section: a 30-entry storm carried ~14,600 characters, 48 entries
 * ~23,000. Counted as Slack counts: every text object's `text`.
 */
import { formatSlackDigest, renderSlackDigest } from "../../handlers/channels/slack";
import type { ChannelConfig, Digest, DigestEntry } from "../../handlers/types";
import { digestOf, HOME, useHome } from "./digest-support";
import { blockTextLength } from "../../testing/receivers/slack-blocks";

/** Slack's cumulative block-text limit (characters). */
const SLACK_BLOCK_TEXT = 12_000;
/** The lowest refusal reported (bolt-js#2867): the digest keeps below it too. */
const LOWEST_REFUSAL = 11_341;

/** What Slack counts toward its block text: the local Slack's count (testing/receivers). */
const blockChars = (blocks: unknown) => blockTextLength(blocks);

const SUMMARY =
  "Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, " +
  "Message: Error while executing command: ./gradlew build --no-daemon. Reason: exit status 1";

/** A storm of `n`: realistic pipeline names, console links with uuid-long execution ids. */
function storm(n: number, over: (i: number) => Partial<DigestEntry> = () => ({})): Digest {
  const entries = Array.from({ length: n }, (_, i): DigestEntry => {
    const pipeline = `svc-${String(i).padStart(2, "0")}-payments-api-production`;
    const executionId = `3f2b8c1e-${String(i).padStart(4, "0")}-4a5b-9c7d-0e1f2a3b4c5d`;
    return {
      notificationId: `n-${i}`,
      kind: "failure",
      pipeline,
      account: HOME.account,
      region: HOME.region,
      executionId,
      stage: "Build",
      time: new Date(Date.UTC(2026, 10, 30, 12, 0, i % 60)).toISOString(),
      consoleUrl: `https://${HOME.region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/${pipeline}/executions/${executionId}/timeline?region=${HOME.region}`,
      summary: SUMMARY,
      ...over(i),
    };
  });
  return digestOf(0, { count: n, pipelines: n, entries });
}

const modes: [string, ChannelConfig][] = [
  ["bot", { type: "slack", mode: "bot", channel: "C012ABCDEF" } as ChannelConfig],
  ["webhook", { type: "slack", mode: "webhook" } as ChannelConfig],
];

let restore: () => void;
beforeAll(() => {
  restore = useHome();
});
afterAll(() => restore());

describe.each(modes)("slack digest, %s mode: cumulative block text", (_mode, config) => {
  it.each([30, 48, 60, 200])("a %i-failure storm stays within 12,000 characters", (n) => {
    const { message, truncated } = renderSlackDigest(storm(n), config as never);
    const chars = blockChars(message.blocks);
    expect(chars).toBeLessThanOrEqual(SLACK_BLOCK_TEXT);
    expect(chars).toBeLessThan(LOWEST_REFUSAL);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    // The summaries go first (digest-groups.ts fitGroups): 30 pipelines are all listed without
    // them; for more, "and N more pipelines" counts every pipeline not shown.
    const sections = message.blocks.filter((b) => b.type === "section").length;
    expect(truncated).toEqual(n === 30 ? ["detail"] : ["entries", "detail"]);
    if (n === 30) expect(sections).toBe(30);
    else
      expect(JSON.stringify(message.blocks[message.blocks.length - 1])).toContain(
        `and ${n - sections} more pipelines`,
      );
    expect(sections).toBeGreaterThanOrEqual(20);
  });

  it("entries at their longest (pipeline names and summaries near Block Kit's 3000 per section) too", () => {
    const long = storm(20, (i) => ({
      pipeline: `${String(i).padStart(2, "0")}-${"p".repeat(1000)}`,
      stage: "S".repeat(500),
      summary: "z".repeat(1500),
    }));
    const message = formatSlackDigest(long, config as never);
    expect(blockChars(message.blocks)).toBeLessThan(LOWEST_REFUSAL);
    expect(message.blocks.filter((b) => b.type === "section").length).toBeGreaterThanOrEqual(1);
  });

  it("a small digest is not cut", () => {
    expect(renderSlackDigest(storm(10), config as never).truncated).toEqual([]);
  });
});
