/**
 * The scenario runner's lifecycle steps against a fake host (no sandbox): a click on the request
 * an earlier step posted, CodePipeline's own events never posted by the runner (only the
 * stand-in emits them: a scripted approval SUCCEEDED would be a decision nobody made), and the expectations that prove issue 10's user-visible side: what a message says, the
 * PagerDuty incident's triggers (a retried failure pages again with the same dedup_key), the
 * clicker's ephemeral, and PutApprovalResult carrying the token of the run the request was posted
 * for (each run of an approval action has its own token: REFERENCE.md, CodePipeline's lifecycle).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatSlackDigest } from "../../handlers/channels/slack-digest";
import { formatSmsDigest } from "../../handlers/channels/sms";
import type { Digest, RuntimeConfig } from "../../handlers/types";
import {
  loadScenario,
  runScenario,
  type ScenarioHost,
  type ScenarioStep,
} from "../../sandbox/scenario";
import type { IssuedToken, ScenarioSlackMessage } from "../../sandbox/scenario-actions";

const APPROVE = "deploy-notifier.approve";

/** A Slack approval request with Approve / Reject buttons, as the fan-out posts it. */
function request(id: string, text: string, at = new Date()): ScenarioSlackMessage {
  const payload = {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text } },
      { type: "actions", elements: [{ type: "button", action_id: APPROVE, value: "{}" }] },
    ],
  };
  return {
    id,
    channel: "slack-releases",
    at: at.toISOString(),
    payload,
    original: payload,
    ephemerals: [],
  };
}

/** A fake host: records posted events and clicks; the test decides what each does. */
function fakeHost(overrides: Partial<ScenarioHost> = {}) {
  const posted: Array<Record<string, unknown>> = [];
  const clicks: Array<{ messageId: string; actionId: string; user: string }> = [];
  const messages: ScenarioSlackMessage[] = [];
  const tokens: IssuedToken[] = [];
  const calls: Array<{ operation: string; input: Record<string, unknown>; at: number }> = [];
  const deliveries: Array<{ channel: string; delivered: boolean; body: unknown; at: number }> = [];
  const incidents: ReturnType<ScenarioHost["incidents"]> = [];
  let emitted = 0;
  const host: ScenarioHost = {
    runtime: { downtime: [] } as unknown as RuntimeConfig,
    postEvent: async (event) => {
      posted.push(event);
      return { matched: true };
    },
    settle: async () => undefined,
    message: () => undefined,
    redeliveriesSince: () => 0,
    onReceive: () => () => undefined,
    deliveriesSince: (since) => deliveries.filter((d) => d.at >= since),
    auditSince: async () => [],
    dlqSince: () => 0,
    incidents: () => incidents,
    slackMessagesSince: (channel, since) =>
      messages
        .filter((m) => m.channel === channel && Date.parse(m.at) >= since)
        .map((m) => m.payload),
    slackMessages: () => messages,
    click: async (messageId, actionId, user) => {
      clicks.push({ messageId, actionId, user });
      return { statusCode: 200 };
    },
    codePipelineCallsSince: (since) => calls.filter((c) => c.at >= since),
    approvalTokens: () => tokens,
    approvalRun: () => undefined,
    emittedCount: () => emitted,
    retryStage: () => undefined,
    decideInConsole: () => undefined,
    advanceClock: () => 0,
    setFault: () => undefined,
    addPendingApproval: () => undefined,
    addFailedExecution: () => undefined,
    addExecution: () => undefined,
    ...overrides,
  };
  return {
    host,
    posted,
    clicks,
    messages,
    tokens,
    calls,
    deliveries,
    incidents,
    emit: () => (emitted += 1),
  };
}

const approvalStarted = (run: string) => ({
  detailType: "CodePipeline Action Execution State Change",
  detail: {
    pipeline: "main-app-production-v3",
    "execution-id": "$exec:release",
    stage: "Approve",
    action: "ManualApproval",
    "action-execution-id": run,
    state: "STARTED",
    type: { owner: "AWS", provider: "Manual", category: "Approval", version: "1" },
  },
});

/** Two steps: a request posted (run 1 or 2), then Approve clicked on the request of `on`. */
function approveSteps(on: string, tokenOf: string): ScenarioStep[] {
  return [
    { id: "first", name: "run 1 requested", events: [approvalStarted("$exec:run-1")], expect: {} },
    { id: "second", name: "run 2 requested", events: [approvalStarted("$exec:run-2")], expect: {} },
    {
      name: "approve",
      do: [{ click: "approve", on }],
      events: [],
      expect: { putApprovalResult: { calls: 1, status: "Approved", tokenOf } },
    },
  ];
}

