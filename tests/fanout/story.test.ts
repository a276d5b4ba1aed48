/**
 * The whole story of a failure: enrichment, one message per execution and outcome, rejections
 * that never page, incidents resolved by a later success, quiet hours, every channel, and the
 * audit trail read back from dynalite.
 */
import { randomUUID } from "node:crypto";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../../handlers/aws";
import { approvalKey } from "../../handlers/store/keys";
import { event, startFanoutWorld, TABLE, type FanoutWorld } from "../support/fanout";
import { timeOutsideWindows } from "../../sandbox/scenario-events";

let world: FanoutWorld;

beforeAll(async () => {
  world = await startFanoutWorld((raw) => {
    // Every channel type on the critical tier, so each one is exercised end to end.
    raw.channels["teams-ops"] = { type: "teams" };
    raw.channels["discord-ops"] = { type: "discord" };
    raw.channels["hook-ops"] = { type: "webhook" };
    raw.channels["email-ops"] = { type: "email", addresses: ["ops@example.com"] };
    raw.routing.critical = [
      ...raw.routing.critical,
      "teams-ops",
      "discord-ops",
      "hook-ops",
      "email-ops",
    ];
    raw.secrets["teams-ops"] = { webhookUrl: "http://127.0.0.1:1/placeholder" };
    raw.secrets["discord-ops"] = { webhookUrl: "http://127.0.0.1:1/placeholder" };
    raw.secrets["hook-ops"] = {
      url: "http://127.0.0.1:1/placeholder",
      bearerToken: "hook-token-123",
    };
  });
  const r = world.standins.receivers;
  const secrets = JSON.parse(JSON.stringify(world.config.channelSecrets));
  secrets["teams-ops"].webhookUrl = r.urlFor("teams", "teams-ops");
  secrets["discord-ops"].webhookUrl = r.urlFor("discord", "discord-ops");
  secrets["hook-ops"].url = r.urlFor("webhook", "hook-ops");
  world.config.channelSecrets = secrets;
  process.env.CHANNEL_TOPICS = JSON.stringify({
    ...JSON.parse(process.env.CHANNEL_TOPICS as string),
    "email-ops": "arn:aws:sns:us-east-1:123456789012:channel-email-ops",
  });
});
afterAll(() => world.close());
beforeEach(() => world.reset());

const r = () => world.standins.receivers;
const slack = (name = "slack-eng") => r().byReceiver("slack", name);
const pages = () => r().byReceiver("pagerduty");

/** Deterministic shuffle (mulberry32), so a failure is reproducible. */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let a = seed;
  const rand = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The action, stage and pipeline FAILED events of one CodeBuild failure. */
function failureEvents(pipeline: string, executionId: string) {
  world.standins.aws.addFailedExecution({
    pipeline,
    executionId,
    stage: "Build",
    action: "BuildAndTest",
    category: "Build",
    provider: "CodeBuild",
    errorCode: "JobFailed",
    summary: "Build terminated with state: FAILED. Phase: BUILD",
    externalExecutionUrl: "https://console.aws.amazon.com/codebuild/home#/builds/b:1/view/new",
    revision: {
      name: "Source",
      revisionId: "a1b2c3d",
      revisionSummary: "Add retries to the payment client",
      revisionUrl: "https://github.com/acme/app/commit/a1b2c3d",
    },
  } as any);
  const d = { pipeline, "execution-id": executionId };
  // Events of now, as EventBridge stamps them: a delivery record is filed under its event's
  // time (handlers/store/keys.ts), so the by-time query finds it in the window it happened. Not
  // inside the prod stack's Sunday window for the pipeline, whenever the test runs.
  const time = timeOutsideWindows(world.config.runtime, pipeline).toISOString();
  return [
    event("action-codebuild-failed", d, { id: randomUUID(), time }),
    event("stage-failed", { ...d, stage: "Build" }, { id: randomUUID(), time }),
    event("pipeline-failed", d, { id: randomUUID(), time }),
  ];
}

describe("one message per execution and outcome", () => {
  it.each([1, 2, 3])(
    "folds shuffled, duplicated action/stage/pipeline FAILED events (seed %i)",
    async (seed) => {
      const executionId = randomUUID();
      const events = failureEvents("api-gateway-prod-cluster", executionId);
      const stream = shuffle([...events, ...events, events[seed % 3]], seed);

      // Half in one batch, the rest one by one, like SQS might hand them over.
      await world.drain(stream.slice(0, 3));
      for (const ev of stream.slice(3)) await world.drain([ev]);

      expect(pages()).toHaveLength(1);
      expect(slack()).toHaveLength(1);
      const text = JSON.stringify(slack()[0].body);
      expect(text).toContain("BuildAndTest");
      expect(text).toContain("Build terminated with state: FAILED");
      expect(text).toContain("a1b2c3d");
      for (const receiver of ["teams", "discord", "webhook"] as const)
        expect(r().byReceiver(receiver)).toHaveLength(1);
      expect(world.standins.aws.state.sns.published).toHaveLength(2); // SMS + email
      const folded = await world.audit(
        (a) => a.executionId === executionId && a.action === "collapsed",
      );
      expect(folded.length).toBeGreaterThanOrEqual(1);
    },
  );
});

