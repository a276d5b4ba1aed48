/**
 * The sandbox's HTTP API on a real port: PutEvents-shaped and plain events are routed by the
 * rule, deliveries and the audit trail are readable, faults switch per receiver, and the
 * approval endpoint verifies Slack signatures exactly like the deployed function URL.
 */
import { randomUUID } from "node:crypto";
import { computeSlackSignature } from "../../handlers/approval/signature";
import { DISCOVERY_FILE, readDiscovery } from "../../sandbox/discovery";
import { startSandbox, type Sandbox } from "../../sandbox/sandbox";
import type { ScenarioReport } from "../../sandbox/scenario";
import type { ChannelSummary } from "../../sandbox/summary";
import { timeOutsideWindows } from "../../sandbox/scenario-events";
import { codePipelineOutbox, expireApprovals } from "../../testing";
import { putApprovalResult } from "../../testing/aws/codepipeline";

let sandbox: Sandbox;
/** The sandbox's progress lines, as the terminal would show them. */
const lines: string[] = [];

/**
 * A second prod sandbox (served, for the 409 below) that replays the built-in scenario twice from the start of the
 * file: the replays spend most of their half minute waiting on the sandbox's clock (pauses,
 * redeliveries), so the tests on the first sandbox run meanwhile. Its test is the file's last.
 */
let replaySandbox: Sandbox | undefined;
const replayLines: string[] = [];
let replays: Promise<{ first: ScenarioReport; second: ScenarioReport; firstPrinted: string }>;

/**
 * A third prod sandbox (served) for the SNS outage: its one step waits out 4 receives of the
 * sandbox's 7.2 s visibility (about 22 s) before the DLQ, so it starts with the file too, and its
 * test asserts what it printed once it has played. Its own sandbox: the user's SNS fault it sets
 * would fail the SMS of the tests on the first one.
 */
let smsSandbox: Sandbox | undefined;
const smsLines: string[] = [];
let smsOutage: Promise<{ printed: string; sms: ChannelSummary | undefined }>;

beforeAll(async () => {
  const started = await Promise.allSettled([
    startSandbox({ stack: "prod", port: 0, log: (l) => lines.push(l) }).then((s) => {
      sandbox = s;
    }),
    startSandbox({ stack: "prod", port: 0, log: (l) => replayLines.push(l) }).then((s) => {
      replaySandbox = s;
    }),
    startSandbox({ stack: "prod", port: 0, log: (l) => smsLines.push(l) }).then((s) => {
      smsSandbox = s;
    }),
  ]);
  for (const result of started) if (result.status === "rejected") throw result.reason;
  replays = replayTwice(replaySandbox!);
  replays.catch(() => undefined); // awaited by its test; no unhandled rejection meanwhile
  smsOutage = playSmsOutage(smsSandbox!);
  smsOutage.catch(() => undefined); // likewise
}, 120_000);

afterAll(async () => {
  await replays?.catch(() => undefined);
  await smsOutage?.catch(() => undefined);
  await Promise.all([sandbox?.close(), replaySandbox?.close(), smsSandbox?.close()]);
}, 120_000);

/** Plays the built-in scenario twice on `target`, with what the first run printed. */
async function replayTwice(target: Sandbox) {
  const from = replayLines.length;
  const first = await target.runScenario();
  const firstPrinted = replayLines.slice(from).join("\n");
  const second = await target.runScenario();
  return { first, second, firstPrinted };
}

/**
 * Plays a critical failure on `target` while the user's SNS fault (set as the page sets it) is
 * on, so SMS cannot be published; returns what the sandbox printed meanwhile and sms-oncall's
 * summary row. The first step on `target`: its SMS opens the sms-oncall grouping window (1 SMS per
 * 120 s of AWS time, 2.4 s here), which an earlier failure's SMS would have had it grouped into.
 */
async function playSmsOutage(target: Sandbox) {
  await apiOf(target, "POST", "/api/faults", { receiver: "sns", fault: "500" });
  const from = smsLines.length;
  try {
    await target.runScenario({
      name: "sms outage",
      steps: [
        {
          name: "api-gateway-prod-cluster fails",
          events: [
            {
              detailType: "CodePipeline Pipeline Execution State Change",
              detail: {
                pipeline: "api-gateway-prod-cluster",
                "execution-id": "$exec:sms",
                state: "FAILED",
              },
            },
          ],
          expect: {},
        },
      ],
    });
  } finally {
    await apiOf(target, "POST", "/api/faults", { receiver: "sns", fault: null });
  }
  const printed = smsLines.slice(from).join("\n");
  const sms = (await target.summary()).find((c) => c.channel === "sms-oncall");
  return { printed, sms };
}

/** `method path` on the first sandbox's HTTP API, with its JSON answer. */
function api<T>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  return apiOf<T>(sandbox, method, path, body);
}

/** `method path` on `target`'s HTTP API, with its JSON answer. */
async function apiOf<T>(
  target: Sandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${target.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as T };
}