describe("a scenario event the CodePipeline stand-in holds", () => {
  test("is a problem of its step that says why (its execution waits for the stage)", async () => {
    const f = fakeHost({
      postEvent: async () => ({ matched: true, held: "execution e1 is in stage Approve" }),
    });
    const report = await runScenario(f.host, {
      name: "held",
      steps: [{ name: "second request", events: [approvalStarted("$exec:run-2")], expect: {} }],
    });
    expect(report.steps[0].problems).toContain(
      "CodePipeline has not emitted the Action Execution State Change STARTED event: execution e1 is in stage Approve",
    );
  });
});

describe("scenario steps that click", () => {
  test("a click presses the request its step posted; PutApprovalResult must carry that run's token", async () => {
    // Prepare: each STARTED posts a request and issues a token; the click calls CodePipeline
    // with the token of the run whose request was clicked.
    const f = fakeHost();
    const tokenOfMessage: Record<string, string> = {};
    let n = 0;
    f.host.postEvent = async (event) => {
      const run = String((event.detail as Record<string, unknown>)["action-execution-id"]);
      n += 1;
      f.messages.push(request(`msg-${n}`, `approval needed (run ${run})`));
      tokenOfMessage[`msg-${n}`] = `token-${run}`;
      f.tokens.push({
        pipeline: "p",
        stage: "Approve",
        action: "ManualApproval",
        token: `token-${run}`,
      });
      return { matched: true };
    };
    f.host.click = async (messageId, actionId, user) => {
      f.clicks.push({ messageId, actionId, user });
      f.calls.push({
        operation: "PutApprovalResult",
        input: { token: tokenOfMessage[messageId], result: { status: "Approved" } },
        at: Date.now(),
      });
      return { statusCode: 200 };
    };

    // Act: Approve on run 2's request, expecting run 2's token; then on run 1's, expecting run 2's.
    const right = await runScenario(f.host, {
      name: "right",
      steps: approveSteps("second", "second"),
    });
    f.messages.length = 0;
    f.calls.length = 0;
    const wrong = await runScenario(f.host, {
      name: "wrong",
      steps: approveSteps("first", "second"),
    });

    // Assess
    expect(right.steps.map((s) => s.problems)).toEqual([[], [], []]);
    expect(f.clicks).toEqual([
      { messageId: "msg-2", actionId: APPROVE, user: "U012ABCDEF" },
      { messageId: "msg-3", actionId: APPROVE, user: "U012ABCDEF" },
    ]);
    expect(wrong.ok).toBe(false);
    expect(wrong.steps[2].problems).toEqual([
      'expected PutApprovalResult with the token of the run requested in step "second"',
    ]);
  });

  test("CodePipeline's own events are never posted: without the stand-in's, the step says nobody decided", async () => {
    // Prepare: a Reject whose FAILED events CodePipeline emits (REFERENCE.md: a rejection fails
    // the approval action and the execution).
    const steps = (): ScenarioStep[] => [
      { id: "request", name: "requested", events: [approvalStarted("$exec:run-1")], expect: {} },
      {
        name: "rejected",
        do: [{ click: "reject", on: "request" }],
        events: [
          {
            detailType: "CodePipeline Pipeline Execution State Change",
            detail: {
              pipeline: "main-app-production-v3",
              "execution-id": "$exec:release",
              state: "FAILED",
            },
            emitted: true,
          },
        ],
        expect: { matched: 0 },
      },
    ];
    const withoutOutbox = fakeHost();
    withoutOutbox.host.postEvent = async (event) => {
      withoutOutbox.posted.push(event);
      withoutOutbox.messages.push(request("msg-1", "approval needed"));
      return { matched: true };
    };
    const withOutbox = fakeHost();
    withOutbox.host.postEvent = async (event) => {
      withOutbox.posted.push(event);
      withOutbox.messages.push(request("msg-1", "approval needed"));
      return { matched: true };
    };
    withOutbox.host.click = async () => {
      withOutbox.emit();
      return { statusCode: 200 };
    };

    // Act
    const without = await runScenario(withoutOutbox.host, { name: "no outbox", steps: steps() });
    const withIt = await runScenario(withOutbox.host, { name: "outbox", steps: steps() });

    // Assess: the FAILED event is never posted by the runner; without the stand-in's, the step
    // says CodePipeline emitted none.
    const states = (posted: Array<Record<string, unknown>>) =>
      posted.map((e) => (e.detail as { state: string }).state);
    expect(states(withoutOutbox.posted)).toEqual(["STARTED"]);
    expect(states(withOutbox.posted)).toEqual(["STARTED"]);
    expect(without.steps[1].problems).toEqual([
      "CodePipeline emitted no Pipeline Execution State Change FAILED event: nothing this step did reached CodePipeline",
    ]);
    expect(withIt.steps[1].problems).toEqual([]);
  });

  test("an Approve click that reaches no one: no scripted SUCCEEDED, the approval still waits and expires per its timeout", async () => {
    // Prepare: Slack was down, so the request step posted no message and the click has nothing
    // to press; the CodePipeline stand-in still holds the run, waiting, with its 7-day timeout.
    const f = fakeHost();
    const startedAt = Date.parse("2026-12-01T10:00:00Z");
    const refs: unknown[] = [];
    f.host.approvalRun = (ref) => {
      refs.push(ref);
      return { status: "InProgress", startedAt, expiresAt: startedAt + 7 * 86_400_000 };
    };
    const succeeded = {
      ...approvalStarted("$exec:run-1"),
      detail: { ...approvalStarted("$exec:run-1").detail, state: "SUCCEEDED" },
      emitted: true,
    };

    // Act
    const report = await runScenario(f.host, {
      name: "nobody could click",
      steps: [
        { id: "request", name: "requested", events: [approvalStarted("$exec:run-1")], expect: {} },
        {
          name: "approved",
          do: [{ click: "approve", on: "request" }],
          events: [succeeded],
          expect: {},
        },
      ],
    });

    // Assess
    expect(f.posted.map((e) => (e.detail as { state: string }).state)).toEqual(["STARTED"]);
    const executionId = String((f.posted[0].detail as Record<string, unknown>)["execution-id"]);
    expect(refs).toEqual([
      {
        pipeline: "main-app-production-v3",
        stage: "Approve",
        action: "ManualApproval",
        executionId,
      },
    ]);
    expect(report.ok).toBe(false);
    expect(report.steps[1].problems).toEqual([
      'approve on "request": scenario: step "request" posted no message with Approve / Reject',
      `CodePipeline emitted no Action Execution State Change SUCCEEDED event: nobody decided the approval main-app-production-v3 Approve/ManualApproval (execution ${executionId}), it still waits, and expires at 2026-12-08T10:00:00.000Z if nobody decides (its timeout: 7 days)`,
    ]);
  });
});

