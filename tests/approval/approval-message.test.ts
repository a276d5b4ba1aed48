import payloadFixture from "../events/slack/block-actions-approve.json";
import { parseApprovalButtonValue as parseApprovalTarget } from "../../handlers/contracts/slack-approval";
import { authorizeApprover } from "../../handlers/approval/decision";
import {
  parseInteraction,
  type BlockActionsInteraction,
} from "../../handlers/approval/interaction";
import {
  alreadyDecidedPlain,
  alreadyDecidedText,
  approvalSummary,
  decidedEnding,
  decisionLine,
  mentionOf,
  replacedEnding,
  replaceButtons,
} from "../../handlers/approval/messages";
import { endedEnding } from "../../handlers/approval/ended";
import { findPipelineRule } from "../../handlers/routing";
import { fitLine } from "../../handlers/slack-text";
import { formatSlack } from "../../handlers/channels/slack-format";
import type { Notification, PipelineRule } from "../../handlers/types";
import approvalRequestFixture from "../fixtures/notifications/approval-request.json";

const rules: PipelineRule[] = [
  { match: { prefix: "payments-" }, tier: "standard", states: ["FAILED"] },
  {
    match: { prefix: "payments-prod" },
    tier: "critical",
    states: ["FAILED"],
    approvals: { channel: "slack-deploys", approvers: ["U0APPROVER1", "U0APPROVER2"] },
  },
  {
    match: { name: "payments-prod-eu" },
    tier: "critical",
    states: ["FAILED"],
    approvals: { channel: "slack-deploys", approvers: ["U0EUONLY"] },
  },
];

describe("parseInteraction", () => {
  it("reads user, action, value, response_url and message of a block_actions payload", () => {
    // Act
    const parsed = parseInteraction(JSON.stringify(payloadFixture));
    // Assess
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const click = parsed.interaction as BlockActionsInteraction;
    expect(click.type).toBe("block_actions");
    expect(click.user).toEqual({ id: "U0APPROVER1", username: "jane.doe", name: "Jane Doe" });
    expect(click.actionId).toBe("deploy-notifier.approve");
    expect(parseApprovalTarget(click.value)).toEqual({
      pipeline: "payments-prod",
      stage: "Approve",
      action: "ManualApproval",
      executionId: "11111111-2222-3333-4444-555555555555",
    });
    expect(click.responseUrl).toBe(payloadFixture.response_url);
    expect(click.message?.blocks).toHaveLength(2);
    expect(click.channelId).toBe("C0DEPLOYS");
  });

  it.each([
    ["not JSON", "{nope"],
    ["no type", "{}"],
    ["no user id", JSON.stringify({ ...payloadFixture, user: {} })],
    ["no actions", JSON.stringify({ ...payloadFixture, actions: [] })],
  ])("rejects a payload with %s", (_name, json) => {
    expect(parseInteraction(json).ok).toBe(false);
  });

  it("passes other interaction types through by type only", () => {
    expect(parseInteraction('{"type":"view_submission"}')).toEqual({
      ok: true,
      interaction: { type: "view_submission" },
    });
  });
});

describe("parseApprovalTarget", () => {
  it.each([
    ["undefined", undefined],
    ["not JSON", "approve"],
    ["a missing field", '{"pipeline":"p","stage":"s","action":"a"}'],
    ["a non-string field", '{"pipeline":"p","stage":"s","action":"a","executionId":7}'],
    ["an empty field", '{"pipeline":"","stage":"s","action":"a","executionId":"e"}'],
  ])("rejects %s", (_name, value) => {
    expect(parseApprovalTarget(value)).toBeUndefined();
  });
});

describe("findPipelineRule / authorizeApprover", () => {
  it("prefers an exact name, then the longest prefix", () => {
    expect(findPipelineRule(rules, "payments-prod-eu")).toBe(rules[2]);
    expect(findPipelineRule(rules, "payments-prod-us")).toBe(rules[1]);
    expect(findPipelineRule(rules, "payments-staging")).toBe(rules[0]);
    expect(findPipelineRule(rules, "search-prod")).toBeUndefined();
  });

  it("allows a listed approver", () => {
    expect(authorizeApprover(rules, "payments-prod", "U0APPROVER2")).toEqual({ allowed: true });
  });

  it("refuses a user who is not an approver of that pipeline", () => {
    expect(authorizeApprover(rules, "payments-prod-eu", "U0APPROVER1")).toEqual({
      allowed: false,
      reason: "not-an-approver",
      message: "You are not an approver for payments-prod-eu.",
    });
  });

  it("refuses pipelines without approvals or not configured, escaping the name", () => {
    expect(authorizeApprover(rules, "payments-staging", "U0APPROVER1")).toMatchObject({
      allowed: false,
      reason: "not-configured",
    });
    expect(authorizeApprover(rules, "<!channel>", "U0APPROVER1")).toMatchObject({
      message: "&lt;!channel&gt; is not configured for Slack approvals.",
    });
  });
});