/**
 * Now as an event time (ISO 8601), unless a downtime window of the prod stack would suppress
 * `pipeline` now (api-gateway-prod-cluster: Sundays 02:00–04:00 Berlin): then just before it.
 */
const outsideWindows = (pipeline: string) =>
  timeOutsideWindows(sandbox.runtime, pipeline).toISOString();

const failedDetail = (executionId: string) =>
  JSON.stringify({
    pipeline: "api-gateway-prod-cluster",
    "execution-id": executionId,
    state: "FAILED",
    version: 1,
  });

test("a sandbox started from code does not announce itself to npm run audit", () => {
  // A test's sandbox replaced the discovery file of the npm start a user was running, and removed
  // it when it closed: `npm run audit` then said "no sandbox is running" (a new-user finding).
  // Only `npm start` announces (`announce: true`).
  expect(lines.filter((l) => l.startsWith("audit trail:"))).toEqual([]);
  expect(readDiscovery(DISCOVERY_FILE, () => true)?.pid).not.toBe(process.pid);
});

test("a replay while a scenario plays is refused with 409 (the replays on the second sandbox play)", async () => {
  // "Replay scenario" clicked while the scenario still played (as npm start's first run does for
  // a minute) played both at once, and every step of both failed (a new-user finding). The
  // second sandbox's replays started with the file and play for about half a minute.
  const res = await fetch(`${replaySandbox!.url}/api/scenario`, { method: "POST" });
  const refused = (await res.json()) as { error: string };
  const again = replaySandbox!.runScenario();

  expect(res.status).toBe(409);
  expect(refused.error).toMatch(/^a scenario is already playing/);
  await expect(again).rejects.toThrow(/already playing/);
  // The playing replays end as expected: the file's last test checks their reports.
});