describe("scenario steps where CodePipeline acts", () => {
  test("retryStage names the run's execution id; advanceClock that expires nothing is a problem", async () => {
    const f = fakeHost();
    const retried: unknown[] = [];
    f.host.retryStage = (input) => void retried.push(input);
    let expire = 1;
    f.host.advanceClock = (ms) => (ms === 7 * 86_400_000 ? expire : -1);
    const steps: ScenarioStep[] = [
      { name: "started", events: [approvalStarted("$exec:a")], expect: {} },
      {
        name: "retried",
        do: [{ retryStage: { pipeline: "p", executionId: "$exec:release", stage: "Approve" } }],
        events: [],
        expect: {},
      },
      { name: "7 days", do: [{ advanceClock: { days: 7 } }], events: [], expect: {} },
    ];

    const first = await runScenario(f.host, { name: "a", steps });
    expire = 0;
    const second = await runScenario(f.host, { name: "b", steps });

    const executionId = (f.posted[0].detail as Record<string, unknown>)["execution-id"];
    expect(retried[0]).toEqual({ pipeline: "p", executionId, stage: "Approve" });
    expect(first.ok).toBe(true);
    expect(second.steps[2].problems).toEqual(["7 days later: no approval expired"]);
  });

  test("a retry CodePipeline refuses is a problem that names its error and message (the stand-in throws service errors, not Error objects)", async () => {
    const f = fakeHost();
    f.host.retryStage = () => {
      throw {
        code: "StageNotRetryableException",
        message: "Stage Approve has not run",
        status: 400,
      };
    };
    const report = await runScenario(f.host, {
      name: "refused",
      steps: [
        {
          name: "retried",
          do: [{ retryStage: { pipeline: "p", executionId: "$exec:x", stage: "Approve" } }],
          events: [],
          expect: {},
        },
      ],
    });
    expect(report.steps[0].problems).toEqual([
      expect.stringMatching(/: StageNotRetryableException: Stage Approve has not run$/),
    ]);
  });
});