describe("rejected approvals", () => {
  it("posts the approval request with buttons to the approvals channel", async () => {
    const executionId = randomUUID();

    await world.drain([event("action-approval-started", { "execution-id": executionId })]);

    expect(slack("slack-releases")).toHaveLength(1);
    expect(slack("slack-eng")).toHaveLength(0);
    expect(pages()).toHaveLength(0);
    const actions = (slack("slack-releases")[0].body as any).blocks.find(
      (b: any) => b.type === "actions",
    );
    const approve = actions.elements.find((e: any) => e.action_id === "deploy-notifier.approve");
    // The run it was posted for (the fixture's action-execution-id): issue 10, item 2.
    expect(JSON.parse(approve.value)).toEqual({
      pipeline: "main-app-production-v3",
      stage: "Approve",
      action: "ManualApproval",
      executionId,
      actionExecutionId: "6c1f0e2d-3a4b-4c5d-9e6f-7a8b9c0d1e2f",
      // The fixture's pipeline-execution-attempt: a decision is read into its attempt only.
      attempt: 1,
    });
  });

  it("reports a rejection as 'rejected by …' and never pages, whatever order the events come in", async () => {
    const executionId = randomUUID();
    const d = { "execution-id": executionId };
    const events = [
      event("pipeline-failed", d, { id: randomUUID() }),
      event("stage-failed", { ...d, stage: "Approve" }, { id: randomUUID() }),
      event("action-approval-rejected-via-slack", d, { id: randomUUID() }),
    ];
    world.standins.aws.addFailedExecution({
      pipeline: "main-app-production-v3",
      executionId,
      stage: "Approve",
      action: "ManualApproval",
      category: "Approval",
      provider: "Manual",
      summary: "Rejected by Jane Doe (U012ABC) via Slack: migration not reviewed yet",
    } as any);

    await world.drain(events);

    expect(pages()).toHaveLength(0);
    expect(slack()).toHaveLength(1);
    const body = slack()[0].body as any;
    expect(body.text).toMatch(/Rejected by Jane Doe/);
    expect(body.text).not.toMatch(/fail/i);
    expect(body.blocks[0].text.text).not.toMatch(/fail/i);
  });

  it("knows a Slack rejection even when the CodePipeline API is down", async () => {
    const executionId = randomUUID();
    await ddb().send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          ...approvalKey({
            pipeline: "main-app-production-v3",
            executionId,
            stage: "Approve",
            action: "ManualApproval",
          }),
          decision: "Rejected",
          user: { id: "U034GHIJKL", name: "Sam Roe" },
          stage: "Approve",
          action: "ManualApproval",
          at: new Date().toISOString(),
        },
      }),
    );
    world.standins.aws.faults.codepipeline = { code: "ServiceUnavailableException", status: 503 };

    await world.drain([event("pipeline-failed", { "execution-id": executionId })]);

    expect(pages()).toHaveLength(0);
    expect(JSON.stringify(slack()[0].body)).toContain("Sam Roe (U034GHIJKL)");
  });
});

describe("PagerDuty incidents", () => {
  it("resolves the open incident with the same dedup key when the pipeline later succeeds", async () => {
    const pipeline = "api-gateway-prod-cluster";
    const executionId = randomUUID();
    const failed = failureEvents(pipeline, executionId)[2];
    const succeeded = event("pipeline-succeeded", { pipeline, "execution-id": randomUUID() });
    const key = `deploy-notifier/${pipeline}/${executionId}`;
    // Earlier tests left an incident of this pipeline open (one per pipeline, issue 11): the
    // pipeline's success before this failure resolves it, so this failure opens its own.
    await world.drain([
      event("pipeline-succeeded", { pipeline, "execution-id": randomUUID() }, { id: randomUUID() }),
    ]);

    await world.drain([failed]);
    await world.drain([succeeded]);
    await world.drain([succeeded]);

    const ours = pages()
      .map((p) => p.body as any)
      .filter((b) => b.dedup_key === key);
    expect(ours.map((b) => b.event_action)).toEqual(["trigger", "resolve"]);
    const trigger = ours[0];
    expect(r().incidents.find((i: any) => i.dedupKey === key)).toMatchObject({
      status: "resolved",
    });
    expect(slack()).toHaveLength(1); // prod says nothing on Slack about a success (states: FAILED)
    const resolved = await world.audit((a) => a.action === "incident-resolved");
    expect(resolved.map((a) => a.detail.dedupKey)).toContain(trigger.dedup_key);
  });

  it("asks CodePipeline nothing for a success with no open incident and nothing to say", async () => {
    const pipeline = "main-app-production-v3";
    const executionId = randomUUID();
    // No incident is open for this pipeline, and prod says nothing about successes (FAILED only).
    await world.drain([event("pipeline-succeeded", { pipeline, "execution-id": randomUUID() })]);
    world.standins.aws.reset();

    await world.drain([event("pipeline-succeeded", { pipeline, "execution-id": executionId })]);

    expect(world.standins.aws.state.codepipeline.calls).toEqual([]);
    expect(r().deliveries).toHaveLength(0);
  });

  it("never pages for a superseded, canceled or stopped execution", async () => {
    const pipeline = "api-gateway-prod-cluster";
    world.config.runtime.pipelines[1].states = ["FAILED", "SUPERSEDED", "CANCELED", "STOPPED"];
    try {
      await world.drain(
        ["pipeline-superseded", "pipeline-canceled", "pipeline-stopped"].map((name) =>
          event(name, { pipeline, "execution-id": randomUUID() }),
        ),
      );

      expect(pages()).toHaveLength(0);
      const words = slack().map((m) => (m.body as any).text);
      expect(words).toHaveLength(3);
      expect(words.join(" ")).toMatch(/superseded/i);
      expect(words.join(" ")).toMatch(/cancel/i);
      expect(words.join(" ")).toMatch(/stopped/i);
    } finally {
      world.config.runtime.pipelines[1].states = ["FAILED"];
    }
  });
});