describe("the sandbox as CodePipeline's stand-in", () => {
  const approvalStarted = (executionId: string) => ({
    source: "aws.codepipeline",
    "detail-type": "CodePipeline Action Execution State Change",
    time: new Date().toISOString(),
    detail: {
      pipeline: "main-app-production-v3",
      "execution-id": executionId,
      stage: "Approve",
      action: "ManualApproval",
      state: "STARTED",
      type: { owner: "AWS", provider: "Manual", category: "Approval", version: "1" },
    },
  });
  const approvalAction = () =>
    sandbox.standins.aws.state.codepipeline.pipelines["main-app-production-v3"].stages
      .find((s) => s.name === "Approve")
      ?.actions.find((a) => a.name === "ManualApproval");

  const decideRun = (executionId: string, status: "Approved" | "Rejected") =>
    putApprovalResult(sandbox.standins.aws.state, {
      pipelineName: "main-app-production-v3",
      stageName: "Approve",
      actionName: "ManualApproval",
      token: approvalAction()?.runs?.find(
        (r) => r.pipelineExecutionId === executionId && r.status === "InProgress",
      )?.token,
      result: { status, summary: `${status} by Jane Doe (U012ABCDEF) via Slack` },
    });

  test("a hand-posted approval request is enriched without error and waits with a fresh token; another execution's request waits for the stage (SUPERSEDED mode) and is posted when the first is decided", async () => {
    // Prepare: nothing set up in the CodePipeline stand-in for these executions.
    const first = "22222222-aaaa-4bbb-8ccc-000000000001";
    const second = "22222222-aaaa-4bbb-8ccc-000000000002";
    const before = sandbox.standins.receivers.byReceiver("slack", "slack-releases").length;
    const releases = () =>
      sandbox.standins.receivers.byReceiver("slack", "slack-releases").slice(before);

    // Act: two executions' approval STARTED, posted by hand one after the other.
    await api("POST", "/events", approvalStarted(first));
    await sandbox.settle();
    const firstToken = approvalAction()?.token;
    const { json } = await api<{ events: Array<Record<string, unknown>> }>(
      "POST",
      "/events",
      approvalStarted(second),
    );
    await sandbox.settle();

    // Assess: the first request reached #releases with no "details are unavailable" note and its
    // run holds its own token. The second execution cannot enter the Approve stage while the
    // first is in it (user guide, "How pipeline executions work": stages are locked while an
    // execution is in them): it waits, CodePipeline emits nothing for it yet, and the first
    // run is still the one GetPipelineState shows, with its token.
    expect(releases()).toHaveLength(1);
    expect(JSON.stringify(releases()[0].body)).not.toContain("unavailable");
    expect(firstToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(json.events).toEqual([
      expect.objectContaining({
        held: expect.stringContaining(`execution ${first} is in stage Approve`),
      }),
    ]);
    expect(json.events[0].messageId).toBeUndefined();
    expect(approvalAction()).toMatchObject({
      status: "InProgress",
      executionId: first,
      token: firstToken,
    });
    const view = (await api<Record<string, any>>("GET", "/api/codepipeline")).json[
      "main-app-production-v3"
    ];
    expect(view.approvals.pending.map((r: { executionId: string }) => r.executionId)).toEqual([
      first,
    ]);
    expect(view.executions).toContainEqual(
      expect.objectContaining({ executionId: second, status: "InProgress", waitingAt: "Approve" }),
    );
    expect(lines.some((l) => l.includes("not emitted yet by CodePipeline"))).toBe(true);

    // Act: the first run is approved; the stage is free.
    decideRun(first, "Approved");
    await sandbox.settle();

    // Assess: the second execution enters with a run and token of its own, and its request is
    // posted (CodePipeline's STARTED, emitted now).
    expect(approvalAction()).toMatchObject({ status: "InProgress", executionId: second });
    expect(approvalAction()?.token).not.toBe(firstToken);
    expect(releases()).toHaveLength(2);
    expect(JSON.stringify(releases()[1].body)).toContain("22222222");
    expect(sandbox.pendingApprovals()).toBe(1);
    decideRun(second, "Approved"); // the stage is free for the tests below
    await sandbox.settle();
  });

  test("a scenario whose approval stage a request of an earlier run still holds stops that execution first (as StopPipelineExecution with abandon), says so, and plays as expected; the old request no longer decides", async () => {
    // Prepare: a scenario step sets up and starts an approval that nobody decides.
    const step = (id: string) => ({
      name: `approval of ${id}`,
      setup: {
        pendingApproval: {
          pipeline: "main-app-production-v3",
          stage: "Approve",
          action: "ManualApproval",
          executionId: `$exec:${id}`,
        },
      },
      events: [
        {
          detailType: "CodePipeline Action Execution State Change",
          detail: approvalStarted(`$exec:${id}`).detail,
        },
      ],
      expect: {},
    });
    const firstRun = await sandbox.runScenario({ name: "left waiting", steps: [step("left")] });
    expect(firstRun.ok).toBe(true);
    const left = approvalAction()?.executionId ?? "";
    const token = approvalAction()?.token;

    // Act: a second scenario's setup for another execution of the same stage, as on a replay of
    // the demo whose last request was left for the page.
    const from = lines.length;
    const second = await sandbox.runScenario({ name: "next", steps: [step("next")] });

    // Assess: CodePipeline runs one execution at a time in the stage (SUPERSEDED mode), so the
    // replay's execution could only enter once the left one ended: the player stopped it and
    // said so; the step passed; the left request is no longer pending and its token is refused.
    expect(lines.slice(from).join("\n")).toContain(
      `⚠ the request of execution ${left} (main-app-production-v3 Approve) still waited for a decision: the execution is stopped`,
    );
    expect(second.steps[0].problems).toEqual([]);
    expect(second.ok).toBe(true);
    const next = approvalAction()?.executionId ?? "";
    expect(next).not.toBe(left);
    expect(approvalAction()).toMatchObject({ status: "InProgress", executionId: next });
    expect(
      sandbox.standins.aws.state.codepipeline.pipelines["main-app-production-v3"].executions[left]
        .status,
    ).toBe("Stopped");
    const view = (await api<Record<string, any>>("GET", "/api/codepipeline")).json[
      "main-app-production-v3"
    ];
    expect(view.approvals.pending.map((r: { executionId: string }) => r.executionId)).toEqual([
      next,
    ]);
    let refused: unknown;
    try {
      putApprovalResult(sandbox.standins.aws.state, {
        pipelineName: "main-app-production-v3",
        stageName: "Approve",
        actionName: "ManualApproval",
        token,
        result: { status: "Approved", summary: "Approved by Jane Doe (U012ABCDEF) via Slack" },
      });
    } catch (e) {
      refused = e;
    }
    expect(refused).toMatchObject({ code: "InvalidApprovalTokenException" });

    // Decided, the stage is free for the tests below.
    decideRun(next, "Approved");
    await sandbox.settle();
  }, 60_000);

  test("a malformed event is routed to the notifier, which rejects and audits it, but the CodePipeline stand-in records nothing for it", async () => {
    // Prepare: an execution id CodePipeline would never use (over DynamoDB's key size).
    const executionId = `${"22222222-aaaa-4bbb-8ccc-"}${"0".repeat(1100)}`;

    // Act
    const { json } = await api<{ events: Array<Record<string, unknown>> }>("POST", "/events", {
      source: "aws.codepipeline",
      "detail-type": "CodePipeline Pipeline Execution State Change",
      time: outsideWindows("api-gateway-prod-cluster"),
      detail: {
        pipeline: "api-gateway-prod-cluster",
        "execution-id": executionId,
        state: "FAILED",
      },
    });
    await sandbox.settle();

    // Assess: the POST says it was matched and queued, and why the stand-in did not record it;
    // the notifier rejected it with its own reason; CodePipeline has no such execution.
    expect(json.events).toEqual([
      expect.objectContaining({
        matched: true,
        messageId: expect.any(String),
        notRecorded: expect.stringMatching(
          /^CodePipeline could not have emitted it: detail\.execution-id/,
        ),
      }),
    ]);
    const audit = (await api<Array<Record<string, any>>>("GET", "/api/audit")).json;
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: "rejected-input",
        result: expect.stringContaining("detail.execution-id: longer than 1024 characters"),
      }),
    );
    const view = (await api<Record<string, any>>("GET", "/api/codepipeline")).json;
    const executions = (view["api-gateway-prod-cluster"]?.executions ?? []) as Array<{
      executionId: string;
    }>;
    expect(executions.some((e) => e.executionId === executionId)).toBe(false);
  });

  test("a hand-posted failure is enriched without error: the execution is known", async () => {
    // Prepare
    const executionId = "22222222-aaaa-4bbb-8ccc-000000000003";
    const before = sandbox.standins.receivers.byReceiver("slack", "slack-eng").length;

    // Act
    await api("POST", "/events", {
      source: "aws.codepipeline",
      "detail-type": "CodePipeline Pipeline Execution State Change",
      time: outsideWindows("api-gateway-prod-cluster"),
      detail: {
        pipeline: "api-gateway-prod-cluster",
        "execution-id": executionId,
        state: "FAILED",
      },
    });
    await sandbox.settle();

    // Assess
    const messages = sandbox.standins.receivers.byReceiver("slack", "slack-eng").slice(before);
    expect(messages).toHaveLength(1);
    expect(JSON.stringify(messages[0].body)).not.toContain("PipelineExecutionNotFoundException");
    expect(JSON.stringify(messages[0].body)).not.toContain("unavailable");
    expect(
      sandbox.standins.aws.state.codepipeline.pipelines["api-gateway-prod-cluster"].executions[
        executionId
      ].status,
    ).toBe("Failed");

    // Clean up: the execution succeeds after all, so no incident of it stays open for the
    // tests below.
    await api("POST", "/events", {
      source: "aws.codepipeline",
      "detail-type": "CodePipeline Pipeline Execution State Change",
      time: outsideWindows("api-gateway-prod-cluster"),
      detail: {
        pipeline: "api-gateway-prod-cluster",
        "execution-id": executionId,
        state: "SUCCEEDED",
      },
    });
    await sandbox.settle();
  });
});