describe("lifecycle expectations", () => {
  test("says / saysNot read the text people read, mrkdwn emphasis and case aside", async () => {
    const f = fakeHost();
    f.host.postEvent = async () => {
      f.deliveries.push({
        channel: "slack-eng",
        delivered: true,
        body: { text: "main-app-production-v3 *failed again* (attempt 2)" },
        at: Date.now(),
      });
      return { matched: true };
    };
    const step = (expect: ScenarioStep["expect"]): ScenarioStep => ({
      name: "retry fails",
      events: [approvalStarted("$exec:x")],
      expect,
    });

    const report = await runScenario(f.host, {
      name: "texts",
      steps: [
        step({
          says: { "slack-eng": ["Failed again", "attempt 2"] },
          saysNot: { "slack-eng": "rejected" },
        }),
        step({ says: { "slack-eng": "approval expired" }, saysNot: { "slack-eng": "attempt 2" } }),
      ],
    });

    expect(report.steps[0].problems).toEqual([]);
    expect(report.steps[1].problems).toEqual([
      expect.stringMatching(/^slack-eng: expected a message that says "approval expired", got /),
      'slack-eng: expected no message that says "attempt 2"',
    ]);
  });

  test("a channel delivered more often passes only when each extra send is a repeat the fan-out recorded as ambiguous", async () => {
    // Arrange: what reached slack-eng during a step expecting `want`, and the delivery records.
    const play = async (
      want: number,
      bodies: string[],
      records: Array<{ channel?: string; executionId: string; ambiguous: boolean }>,
    ) => {
      const f = fakeHost();
      f.host.postEvent = async () => {
        for (const text of bodies)
          f.deliveries.push({
            channel: "slack-eng",
            delivered: true,
            body: { text },
            at: Date.now(),
          });
        return { matched: true };
      };
      f.host.auditSince = async () =>
        records.map((r) => ({ channel: "slack-eng", action: "sent", ...r }));
      const step: ScenarioStep = {
        name: "fails",
        events: [approvalStarted("$exec:x")],
        expect: { delivered: { "slack-eng": want } },
      };
      const report = await runScenario(f.host, { name: "repeat", steps: [step] });
      return report.steps[0];
    };
    const a = "deploy failed: executions/exec-A";
    const b = "deploy failed: executions/exec-B";

    // Act
    const [repeat, unflagged, elsewhere, lone, otherRecord] = await Promise.all([
      // A sent twice (its first reply lost); its record says ambiguous.
      play(1, [a, a], [{ executionId: "exec-A", ambiguous: true }]),
      // A sent twice, the record clean: a real double send.
      play(1, [a, a], [{ executionId: "exec-A", ambiguous: false }]),
      // The ambiguous record is another channel's.
      play(1, [a, a], [{ executionId: "exec-A", ambiguous: true, channel: "teams-platform" }]),
      // Red team: nothing expected, one message whose record is ambiguous (a reset first attempt).
      play(0, [a], [{ executionId: "exec-A", ambiguous: true }]),
      // Red team: B sent twice with a clean record; A's ambiguous record must not excuse it.
      play(
        2,
        [a, b, b],
        [
          { executionId: "exec-A", ambiguous: true },
          { executionId: "exec-B", ambiguous: false },
        ],
      ),
    ]);

    // Assess: only the recorded repeat is a note (the README's one duplicate window); the rest
    // are failures.
    expect(repeat.problems).toEqual([]);
    expect(repeat.notes).toEqual([
      expect.stringMatching(
        /^slack-eng: delivered 2, 1 expected; the fan-out recorded 1 as a possible duplicate/,
      ),
    ]);
    expect(unflagged.problems).toEqual(["slack-eng: expected 1 delivered, got 2"]);
    expect(elsewhere.problems).toEqual(["slack-eng: expected 1 delivered, got 2"]);
    expect(lone.problems).toEqual(["slack-eng: expected 0 delivered, got 1"]);
    expect(otherRecord.problems).toEqual(["slack-eng: expected 2 delivered, got 3"]);
    for (const report of [unflagged, elsewhere, lone, otherRecord])
      expect(report.notes).toEqual([]);
  });

  test("a retried failure is one incident with two triggers (same dedup_key); two incidents fail", async () => {
    const f = fakeHost();
    const step: ScenarioStep = {
      name: "attempt 2 fails",
      events: [approvalStarted("$exec:x")],
      expect: {
        incident: { pipeline: "main-app-production-v3", status: "triggered", triggers: 2 },
      },
    };
    const incident = (triggers: number) => ({
      channel: "pagerduty-oncall",
      dedupKey: "deploy-notifier/main-app-production-v3/e1",
      summary: "main-app-production-v3 failed",
      status: "triggered",
      updatedAt: Date.now() + 1000,
      openedAt: Date.now(),
      triggers,
    });

    f.incidents.push(incident(2));
    const one = await runScenario(f.host, { name: "one", steps: [step] });
    f.incidents.splice(0, 1, incident(1), incident(1));
    const two = await runScenario(f.host, { name: "two", steps: [step] });

    expect(one.steps[0].problems).toEqual([]);
    expect(two.steps[0].problems).toEqual([
      "expected the main-app-production-v3 incident to have received 2 trigger(s) (one dedup_key), got 1, 1",
    ]);
  });

  test("reply: only an ephemeral for the clicker counts", async () => {
    const f = fakeHost();
    f.host.postEvent = async () => {
      f.messages.push(request("msg-1", "approval needed"));
      return { matched: true };
    };
    f.host.click = async (_id, _action, user) => {
      const at = new Date(Date.now() + 5).toISOString();
      f.messages[0].ephemerals.push({ at, text: "You are not an approver", for: "U0SOMEONE" });
      f.messages[0].ephemerals.push({
        at,
        text: "This request was replaced by a newer one",
        for: user,
      });
      return { statusCode: 200 };
    };
    const steps = (reply: string): ScenarioStep[] => [
      { id: "r", name: "requested", events: [approvalStarted("$exec:r")], expect: {} },
      { name: "old approve", do: [{ click: "approve", on: "r" }], events: [], expect: { reply } },
    ];

    const replaced = await runScenario(f.host, {
      name: "a",
      steps: steps("replaced by a newer one"),
    });
    f.messages.length = 0;
    const other = await runScenario(f.host, { name: "b", steps: steps("not an approver") });

    expect(replaced.ok).toBe(true);
    expect(other.steps[1].problems).toEqual([
      expect.stringMatching(/^expected the clicker to be told "not an approver", got /),
    ]);
  });
});