describe("authorizeApprover: configured sources (issue 14)", () => {
  const env = { HOME_ACCOUNT: process.env.HOME_ACCOUNT, AWS_REGION: process.env.AWS_REGION };
  const sources = [{ account: "222233334444", regions: ["eu-west-1"] }];
  const target = (account: string, region: string) => ({
    pipeline: "payments-prod",
    account,
    region,
  });
  beforeAll(() =>
    Object.assign(process.env, { HOME_ACCOUNT: "123456789012", AWS_REGION: "us-east-1" }),
  );
  afterAll(() => {
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("refuses a configured account's region outside sources[].regions, before the approvers, with the fan-out's reason", () => {
    expect(
      authorizeApprover(rules, target("222233334444", "us-west-2"), "U0APPROVER1", sources),
    ).toEqual({
      allowed: false,
      reason: "unconfigured-source",
      message:
        "payments-prod runs in account 222233334444, region us-west-2, which this notifier does not take approvals from; nothing was decided.",
      detail:
        "region us-west-2 of account 222233334444 is not a configured source region (config key sources[0].regions)",
    });
  });

  it("without sources only the home account and region are admitted; home needs no sources", () => {
    expect(
      authorizeApprover(rules, target("222233334444", "eu-west-1"), "U0APPROVER1"),
    ).toMatchObject({
      reason: "unconfigured-source",
      detail: "account 222233334444 is not a configured source (config key sources)",
    });
    expect(authorizeApprover(rules, "payments-prod", "U0APPROVER1")).toEqual({ allowed: true });
    expect(
      authorizeApprover(rules, target("123456789012", "us-east-1"), "U0APPROVER1", sources),
    ).toEqual({
      allowed: true,
    });
  });
});

describe("message building", () => {
  it("names the decider in the CodePipeline summary", () => {
    expect(approvalSummary("Approved", { id: "U1", name: "Jane Doe", username: "jane" })).toBe(
      "Approved by Jane Doe (U1) via Slack",
    );
    expect(approvalSummary("Rejected", { id: "U1", username: "jane" })).toBe(
      "Rejected by jane (U1) via Slack",
    );
  });

  it("mentions real user ids and escapes anything else", () => {
    expect(mentionOf("U0APPROVER1")).toBe("<@U0APPROVER1>");
    expect(mentionOf("<!channel>")).toBe("&lt;!channel&gt;");
  });

  it("writes times one way: Slack's date formatting in mrkdwn, its fallback in plain text", () => {
    // docs.slack.dev, "Formatting text for app surfaces", date formatting:
    // <!date^timestamp^token_string|fallback_text>, timestamp in Unix seconds; the reader sees
    // it in their own time zone, a client that cannot render it the fallback.
    const at1402 = "<!date^1718028179^{date_num} {time}|2024-06-10 14:02 UTC>";
    expect(decisionLine("Approved", "U0A", "2024-06-10T14:02:59.000Z")).toBe(
      `✅ Approved by <@U0A> at ${at1402}`,
    );
    expect(decisionLine("Rejected", "U0A", "2024-06-10T14:02:59.000Z")).toBe(
      `❌ Rejected by <@U0A> at ${at1402}`,
    );
    expect(alreadyDecidedText("Rejected", "U0A", "2024-06-10T09:05:00.000Z")).toBe(
      "Already rejected by <@U0A> at <!date^1718010300^{date_num} {time}|2024-06-10 09:05 UTC>.",
    );
    // A modal's error is plain text, where <!date> would show raw: the fallback's form.
    expect(alreadyDecidedPlain("Rejected", { id: "U0A" }, "2024-06-10T09:05:00.000Z")).toBe(
      "Already rejected by U0A at 2024-06-10 09:05 UTC.",
    );
  });

  it("replaces only our buttons and keeps the rest of the request", () => {
    // Prepare
    const message = payloadFixture.message as unknown as {
      text: string;
      blocks: Record<string, unknown>[];
    };
    const foreign = { type: "actions", elements: [{ type: "button", action_id: "other.app" }] };
    // Act
    const body = replaceButtons({ ...message, blocks: [...message.blocks, foreign] }, "✅ done");
    // Assess
    expect(body.replace_original).toBe(true);
    const blocks = body.blocks as Record<string, unknown>[];
    expect(blocks.map((b) => b.type)).toEqual(["section", "actions", "context"]);
    expect(blocks[1]).toBe(foreign);
    expect(blocks[2]).toEqual({ type: "context", elements: [{ type: "mrkdwn", text: "✅ done" }] });
    expect(body.text).toBe(`${message.text}\n✅ done`);
  });

  it("once decided, the header, State and Expires of the request no longer read as pending", () => {
    // Prepare: the request exactly as the fan-out posts it.
    const request = formatSlack(approvalRequestFixture as unknown as Notification, {
      type: "slack",
      mode: "webhook",
    }) as unknown as { text: string; blocks: Record<string, unknown>[] };
    expect(JSON.stringify(request.blocks)).toMatch(
      /approval needed[\s\S]*STARTED[\s\S]*\*Expires\*/,
    );
    const claim = {
      pipeline: "main-app-production-v3",
      stage: "Approve",
      action: "ManualApproval",
      executionId: "3f1c2b7e-9a4d-4e2b-8c6f-1d2e3f4a5b6c",
      decision: "Approved" as const,
      user: { id: "U012ABCDEF", name: "Jane Doe" },
      at: "2024-05-01T12:40:07.000Z",
    };
    // Act
    const body = replaceButtons(
      request,
      decisionLine("Approved", "U012ABCDEF", claim.at),
      decidedEnding(claim),
    );
    // Assess: who decided what and when, in the header and in place of State; no expiry.
    const blocks = body.blocks as Array<Record<string, any>>;
    expect(blocks[0]).toEqual({
      type: "header",
      text: {
        type: "plain_text",
        emoji: true,
        text: "✅ main-app-production-v3: approved by Jane Doe at 2024-05-01 12:40 UTC",
      },
    });
    const texts = JSON.stringify(blocks);
    expect(texts).not.toContain("approval needed");
    expect(texts).not.toContain("STARTED");
    expect(texts).not.toContain("*Expires*");
    expect(texts).toContain(
      "*Decision*\\n✅ Approved by <@U012ABCDEF> at <!date^1714567207^{date_num} {time}|2024-05-01 12:40 UTC>",
    );
    expect(texts).toContain("*Approvers*");
    // Without an ending (an error line), the request is kept as it was.
    expect(JSON.stringify(replaceButtons(request, "⚠️ x").blocks)).toContain("approval needed");
    // A replaced request no longer reads as pending either (issue 10 item 2: the old message is
    // updated to say it was replaced).
    const replaced = JSON.stringify(replaceButtons(request, "⏭️ x", replacedEnding(claim)).blocks);
    expect(replaced).toContain(
      "main-app-production-v3: replaced by a newer action execution (the stage was retried)",
    );
    expect(replaced).toContain(
      "*State*\\n⏭️ Replaced by a newer action execution (the stage was retried); use the newest message",
    );
    expect(replaced).not.toContain("approval needed");
    expect(replaced).not.toContain("STARTED");
    expect(replaced).not.toContain("*Expires*");
  });

  describe("a header with long names stays within Slack's 150 characters and keeps what happened", () => {
    // Slack's header block: plain_text of at most 150 characters
    // (https://docs.slack.dev/reference/block-kit/blocks/header-block). A pipeline name may have
    // 100 (API_PipelineDeclaration.html `name`: "Maximum length of 100"); the names are cut, not
    // the status, the time or "(execution stopping)".
    const pipeline = `payments-${"x".repeat(91)}`;
    const claim = {
      pipeline,
      stage: "Approve",
      action: "ManualApproval",
      executionId: "3f1c2b7e-9a4d-4e2b-8c6f-1d2e3f4a5b6c",
      decision: "Approved" as const,
      user: { id: "U012ABCDEF", name: `Jane ${"Doe".repeat(25)}` },
      at: "2024-05-01T12:40:07.000Z",
    };
    const target = {
      pipeline,
      stage: "Approve",
      action: "ManualApproval",
      executionId: claim.executionId,
    };

    it("decided while its execution was stopping: '(execution stopping)' and the time survive", () => {
      const { header } = decidedEnding(claim, true);
      // The kept pieces take 61 characters; the two names share the 89 left, each cut with "…".
      expect(header).toBe(
        `✅ payments-${"x".repeat(35)}…: approved by Jane ${"Doe".repeat(12)}Do… at 2024-05-01 12:40 UTC (execution stopping)`,
      );
      expect(header.length).toBe(150);
    });

    it("replaced: the newer action execution is still said", () => {
      const { header } = replacedEnding(target);
      expect(header).toBe(
        `⏭️ payments-${"x".repeat(75)}…: replaced by a newer action execution (the stage was retried)`,
      );
      expect(header.length).toBe(150);
    });

    it("decided in CodePipeline by a long assumed-role session, or ended undecided", () => {
      // An STS assumed-role ARN: role names up to 64 characters, session names up to 64
      // (IAM User Guide, "IAM and AWS STS quotas"; AssumeRole `RoleSessionName`).
      const by = `arn:aws:sts::123456789012:assumed-role/${"R".repeat(64)}/${"s".repeat(64)}`;
      const at = new Date("2024-05-01T12:40:07.000Z");
      const end = { kind: "decided" as const, status: "Failed" as const, summary: "no", by, at };
      const decided = endedEnding(target, end, "").header;
      // The session name is who decided (IAM User Guide, "IAM identifiers": an assumed-role ARN
      // is assumed-role/<role name>/<role session name>): the role is cut, never the session's
      // start; a session that does not fit either keeps its start.
      expect(decided).toBe(
        `❌ payments-${"x".repeat(37)}…: rejected in CodePipeline by …/${"s".repeat(44)}… at 2024-05-01 12:40 UTC`,
      );
      expect(decided.length).toBe(150);
      const jane = `arn:aws:sts::123456789012:assumed-role/${"R".repeat(64)}/jane.doe@example.com`;
      expect(endedEnding(target, { ...end, by: jane }, "").header).toBe(
        `❌ payments-${"x".repeat(37)}…: rejected in CodePipeline by assumed-role/${"R".repeat(12)}…/jane.doe@example.com at 2024-05-01 12:40 UTC`,
      );
      // An IAM user with a path (user/<path>/<name>): the path is cut.
      const user = `arn:aws:iam::123456789012:user/${"division/".repeat(10)}jane`;
      expect(endedEnding(target, { ...end, by: user }, "").header).toContain(
        ` by user/${"division/".repeat(4)}…/jane at 2024-05-01 12:40 UTC`,
      );
      const undecided = endedEnding(target, { kind: "expired" }, "").header;
      expect(undecided).toBe(`🚫 ${pipeline}: ended without a decision`);
      expect(undecided.length).toBeLessThanOrEqual(150);
    });

    it("the request itself: its names are cut, never 'approval needed' or '(attempt 2)'", () => {
      // Stage and action names may have 100 characters too (API_StageDeclaration.html,
      // API_ActionDeclaration.html `name`).
      const n = {
        ...(approvalRequestFixture as unknown as Notification),
        pipeline,
        stage: `Approve${"S".repeat(93)}`,
        attempt: 2,
      };
      const request = formatSlack(n, { type: "slack", mode: "webhook" } as never);
      const header = (request.blocks[0] as { text: { text: string } }).text.text;
      // 48 kept characters (the words and "/"); of the 102 left the action (14) is kept whole,
      // and the pipeline (100) and the stage (100) share the 88 left: 44 each.
      expect(header).toBe(
        `:raised_hand: payments-${"x".repeat(34)}…: approval needed at Approve${"S".repeat(36)}…/ManualApproval (attempt 2)`,
      );
      expect(header.length).toBe(150);
    });

    it("a rejection in the console: the caller's session name survives the cut", () => {
      const n = {
        ...(approvalRequestFixture as unknown as Notification),
        kind: "rejection" as const,
        state: "FAILED",
        pipeline,
        decidedBy: `assumed-role/${"R".repeat(64)}/jane.doe@example.com`,
      };
      const request = formatSlack(n, { type: "slack", mode: "webhook" } as never);
      const header = (request.blocks[0] as { text: { text: string } }).text.text;
      expect(header.length).toBeLessThanOrEqual(150);
      expect(header).toMatch(
        /^:no_entry: payments-x+…: Rejected by assumed-role\/R+…\/jane\.doe@example\.com at Approve\/ManualApproval$/,
      );
    });

    it("fitLine shares the room left by the kept pieces, the shorter name kept whole", () => {
      const line = fitLine(["[", { cut: "a".repeat(10) }, "|", { cut: "b".repeat(100) }, "]"], 30);
      expect(line).toBe(`[${"a".repeat(10)}|${"b".repeat(16)}…]`);
      expect(fitLine(["[", { cut: "a".repeat(40) }, "|", { cut: "b".repeat(40) }, "]"], 30)).toBe(
        `[${"a".repeat(12)}…|${"b".repeat(13)}…]`,
      );
      // Kept pieces alone too long: the line is cut at its end.
      expect(fitLine(["k".repeat(40), { cut: "n" }], 30)).toBe(`${"k".repeat(29)}…`);
      expect(fitLine(["short ", { cut: "name" }], 30)).toBe("short name");
    });
  });

  it("falls back to the message text when the message has no blocks", () => {
    const body = replaceButtons({ text: "Approval needed" }, "❌ no");
    expect(body.blocks).toEqual([
      { type: "section", text: { type: "mrkdwn", text: "Approval needed" } },
      { type: "context", elements: [{ type: "mrkdwn", text: "❌ no" }] },
    ]);
  });
});