describe("sandbox HTTP API", () => {
  test("GET /api/sandbox names the stack, the signing secret, the approvers and the receivers", async () => {
    const { json } = await api<{
      stack: string;
      signingSecret: string;
      approvers: Record<string, string[]>;
      receivers: string[];
    }>("GET", "/api/sandbox");
    expect(json.stack).toBe("prod");
    expect(json.signingSecret).toMatch(/^[0-9a-f]{32}$/);
    expect(json.approvers).toEqual({ "main-app-production-v3": ["U012ABCDEF", "U034GHIJKL"] });
    // The page's fault selector offers these only: it listed teams, discord and webhook for every
    // stack (refused on prod) and never slack-response (a new-user finding).
    expect([...json.receivers].sort()).toEqual(["pagerduty", "slack", "slack-response", "sns"]);
  });

  test("POST /events with PutEvents Entries is routed to every channel of the tier", async () => {
    // Prepare
    const entries = {
      Entries: [
        {
          Source: "aws.codepipeline",
          DetailType: "CodePipeline Pipeline Execution State Change",
          Time: outsideWindows("api-gateway-prod-cluster"),
          Detail: failedDetail("11111111-aaaa-4bbb-8ccc-000000000001"),
        },
      ],
    };

    // Act
    const posted = await api<{ events: Array<{ matched: boolean }> }>("POST", "/events", entries);
    await sandbox.settle();
    const deliveries = await api<Record<string, Array<{ channel: string }>>>(
      "GET",
      "/api/deliveries",
    );
    const audit = await api<Array<{ action: string; channel?: string; executionId?: string }>>(
      "GET",
      "/api/audit",
    );

    // Assess
    expect(posted.json.events[0].matched).toBe(true);
    expect(deliveries.json.slack.map((d) => d.channel)).toContain("slack-eng");
    expect(deliveries.json.pagerduty.map((d) => d.channel)).toContain("pagerduty-oncall");
    expect(deliveries.json.sns.map((d) => d.channel)).toContain("sms-oncall");
    // Routed to every channel: sent, or grouped into the window's digest (issue 11: SMS sends 1
    // text per 120 s window, and an earlier test's failure may have spent this window's).
    const sent = audit.json.filter(
      (a) =>
        a.executionId === "11111111-aaaa-4bbb-8ccc-000000000001" &&
        (a.action === "sent" || a.action === "grouped"),
    );
    expect(sent.map((a) => a.channel).sort()).toEqual([
      "pagerduty-oncall",
      "slack-eng",
      "sms-oncall",
    ]);
  });

  test("an event without source, detail-type or detail is refused with 400 naming what it lacks, as EventBridge fails it", async () => {
    // API_PutEventsRequestEntry.html: Detail, DetailType and Source are required; it was
    // answered 200 with matched: false and pipeline "" (the new-user pass).
    const one = await api<{ error: string }>("POST", "/events", { "detail-type": "x" });
    expect(one.status).toBe(400);
    expect(one.json.error).toBe(
      "the event lacks source, detail: EventBridge fails an event without source, detail-type, detail",
    );
    const entries = await api<{ error: string }>("POST", "/events", {
      Entries: [{ Source: "aws.codepipeline", Detail: "{}" }],
    });
    expect(entries.status).toBe(400);
    expect(entries.json.error).toMatch(/^Entries\[0\] lacks DetailType: /);
  });

  test("an event the rule does not match is dropped before the queue", async () => {
    const event = {
      source: "aws.codepipeline",
      "detail-type": "CodePipeline Pipeline Execution State Change",
      time: new Date().toISOString(),
      detail: { pipeline: "someone-elses-pipeline", "execution-id": "x", state: "FAILED" },
    };
    const { json } = await api<{ events: Array<{ matched: boolean; messageId?: string }> }>(
      "POST",
      "/events",
      event,
    );
    expect(json.events[0]).toMatchObject({ matched: false });
    expect(json.events[0].messageId).toBeUndefined();
  });

  test("POST /api/faults for a receiver the stack never calls is refused with 400 naming the stack's receivers, as --fault is", async () => {
    const refused = await api<{ error: string }>("POST", "/api/faults", {
      receiver: "teams",
      fault: "500",
    });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(
      /no channel that uses the teams receiver; its receivers: .*slack/,
    );
    const state = await api<{ faults: Record<string, string> }>("GET", "/api/state");
    expect(state.json.faults).not.toHaveProperty("teams");
  });

  test("POST /api/faults refusals name the JSON field and its value, not a command-line flag", async () => {
    // They read "--fault slack=bogus: expected <receiver>=…", the CLI's wording.
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { receiver: "slack", fault: "bogus" },
        /^fault "bogus": expected an HTTP error status 400-599 \(500\), timeout, reset or off, optionally x<times> with times 1 or more \(503x2\)$/,
      ],
      // Not an HTTP status (RFC 9110 §15: 100–599), and a count that would never apply: both
      // were accepted (the first listed as "600" in force, the second a permanent 503).
      [{ receiver: "slack", fault: "600" }, /^fault "600": expected an HTTP error status 400-599/],
      [{ receiver: "slack", fault: "503x0" }, /^fault "503x0": expected an HTTP error status/],
      [{ receiver: "bogus", fault: "500" }, /^receiver "bogus": unknown receiver \(one of slack, /],
      [
        { receiver: "teams", fault: "500" },
        /^receiver "teams": stack prod has no channel that uses the teams receiver; its receivers: /,
      ],
      [{ receiver: "slack", fault: { status: 500 } }, /^fault \{"status":500\}: expected a string/],
      [{ fault: "500" }, /^receiver: required/],
    ];
    for (const [body, error] of cases) {
      const refused = await api<{ error: string }>("POST", "/api/faults", body);
      expect(refused.status).toBe(400);
      expect(refused.json.error).toMatch(error);
      expect(refused.json.error).not.toContain("--fault");
    }
    const state = await api<{ faults: Record<string, string> }>("GET", "/api/state");
    expect(state.json.faults).toEqual({});
  });

  test("a PagerDuty fault set through POST /api/faults makes the fan-out retry only PagerDuty", async () => {
    // Prepare
    const before = sandbox.standins.receivers.attemptsOf("pagerduty").length;
    const slackBefore = sandbox.standins.receivers.byReceiver("slack", "slack-eng").length;
    await api("POST", "/api/faults", { receiver: "pagerduty", fault: "500" });

    // Act
    await api("POST", "/events", {
      Entries: [
        {
          Source: "aws.codepipeline",
          DetailType: "CodePipeline Pipeline Execution State Change",
          Time: outsideWindows("api-gateway-prod-cluster"),
          Detail: failedDetail("11111111-aaaa-4bbb-8ccc-000000000002"),
        },
      ],
    });
    // Clear the fault once PagerDuty has refused the event at least once (however long that takes).
    const faulted = () =>
      sandbox.standins.receivers
        .attemptsOf("pagerduty")
        .slice(before)
        .some((a) => a.outcome === "fault");
    for (let waited = 0; !faulted() && waited < 30_000; waited += 25) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await api("POST", "/api/faults", { receiver: "pagerduty", fault: null });
    await sandbox.settle();

    // Assess: PagerDuty failed then got it; Slack got it once.
    const attempts = sandbox.standins.receivers.attemptsOf("pagerduty").slice(before);
    expect(attempts.some((a) => a.outcome === "fault")).toBe(true);
    expect(attempts.at(-1)?.outcome).toBe("delivered");
    expect(sandbox.standins.receivers.byReceiver("slack", "slack-eng").length - slackBefore).toBe(
      1,
    );
  });

  test("POST /slack/interactions answers an opaque 401 to a wrong signature and 200 to a right one", async () => {
    // Prepare
    const { json: info } = await api<{ signingSecret: string }>("GET", "/api/sandbox");
    const body = new URLSearchParams({
      payload: JSON.stringify({ type: "url_verification_probe" }),
    }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    const post = (signature: string) =>
      fetch(`${sandbox.url}/slack/interactions`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-slack-request-timestamp": ts,
          "x-slack-signature": signature,
        },
        body,
      });

    // Act
    const forged = await post(computeSlackSignature("not-the-secret", ts, body));
    const signed = await post(computeSlackSignature(info.signingSecret, ts, body));

    // Assess
    expect(forged.status).toBe(401);
    expect(signed.status).toBe(200);
  });
});