describe("loadScenario", () => {
  test("a click on a step that is not an earlier one is refused, naming file and step", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "scenario-")), "s.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        name: "x",
        steps: [
          { name: "click first", do: [{ click: "approve", on: "later" }], events: [], expect: {} },
          { id: "later", name: "requested", events: [], expect: {} },
        ],
      }),
    );
    try {
      expect(() => loadScenario(file)).toThrow(
        `scenario ${file}: step 1: "do" takes {"click": "approve" | "reject", "on": <the id of an earlier step>}`,
      );
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  test("the built-in prod and demo scenarios load", () => {
    for (const stack of ["prod", "demo"]) {
      const scenario = loadScenario(
        path.join(__dirname, "..", "..", "sandbox", "scenarios", `${stack}.json`),
      );
      expect(scenario.steps.some((s) => s.do?.length)).toBe(true);
    }
  });

  test("the built-in multi-account scenario loads, with events from two accounts and two regions (issue 14)", () => {
    const scenario = loadScenario(
      path.join(__dirname, "..", "..", "sandbox", "scenarios", "multi-account.json"),
    );
    // The last step is the refusals (an account and a region nobody configured): apart.
    const refusals = scenario.steps.at(-1) as ScenarioStep;
    const events = scenario.steps.slice(0, -1).flatMap((s) => s.events);
    expect(new Set(events.map((e) => e.account))).toEqual(
      new Set(["111111111111", "222222222222", "123456789012"]),
    );
    expect(new Set(events.map((e) => e.region))).toEqual(new Set(["us-east-1", "eu-west-1"]));
    // Issue 14: "an event from an account not in config is refused and audited". The central
    // bus policy refuses account 999999999999 (it never reaches the queue); a configured
    // account's event from an unconfigured region reaches it and the fan-out audits the refusal.
    expect(refusals.events.map((e) => [e.account, e.region])).toEqual([
      ["999999999999", "us-east-1"],
      ["111111111111", "ap-southeast-2"],
    ]);
    expect(refusals.expect).toMatchObject({
      matched: 1,
      refused: 1,
      audit: ["rejected-input"],
      delivered: { "pagerduty-oncall": 0, "slack-eng": 0 },
    });
  });

  test("the built-in storm scenario: a lone failure, then 60 failures of 20 critical pipelines (issue 11)", () => {
    const scenario = loadScenario(
      path.join(__dirname, "..", "..", "sandbox", "scenarios", "storm.json"),
    );
    expect(scenario.stack).toBe("storm");
    const [lone, storm] = scenario.steps;
    expect(lone.events).toHaveLength(1);
    expect(lone.expect.delivered).toEqual({
      "slack-oncall": 1,
      "sms-oncall": 1,
      "pagerduty-oncall": 1,
    });
    expect(storm.events).toHaveLength(60);
    expect(new Set(storm.events.map((e) => e.detail.pipeline)).size).toBe(20);
    // What a person sees, as documented (handlers/contracts/grouping.ts DEFAULT_GROUPING: Slack
    // 3 per window then one digest; SMS one text then "N more"; PagerDuty one incident per
    // pipeline), paced without a 429, nothing in the DLQ.
    expect(storm.expect).toMatchObject({
      atMost: { "slack-oncall": 4, "sms-oncall": 2 },
      digests: { "slack-oncall": 1, "sms-oncall": 1 },
      pagesOpened: 20,
      http429: 0,
      dlq: 0,
    });
  });

  test("the storm scenario expects what the digests of 3 failures per pipeline say", () => {
    // Prepare: the digest after Slack's first 3 messages, as the storm makes it: every one of the
    // 20 pipelines, more failures than pipelines ("57 failures in 20 pipelines"). The step
    // expected "pipelines failed in the last", the title of one failure per pipeline, and
    // `npm start -- --stack storm` failed (a new-user finding).
    const scenario = loadScenario(
      path.join(__dirname, "..", "..", "sandbox", "scenarios", "storm.json"),
    );
    const storm = scenario.steps[1];
    const start = Date.UTC(2026, 11, 1, 9, 0, 0);
    const entries = storm.events.slice(3).map((e, i) => ({
      notificationId: `n${i}`,
      kind: "failure" as const,
      pipeline: String(e.detail.pipeline),
      account: "123456789012",
      region: "us-east-1",
      executionId: `e${i}`,
      time: new Date(start + i * 100).toISOString(),
      consoleUrl: "https://console.aws.amazon.com/codesuite/codepipeline/pipelines",
    }));
    const digest: Digest = {
      id: "digest",
      channel: "slack-oncall",
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(start + 60_000).toISOString(),
      count: entries.length,
      pipelines: new Set(entries.map((e) => e.pipeline)).size,
      entries,
      severity: "critical",
    };

    // Act
    const slack = JSON.stringify(formatSlackDigest(digest, { type: "slack", mode: "webhook" }));
    const sms = formatSmsDigest({ ...digest, channel: "sms-oncall", seeChannel: "slack-oncall" });

    // Assess
    expect(digest.pipelines).toBe(20);
    expect(slack).toContain(storm.expect.says?.["slack-oncall"]);
    expect(sms.message).toContain(storm.expect.says?.["sms-oncall"]);
  });
});