describe("quiet hours", () => {
  // Sunday 29 November 2026, 02:30 in Berlin (CET, UTC+1) is inside "sunday-maintenance".
  const inside = "2026-11-29T01:30:00Z";
  const after = "2026-11-29T03:00:00Z";

  it("suppresses a failure inside the window, audited with the window's name", async () => {
    const executionId = randomUUID();

    await world.drain([
      event(
        "pipeline-failed",
        { pipeline: "api-gateway-prod-cluster", "execution-id": executionId },
        { time: inside },
      ),
    ]);

    expect(r().deliveries).toHaveLength(0);
    expect(world.standins.aws.state.sns.published).toHaveLength(0);
    const [suppressed] = await world.audit(
      (a) => a.executionId === executionId && a.action === "suppressed",
    );
    expect(suppressed).toMatchObject({
      result: "downtime window sunday-maintenance",
      detail: { window: "sunday-maintenance" },
    });
  });

  it("lets the same failure through after the window and for pipelines the window does not cover", async () => {
    await world.drain([
      event(
        "pipeline-failed",
        { pipeline: "api-gateway-prod-cluster", "execution-id": randomUUID() },
        { time: after },
      ),
      event(
        "pipeline-failed",
        { pipeline: "main-app-production-v3", "execution-id": randomUUID() },
        { time: inside },
      ),
    ]);

    expect(pages()).toHaveLength(2);
  });

  it("lets critical failures through a window that allows them", async () => {
    world.config.runtime.downtime[0].allowCritical = true;
    try {
      await world.drain([
        event(
          "pipeline-failed",
          { pipeline: "api-gateway-prod-cluster", "execution-id": randomUUID() },
          { time: inside },
        ),
      ]);
      expect(pages()).toHaveLength(1);
    } finally {
      world.config.runtime.downtime[0].allowCritical = false;
    }
  });
});

describe("enrichment", () => {
  it("sends what is known, and says so, when the CodePipeline API is too slow", async () => {
    world.standins.aws.delays.codepipeline.ListActionExecutions = 4000;
    world.standins.aws.delays.codepipeline.GetPipelineExecution = 4000;

    await world.drain([
      event("pipeline-failed", {
        pipeline: "api-gateway-prod-cluster",
        "execution-id": randomUUID(),
      }),
    ]);

    expect(slack()).toHaveLength(1);
    expect(JSON.stringify(slack()[0].body)).toContain("CodePipeline API timed out");
    expect(pages()).toHaveLength(1);
  }, 20_000);
});

describe("the audit trail", () => {
  it("answers by pipeline and time, and by execution", async () => {
    const executionId = randomUUID();
    const start = new Date().toISOString();
    // A pipeline no downtime window covers: its events are of now whenever the test runs.
    await world.drain(failureEvents("main-app-production-v3", executionId));
    const end = new Date().toISOString();

    const byPipeline = await world.auditByPipeline("main-app-production-v3", start, end);
    const byExecution = await world.auditByExecution(executionId);

    expect(byPipeline.filter((a) => a.executionId === executionId).length).toBe(byExecution.length);
    const actions = byExecution.map((a) => a.action);
    // PagerDuty, Slack, SMS, Teams, Discord, webhook and email: once each.
    expect(actions.filter((a) => a === "sent")).toHaveLength(7);
    expect(actions).toContain("collapsed");
    for (const item of byExecution) {
      expect(item.expiresAt).toBeGreaterThan(Date.now() / 1000 + 364 * 86400);
      expect(item).toMatchObject({ pipeline: "main-app-production-v3", at: expect.any(String) });
    }
  });
});