// After the other approval tests: an expiry fails every pending approval the earlier tests left
// behind.
describe("the CodePipeline stand-in's own events and GET /api/codepipeline", () => {
  const PIPELINE = "main-app-production-v3";
  const requestFor = (executionId: string) => ({
    source: "aws.codepipeline",
    "detail-type": "CodePipeline Action Execution State Change",
    time: new Date().toISOString(),
    detail: {
      pipeline: PIPELINE,
      "execution-id": executionId,
      stage: "Approve",
      action: "ManualApproval",
      "action-execution-id": randomUUID(),
      state: "STARTED",
      type: { owner: "AWS", provider: "Manual", category: "Approval", version: "1" },
    },
  });
  const tokenOf = (executionId: string) =>
    sandbox.standins.aws.state.codepipeline.pipelines[PIPELINE].stages
      .find((s) => s.name === "Approve")
      ?.actions.find((a) => a.name === "ManualApproval")
      ?.runs?.find((r) => r.pipelineExecutionId === executionId)?.token ?? "";

  test("a rejection in the stand-in emits CodePipeline's FAILED events, routed like POST /events (rule → queue → fan-out)", async () => {
    // Prepare: a hand-posted approval request, registered with a fresh token.
    const executionId = "33333333-aaaa-4bbb-8ccc-000000000001";
    await api("POST", "/events", requestFor(executionId));
    await sandbox.settle();
    const outboxBefore = codePipelineOutbox(sandbox.standins.aws.state).length;

    // Act: what the approval Lambda's PutApprovalResult does (REFERENCE.md: a rejection fails the
    // Approval action, then the execution).
    putApprovalResult(sandbox.standins.aws.state, {
      pipelineName: PIPELINE,
      stageName: "Approve",
      actionName: "ManualApproval",
      token: tokenOf(executionId),
      result: { status: "Rejected", summary: "Rejected by Jane Doe (U012ABCDEF) via Slack" },
    });
    await sandbox.settle();

    // Assess: every emitted event took the event path; the matched ones reached the queue whole.
    const emitted = codePipelineOutbox(sandbox.standins.aws.state).slice(outboxBefore);
    expect(emitted.map((e) => [e["detail-type"], e.detail.state])).toEqual([
      ["CodePipeline Action Execution State Change", "FAILED"],
      ["CodePipeline Stage Execution State Change", "FAILED"],
      ["CodePipeline Pipeline Execution State Change", "FAILED"],
    ]);
    const { json } = await api<{
      events: Array<{ eventId: string; emitted?: boolean; matched: boolean; messageId?: string }>;
    }>("GET", "/api/state");
    const routed = json.events.filter((e) => emitted.some((x) => x.id === e.eventId));
    expect(routed.map((e) => [e.emitted, e.matched, typeof e.messageId])).toEqual([
      [true, true, "string"],
      [true, true, "string"],
      [true, true, "string"],
    ]);
    const bodies = sandbox.queue.messages.map((m) => JSON.parse(m.body) as { id: string });
    const queuedIds = new Set(bodies.map((b) => b.id));
    // The declared rule matches action and stage FAILED and the pipeline FAILED of this tier.
    for (const event of emitted) expect(queuedIds.has(event.id)).toBe(true);
    const queued = bodies.find((b) => b.id === emitted[0].id);
    expect(queued).toEqual(emitted[0]);
    const slack = sandbox.standins.receivers.byReceiver("slack", "slack-eng");
    expect(JSON.stringify(slack.at(-1)?.body)).toContain(executionId.slice(0, 8));
  });

  test("GET /api/codepipeline shows each pipeline's mode, executions with attempt, mode, type and status, and approval runs with who decided, when and which token", async () => {
    // Prepare: one decided (above) and one pending request, and one that expires.
    const pendingId = "33333333-aaaa-4bbb-8ccc-000000000002";
    await api("POST", "/events", requestFor(pendingId));
    await sandbox.settle();

    // Act
    const { status, json } = await api<
      Record<
        string,
        {
          executionMode: string;
          executions: Array<Record<string, unknown>>;
          approvals: {
            pending: Array<Record<string, unknown>>;
            decided: Array<Record<string, unknown>>;
          };
        }
      >
    >("GET", "/api/codepipeline");

    // Assess
    expect(status).toBe(200);
    const pipeline = json[PIPELINE];
    expect(pipeline.executionMode).toBe("SUPERSEDED");
    expect(pipeline.executions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          executionId: "33333333-aaaa-4bbb-8ccc-000000000001",
          status: "Failed",
          attempt: 1,
          executionMode: "SUPERSEDED",
          executionType: "STANDARD",
        }),
        expect.objectContaining({ executionId: pendingId, status: "InProgress" }),
      ]),
    );
    expect(pipeline.approvals.pending).toEqual([
      expect.objectContaining({
        executionId: pendingId,
        token: tokenOf(pendingId),
        status: "InProgress",
      }),
    ]);
    expect(pipeline.approvals.decided).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          executionId: "33333333-aaaa-4bbb-8ccc-000000000001",
          outcome: "Rejected",
          decidedBy: "arn:aws:iam::123456789012:role/approver",
          decidedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          token: tokenOf("33333333-aaaa-4bbb-8ccc-000000000001"),
          summary: "Rejected by Jane Doe (U012ABCDEF) via Slack",
        }),
      ]),
    );

    // Act: the model's clock passes the 7-day timeout (user guide, approvals-approve-or-reject).
    expireApprovals(sandbox.standins.aws.state, new Date(Date.now() + 8 * 86_400_000));
    await sandbox.settle();
    const after = (await api<typeof json>("GET", "/api/codepipeline")).json[PIPELINE];

    // Assess: expired, decided by nobody, no page-worthy rejection summary.
    expect(after.approvals.pending).toEqual([]);
    const expired = after.approvals.decided.find((r) => r.executionId === pendingId);
    expect(expired).toMatchObject({ outcome: "Expired", status: "Failed" });
    expect(expired).not.toHaveProperty("decidedBy");
    expect(expired).not.toHaveProperty("summary");
  });
});