describe("storm and refusal expectations (issues 11 and 14)", () => {
  const step: ScenarioStep = {
    name: "storm",
    events: [{ detailType: "CodePipeline Pipeline Execution State Change", detail: {} }],
    expect: {
      atMost: { "slack-oncall": 2 },
      digests: { "slack-oncall": 1 },
      http429: 0,
      pagesOpened: 2,
      refused: 0,
    },
  };
  const digest = { text: "37 pipelines failed in the last 2 minutes" };
  const single = { text: ":red_circle: svc-01 failed" };

  test("met: a message and a digest, no 429, one incident per pipeline", async () => {
    const f = fakeHost();
    const at = Date.now() + 1000;
    f.deliveries.push(
      { channel: "slack-oncall", delivered: true, body: single, at },
      { channel: "slack-oncall", delivered: true, body: digest, at },
    );
    for (const key of ["svc-01", "svc-02"])
      f.incidents.push({
        channel: "pagerduty-oncall",
        dedupKey: key,
        summary: `${key} failed`,
        status: "triggered",
        updatedAt: at,
        openedAt: at,
        triggers: 3,
      });
    const report = await runScenario(f.host, { name: "storm", steps: [step] });
    expect(report.steps[0].problems).toEqual([]);
  });

  test("unmet: a flood without a digest, a 429, a page per failure, an event refused", async () => {
    const f = fakeHost({
      postEvent: async () => ({ matched: false, refused: "not admitted" }),
    });
    const at = Date.now() + 1000;
    for (let i = 0; i < 3; i++)
      f.deliveries.push({ channel: "slack-oncall", delivered: true, body: single, at });
    f.deliveries.push({
      channel: "slack-oncall",
      delivered: false,
      body: single,
      at,
      status: 429,
    } as never);
    for (let i = 0; i < 3; i++)
      f.incidents.push({
        channel: "pagerduty-oncall",
        dedupKey: `k${i}`,
        summary: "svc-01 failed",
        status: "triggered",
        updatedAt: at,
        openedAt: at,
        triggers: 1,
      });
    const report = await runScenario(f.host, {
      name: "storm",
      steps: [{ ...step, expect: { ...step.expect, matched: false } }],
    });
    expect(report.steps[0].problems).toEqual([
      "expected the central bus to refuse 0 event(s), it refused 1",
      "slack-oncall: expected at most 2 delivered, got 3",
      "slack-oncall: expected 1 digest(s), got 0",
      'expected 0 request(s) answered 429, got 1 ({"slack-oncall":1})',
      "expected 2 PagerDuty incident(s) opened, got 3",
    ]);
  });
});