describe("GET /api/alarms and GET /api/traffic (issues 12 and 11)", () => {
  test("Slack failing from the page: the time to channel-slack-eng-failed holds AWS's redelivery (360 s visibility), in AWS seconds", async () => {
    // Prepare: Slack answers 500 from now on, as the page's fault selector sets it; slack-eng's
    // traffic so far (earlier tests' too) is what the counts below are compared with.
    type Traffic = { channel: string; messages: number; attempts: number; http429: number };
    const slackEng = async () =>
      (await api<{ channels: Traffic[] }>("GET", "/api/traffic")).json.channels.find(
        (c) => c.channel === "slack-eng",
      )!;
    expect((await api("POST", "/api/faults", { receiver: "slack", fault: "500" })).status).toBe(
      200,
    );
    const before = await slackEng();

    // Act: a critical failure; its Slack delivery fails, is redelivered after the queue's
    // visibility timeout, fails again: two failing minutes (infra/alarms.ts FAILURES).
    await api("POST", "/events", {
      source: "aws.codepipeline",
      "detail-type": "CodePipeline Pipeline Execution State Change",
      detail: { pipeline: "main-app-production-v3", "execution-id": randomUUID(), state: "FAILED" },
    });
    type Row = {
      alarm?: string;
      alarmSeconds?: number;
      firstFailureSeconds?: number;
      breachingDatapoints?: Array<{ periodStartSeconds: number; value: number }>;
    };
    let rows: Row[] = [];
    for (let waited = 0; waited < 40_000 && !rows[0]?.alarm; waited += 500) {
      await new Promise((r) => setTimeout(r, 500));
      rows = (await api<Row[]>("GET", "/api/alarms")).json;
    }
    const during = await slackEng();
    await api("POST", "/api/faults", { receiver: "slack", fault: null });
    await sandbox.settle();

    // Assess: the alarm is the Slack channel's. It needs a second failing minute, which only the
    // redelivery brings: one visibility timeout (360 s of AWS time, the sandbox's 7.2 s) after the
    // first receive, so at least 360 AWS s after the fault.
    const [row] = rows;
    expect(row).toMatchObject({
      receiver: "slack",
      fault: "500",
      channels: ["slack-eng", "slack-releases"],
    });
    expect(row.alarm).toBe("channel-slack-eng-failed");
    expect(row.alarmSeconds).toBeGreaterThanOrEqual(360);
    // The alarm's own evaluation, not the seconds between (a loaded machine stretches those): it
    // fired on failures in 2 one-minute periods within the last 10 (README, "Alarms"), the first
    // one the first failure's, and when the second period ended (a minute is 60 AWS s; the
    // seconds are rounded to 0.1).
    const points = row.breachingDatapoints ?? [];
    expect(points).toHaveLength(2);
    const [first, second] = points.map((p) => p.periodStartSeconds);
    expect(second - first).toBeLessThan(10 * 60);
    expect(row.firstFailureSeconds).toBeGreaterThanOrEqual(first);
    expect(row.firstFailureSeconds).toBeLessThan(first + 60);
    expect(row.alarmSeconds).toBeCloseTo(second + 60, 0);
    // The failures were Slack's answers to attempts, at least one per failing receive (how many
    // more a receive makes before its scaled deadline depends on the machine: time-scale.test),
    // none accepted, none a 429 (pacing is not the problem here).
    expect(during.attempts - before.attempts).toBeGreaterThanOrEqual(points.length);
    expect(during.messages - before.messages).toBe(0);
    expect(during.http429 - before.http429).toBe(0);
  }, 60_000);
});

describe("a step's redeliveries", () => {
  test("count the events the stand-ins emitted for its actions (an expiry's FAILED events), and a step's outage ends on their redelivery", async () => {
    // Act: an approval left waiting, then 8 days later (past CodePipeline's 7-day approval
    // timeout) with Slack down until the queue redelivers: the expiry's events come from the
    // CodePipeline stand-in, not from the step (new-user pass: such a step printed "retried 0").
    const report = await sandbox.runScenario({
      name: "an expiry during a Slack outage",
      steps: [
        {
          name: "an approval waits",
          setup: {
            pendingApproval: {
              pipeline: "main-app-production-v3",
              stage: "Approve",
              action: "ManualApproval",
              executionId: "$exec:lapse",
            },
          },
          events: [],
          expect: {},
        },
        {
          name: "it expires while Slack answers 503",
          setup: { fault: { receiver: "slack", status: 503, untilReceive: 2 } },
          do: [{ advanceClock: { days: 8 } }],
          events: [],
          expect: { dlq: 0 },
        },
      ],
    });

    // Assess: redelivered once, then delivered (the outage ended on the redelivery).
    const expiry = report.steps[1];
    expect(expiry.problems).toEqual([]);
    expect(expiry.observed.retried).toBeGreaterThanOrEqual(1);
    expect(expiry.observed.delivered["slack-eng"]).toBeGreaterThanOrEqual(1);
  }, 120_000);
});