describe("a step with freshWindow (issue 11: windows are fixed per channel)", () => {
  const runtime = {
    downtime: [],
    channels: {
      "slack-oncall": { type: "slack" },
      "sms-oncall": { type: "sms" },
      "pagerduty-oncall": { type: "pagerduty" },
    },
  } as unknown as RuntimeConfig;
  const failure = {
    detailType: "CodePipeline Pipeline Execution State Change",
    detail: { pipeline: "svc-01", "execution-id": "$exec:svc-01", state: "FAILED" },
  };

  test("sends its events only once a new window of every named channel has begun, and says so", async () => {
    // 1/200 of AWS time: Slack's 60 s window is 300 ms, SMS's 120 s is 600 ms; both begin at
    // every multiple of 600 ms of the clock (handlers/fanout/grouping.ts allowanceFor).
    const postedAt: number[] = [];
    const f = fakeHost({
      runtime,
      timeScale: 200,
      postEvent: async () => {
        postedAt.push(Date.now());
        return { matched: true };
      },
    });
    const said: string[] = [];
    const before = Date.now();
    const report = await runScenario(
      f.host,
      {
        name: "fresh",
        steps: [
          {
            name: "storm",
            freshWindow: ["slack-oncall", "sms-oncall"],
            events: [failure],
            expect: {},
          },
        ],
      },
      { onSay: (line) => said.push(line) },
    );
    expect(report.steps[0].problems).toEqual([]);
    expect(postedAt[0]).toBeGreaterThanOrEqual((Math.floor(before / 600) + 1) * 600);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(
      /^waiting \d+\.\d s for fresh grouping windows \(slack-oncall 60 s, sms-oncall 120 s of AWS time\)$/,
    );
  });

  test("a channel that is never grouped is a problem of the step, which then starts at once", async () => {
    const f = fakeHost({ runtime, timeScale: 200 });
    const report = await runScenario(f.host, {
      name: "fresh",
      steps: [{ name: "page", freshWindow: ["pagerduty-oncall"], events: [failure], expect: {} }],
    });
    expect(report.steps[0].problems).toEqual([
      "freshWindow: channel pagerduty-oncall is not grouped on this stack",
    ]);
    expect(f.posted).toHaveLength(1);
  });

  test("the storm's step of 60 failures starts at a fresh window of the channels it counts digests of", () => {
    const storm = loadScenario(path.join(__dirname, "../../sandbox/scenarios/storm.json"));
    const step = storm.steps[1];
    expect(step.freshWindow?.sort()).toEqual(Object.keys(step.expect.digests ?? {}).sort());
  });

  test("a freshWindow that is not a list of channels is refused, naming file and step", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "scenario-")), "s.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        name: "x",
        steps: [{ name: "storm", freshWindow: "slack-oncall", events: [], expect: {} }],
      }),
    );
    try {
      expect(() => loadScenario(file)).toThrow(
        `scenario ${file}: step 1: "freshWindow" must be a list of channels`,
      );
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});