// Last on the first sandbox: its SMS takes the sms-oncall grouping window (1 SMS per 120 s of
// AWS time, 2.4 s here) that a later test's own SMS would otherwise be grouped into.
describe("an event posted by hand", () => {
  test("the terminal shows the SMS and email text as SNS accepts them, not only in a scenario's step", async () => {
    // Prepare
    const from = lines.length;
    const executionId = randomUUID();

    // Act: POST /events, as the README shows (no scenario step around it)
    const posted = await api<{ events: Array<{ matched: boolean }> }>("POST", "/events", {
      source: "aws.codepipeline",
      "detail-type": "CodePipeline Pipeline Execution State Change",
      time: outsideWindows("api-gateway-prod-cluster"),
      detail: JSON.parse(failedDetail(executionId)) as unknown,
    });
    expect(posted.json.events.map((e) => e.matched)).toEqual([true]);
    const sms = () => lines.slice(from).find((l) => l.includes("→ sns sms-oncall: delivered"));
    for (let i = 0; i < 100 && !sms(); i++) await new Promise((r) => setTimeout(r, 100));

    // Assess: the SMS's own text (one line of at most 140 characters), quoted
    expect(sms()).toMatch(/→ sns sms-oncall: delivered “[^”]*api-gateway-prod-cluster[^”]*”$/);
  }, 30_000);
});

// On the third sandbox, awaited after every test on the first one, which run while it plays.
describe("SMS under a user's SNS fault", () => {
  test("failed SMS attempts are printed and counted in the summary", async () => {
    // Act: the outage started with the file (beforeAll), on its own sandbox.
    const { printed, sms } = await smsOutage;

    // Assess
    expect(printed).toMatch(/→ sns sms-oncall: (retried|failed) \(/);
    // Live, when the fan-out sends it (not only in the step's report), and once.
    const dlqLines = printed.match(/^ *⚠ fan-out sent notification [0-9a-f]+ to its DLQ.*$/gm);
    expect(dlqLines).toEqual([expect.stringMatching(/after 4 receives: sms-oncall: /)]);
    // Each receive the fan-out reported failed says why, on its line (round 17: the reason was
    // only in the audit trail): what it logged for that message, on one line.
    const failedLines = printed.match(/^ *⚠ fan-out reported message [0-9a-f]{8} failed.*$/gm);
    // (Which reason depends on the machine's load: SNS's 500, or a deadline reached first.)
    const why = / failed \(visible again in \d+ ms\): .*\bsms-oncall: \S/;
    expect(failedLines).toEqual([
      expect.stringMatching(why),
      expect.stringMatching(why),
      expect.stringMatching(why),
    ]);
    expect(sms?.failedAttempts).toBeGreaterThan(0);
  }, 60_000);
});

// Last in the file: it awaits the replays on the second sandbox, started with the file, so every
// test above runs while they play.
describe("replaying the built-in scenario", () => {
  test("ends as expected the second time too (the first run's resolved incident does not count)", async () => {
    const { first, second, firstPrinted } = await replays;
    // What each receiver got, SMS and email included (README, "Try it locally"): the text.
    expect(firstPrinted).toMatch(/→ sns sms-oncall: delivered “[^”]{10,140}”/);
    expect(first.steps.filter((s) => !s.ok).map((s) => s.problems)).toEqual([]);
    expect(second.steps.filter((s) => !s.ok).map((s) => s.problems)).toEqual([]);
    expect(second.ok).toBe(true);
  }, 120_000);
});
