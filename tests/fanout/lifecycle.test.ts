/**
 * CodePipeline's real lifecycle end to end through the fan-out (issue 10): retried stages that
 * fail again, approvals that expire, rollbacks, hand-posted events the stand-in does not know,
 * and one approval request per run. Real receivers, dynalite and the CodePipeline stand-in;
 * every right value comes from AWS's documentation, cited per test.
 */
import { randomUUID } from "node:crypto";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../../handlers/aws";
import { approvalKey } from "../../handlers/store/keys";
import { putApprovalResult } from "../../testing";
import { event, SMS_TOPIC, startFanoutWorld, TABLE, type FanoutWorld } from "../support/fanout";

let world: FanoutWorld;

beforeAll(async () => {
  world = await startFanoutWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());

const PIPELINE = "main-app-production-v3";
const r = () => world.standins.receivers;
const slack = (name = "slack-eng") => r().byReceiver("slack", name);
const pages = () =>
  r()
    .byReceiver("pagerduty")
    .map((p) => p.body as any);
const sms = () =>
  world.standins.aws.state.sns.published.filter((m: any) => m.topicArn === SMS_TOPIC);
const dedupKey = (executionId: string) => `deploy-notifier/${PIPELINE}/${executionId}`;

/**
 * Resolves the incident of PIPELINE that earlier tests left open (dynalite outlives a test), then
 * clears the receivers: PagerDuty keeps ONE open incident per pipeline (issue 11), so a failure
 * would otherwise be added to that incident under its key instead of opening one of its own.
 */
async function startWithNoOpenIncident(): Promise<void> {
  await world.drain([
    event("pipeline-succeeded", { "execution-id": randomUUID() }, { id: randomUUID() }),
  ]);
  world.reset();
}

/** The Action Execution State Change FAILED of one attempt (the small input). */
function buildFailed(executionId: string, attempt: number, time: string) {
  return event(
    "action-codebuild-failed",
    { pipeline: PIPELINE, "execution-id": executionId, "pipeline-execution-attempt": attempt },
    { id: randomUUID(), time },
  );
}

describe("item 1: a retried stage that fails again is a new failure", () => {
  // RetryStageExecution keeps the execution id and raises pipeline-execution-attempt (user
  // guide, "Monitoring CodePipeline events"; API reference, RetryStageExecution).
  it("two FAILED events of one execution, attempt 1 then 2: two notifications per channel", async () => {
    await startWithNoOpenIncident();
    const executionId = randomUUID();

    await world.drain([buildFailed(executionId, 1, "2026-11-30T06:00:00Z")]);
    await world.drain([buildFailed(executionId, 2, "2026-11-30T06:25:00Z")]);

    expect(slack()).toHaveLength(2);
    expect(sms()).toHaveLength(2);
    expect(pages()).toHaveLength(2);
    // Still announced on every channel. PagerDuty: the retry's failure is a trigger with the SAME
    // dedup_key, added to the pipeline's open incident (one open incident per pipeline, issue 11;
    // "Subsequent alerts with a matching dedup_key deduplicate into the same incident",
    // support.pagerduty.com/docs/event-management): two triggers, one incident, one page.
    expect(pages().map((p) => [p.event_action, p.dedup_key])).toEqual([
      ["trigger", dedupKey(executionId)],
      ["trigger", dedupKey(executionId)],
    ]);
    expect(pages()[1].payload.summary).toMatch(/^FAILED AGAIN \(attempt 2\)/);
    expect((slack()[1].body as any).text).toMatch(/failed again \(attempt 2\)/);
    expect((slack()[0].body as any).text).not.toMatch(/again/);
    expect(String(sms()[1].message)).toMatch(/^FAILED AGAIN \(attempt 2\) main-app-production-v3/);
    const incidents = r().incidents.filter((i) => i.dedupKey === dedupKey(executionId));
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ status: "triggered", triggers: 2 });
    const collapsed = await world.audit(
      (a) => a.executionId === executionId && a.action === "collapsed",
    );
    expect(collapsed).toEqual([]);
  });

  it("still folds the action, stage and pipeline FAILED events of the SAME attempt into one", async () => {
    const executionId = randomUUID();
    const d = { pipeline: PIPELINE, "execution-id": executionId, "pipeline-execution-attempt": 2 };
    world.standins.aws.addFailedExecution({
      pipeline: PIPELINE,
      executionId,
      stage: "Build",
      action: "BuildAndTest",
      category: "Build",
      provider: "CodeBuild",
      summary: "Build terminated with state: FAILED",
    } as any);

    await world.drain([buildFailed(executionId, 1, "2026-11-30T06:00:00Z")]);
    await world.drain([
      buildFailed(executionId, 2, "2026-11-30T06:25:00Z"),
      event("stage-failed", { ...d, stage: "Build" }, { id: randomUUID() }),
      event("pipeline-failed", d, { id: randomUUID() }),
    ]);

    expect(slack()).toHaveLength(2);
    expect(pages()).toHaveLength(2);
    expect(sms()).toHaveLength(2);
    const collapsed = await world.audit(
      (a) => a.executionId === executionId && a.action === "collapsed",
    );
    expect(collapsed).toHaveLength(2);
    expect(collapsed.map((a) => a.detail.attempt)).toEqual([2, 2]);
  });

  it("reopens a resolved incident, and a later success resolves it once", async () => {
    await startWithNoOpenIncident();
    const executionId = randomUUID();
    const succeeded = (id: string, attempt: number) =>
      event(
        "pipeline-succeeded",
        { "execution-id": id, "pipeline-execution-attempt": attempt },
        { id: randomUUID() },
      );

    await world.drain([buildFailed(executionId, 1, "2026-11-30T06:00:00Z")]);
    await world.drain([succeeded(randomUUID(), 1)]); // another execution fixed it meanwhile
    await world.drain([buildFailed(executionId, 2, "2026-11-30T06:25:00Z")]);
    const success = succeeded(executionId, 3);
    await world.drain([success]);
    await world.drain([success]); // a redelivery resolves nothing twice

    const ours = pages().filter((p) => p.dedup_key === dedupKey(executionId));
    expect(ours.map((p) => p.event_action)).toEqual(["trigger", "resolve", "trigger", "resolve"]);
    // After a resolve, the same dedup_key opens a new incident (Events API v2).
    const incidents = r().incidents.filter((i) => i.dedupKey === dedupKey(executionId));
    expect(incidents.map((i) => i.status)).toEqual(["resolved", "resolved"]);
    const resolved = await world.audit(
      (a) => a.action === "incident-resolved" && a.detail.dedupKey === dedupKey(executionId),
    );
    expect(resolved).toHaveLength(2);
  });
});

describe("item 3: an approval that expired is not a rejection, and pages no one", () => {
  // No answer within the approval's timeout (7 days by default): the Approval action ends
  // FAILED with no "Rejected by" summary (user guide, "Manage approval actions"; REFERENCE.md).
  it.each([
    ["action event first", ["action-approval-expired", "pipeline-failed"]],
    ["pipeline event first", ["pipeline-failed", "action-approval-expired"]],
  ])("%s: one 'approval expired' message, no page, no SMS", async (_label, names) => {
    const executionId = randomUUID();
    world.standins.aws.addFailedExecution({
      pipeline: PIPELINE,
      executionId,
      stage: "Approve",
      action: "ManualApproval",
      category: "Approval",
      provider: "Manual",
    } as any);

    await world.drain(
      names.map((name) => event(name, { "execution-id": executionId }, { id: randomUUID() })),
    );

    expect(pages()).toHaveLength(0);
    expect(sms()).toHaveLength(0);
    expect(slack()).toHaveLength(1);
    const body = slack()[0].body as any;
    expect(body.text).toContain("approval expired — no decision in 7 days");
    expect(JSON.stringify(body)).not.toMatch(/reject/i);
    expect(JSON.stringify(body)).not.toContain("unavailable");
  });

  it("a rejection reaches neither PagerDuty nor SMS (SMS used to say REJECTED)", async () => {
    const executionId = randomUUID();

    await world.drain([event("action-approval-failed", { "execution-id": executionId })]);

    expect(pages()).toHaveLength(0);
    expect(sms()).toHaveLength(0);
    expect((slack()[0].body as any).text).toMatch(/Rejected by arn:aws:sts::/);
  });

  it("a rejection in the console names who rejected it: the caller CodePipeline recorded", async () => {
    // Prepare: a person rejects in the CodePipeline console as their role session, typing a
    // comment. PutApprovalResult records the caller as the run's `updatedBy` ("The ARN of the
    // user who changed the pipeline execution details", API_ActionExecutionDetail.html); the
    // FAILED event names no caller, and its summary is the comment, with no "Rejected by".
    const executionId = randomUUID();
    const session = "arn:aws:sts::123456789012:assumed-role/ReleaseManager/jordan.lee";
    const approval = { pipeline: PIPELINE, stage: "Approve", action: "ManualApproval" };
    const token = world.standins.aws.addPendingApproval({ ...approval, executionId });
    putApprovalResult(
      world.standins.aws.state,
      {
        pipelineName: PIPELINE,
        stageName: "Approve",
        actionName: "ManualApproval",
        result: { status: "Rejected", summary: "Wrong build: use the one with the fix" },
        token,
      },
      new Date(),
      session,
    );

    // Act: the action's FAILED event, as CodePipeline emits it.
    await world.drain([
      event("action-approval-failed", {
        "execution-id": executionId,
        "execution-result": {
          "external-execution-summary": "Wrong build: use the one with the fix",
          "error-code": "JobFailed",
        },
      }),
    ]);

    // Assess: the person, not "an approver" (the resource part of the ARN: classify.ts
    // callerName); still no page.
    const text = (slack()[0].body as any).text as string;
    expect(text).toMatch(/Rejected by assumed-role\/ReleaseManager\/jordan\.lee\b/);
    expect(text).toContain("Wrong build: use the one with the fix");
    expect(pages()).toHaveLength(0);
  });
});

describe("rollbacks (pipeline type V2)", () => {
  // ExecutionTrigger.triggerType AutomatedRollback (API reference, ExecutionTrigger); the
  // rollback is a new execution (user guide, "Configuring stage rollback").
  it("a rollback's SUCCEEDED resolves the page and says it was a rollback, not a fix", async () => {
    await startWithNoOpenIncident();
    const failedId = randomUUID();
    const rollbackId = randomUUID();
    await world.drain([buildFailed(failedId, 1, "2026-11-30T06:00:00Z")]);

    await world.drain([
      event("pipeline-succeeded-automated-rollback", { "execution-id": rollbackId }),
    ]);

    expect(pages().map((p) => p.event_action)).toEqual(["trigger", "resolve"]);
    expect(pages()[1]).toEqual({
      routing_key: expect.any(String),
      event_action: "resolve",
      dedup_key: dedupKey(failedId),
    });
    // prod's states are [FAILED], yet the tier hears of the rollback; the phone does not.
    expect(slack()).toHaveLength(2);
    // "…, after <failed> failed": the failed execution is the one whose page the rollback closes.
    expect((slack()[1].body as any).text).toContain(`after ${failedId.slice(0, 8)} failed`);
    expect(JSON.stringify(slack()[1].body)).toContain(`after ${failedId} failed`);
    expect((slack()[1].body as any).text).toContain("automatic rollback");
    expect(sms()).toHaveLength(1);
    const [resolved] = await world.audit(
      (a) => a.action === "incident-resolved" && a.executionId === rollbackId,
    );
    expect(resolved.detail).toMatchObject({
      dedupKey: dedupKey(failedId),
      rollback: { trigger: "AutomatedRollback", failedExecutionId: failedId },
    });
  });
});

describe("hand-posted events the stand-in does not know (item 4)", () => {
  it("enrichment that finds no such execution or pipeline shows the user no error", async () => {
    // PipelineNotFoundException / PipelineExecutionNotFoundException (API reference,
    // GetPipeline, GetPipelineExecution): nothing to add, nothing went wrong.
    await world.drain([event("action-approval-started", { "execution-id": randomUUID() })]);
    await world.drain([event("pipeline-failed", { "execution-id": randomUUID() })]);

    expect(slack("slack-releases")).toHaveLength(1);
    expect(slack("slack-eng")).toHaveLength(1);
    for (const m of [...slack("slack-releases"), ...slack("slack-eng")]) {
      expect(JSON.stringify(m.body)).not.toMatch(/unavailable|API error/);
    }
  });

  it("a real API failure still says so", async () => {
    world.standins.aws.faults.codepipeline = { code: "ServiceUnavailableException", status: 503 };
    await world.drain([event("pipeline-failed", { "execution-id": randomUUID() })]);
    expect(JSON.stringify(slack()[0].body)).toContain("Some details are unavailable");
  });
});

describe("item 5: approval requests carry their run", () => {
  // Each run of an approval action has its own action-execution-id and token (REFERENCE.md,
  // CodePipeline's lifecycle; aws/aws-sdk-js-v3#3871).
  it("two runs of the approval in one execution get two requests, each naming its run", async () => {
    const executionId = randomUUID();
    const run1 = randomUUID();
    const run2 = randomUUID();
    const started = (run: string, attempt: number) =>
      event(
        "action-approval-started",
        {
          "execution-id": executionId,
          "action-execution-id": run,
          "pipeline-execution-attempt": attempt,
        },
        { id: randomUUID() },
      );

    await world.drain([started(run1, 1), started(run1, 1)]); // a duplicate of run 1
    await world.drain([started(run2, 2)]); // rejected, RetryStageExecution: attempt 2
    await world.drain([started(randomUUID(), 2)]); // another run in the same attempt

    const values = slack("slack-releases").map((m) => {
      const actions = (m.body as any).blocks.find((b: any) => b.type === "actions");
      return JSON.parse(actions.elements[0].value).actionExecutionId;
    });
    expect(values).toHaveLength(3);
    expect(values.slice(0, 2)).toEqual([run1, run2]);
    expect(new Set(values).size).toBe(3);
    expect((slack("slack-releases")[1].body as any).text).toContain("(attempt 2)");
    // And the attempt it was asked in, which a decision keeps (the next describe).
    const attempts = slack("slack-releases").map(
      (m) =>
        JSON.parse((m.body as any).blocks.find((b: any) => b.type === "actions").elements[0].value)
          .attempt,
    );
    expect(attempts).toEqual([1, 2, 2]);
  });
});

describe("a Slack rejection is read only into a failure of its own attempt (red team, round 10)", () => {
  // When the CodePipeline API cannot be asked, the fan-out reads the Slack decisions of the
  // execution to report a rejection as one (store/approvals.ts slackRejection). A stage retry
  // keeps the execution id, and "A failure on a later attempt is a new failure" (REFERENCE.md,
  // CodePipeline's lifecycle): attempt 1's rejection must not turn attempt 2's failure into a
  // "rejection" that pages nobody.
  async function rejectedInSlack(executionId: string, attempt: number | undefined) {
    const target = {
      pipeline: PIPELINE,
      executionId,
      stage: "Approve",
      action: "ManualApproval",
      actionExecutionId: randomUUID(),
      ...(attempt === undefined ? {} : { attempt }),
    };
    const at = new Date(Date.now() - 3_600_000).toISOString();
    await ddb().send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          ...approvalKey(target),
          ...target,
          decision: "Rejected",
          user: { id: "U034GHIJKL", name: "Sam Roe" },
          at,
          status: "decided",
          settledAt: at,
          outcome: "Rejected",
        },
      }),
    );
  }
  const failedIn = (executionId: string, attempt: number) =>
    event(
      "pipeline-failed",
      { "execution-id": executionId, "pipeline-execution-attempt": attempt },
      { id: randomUUID() },
    );

  it.each([
    ["attempt 1's rejection", 1],
    ["a rejection of unknown attempt (a button posted before decisions carried one)", undefined],
  ])("%s, then attempt 2 fails with the API throttled: a failure, paged", async (_l, attempt) => {
    await startWithNoOpenIncident();
    const executionId = randomUUID();
    await rejectedInSlack(executionId, attempt);
    world.standins.aws.faults.codepipeline = { code: "ThrottlingException", status: 400 };

    await world.drain([failedIn(executionId, 2)]);

    expect(pages()).toHaveLength(1);
    expect(pages()[0]).toMatchObject({ event_action: "trigger" });
    expect(JSON.stringify(slack().map((m) => m.body))).not.toContain("Sam Roe");
  });

  it("attempt 2's rejection, then attempt 2's FAILED with the API throttled: the rejection, no page", async () => {
    const executionId = randomUUID();
    await rejectedInSlack(executionId, 2);
    world.standins.aws.faults.codepipeline = { code: "ThrottlingException", status: 400 };

    await world.drain([failedIn(executionId, 2)]);

    expect(pages()).toHaveLength(0);
    expect(JSON.stringify(slack()[0].body)).toContain("Sam Roe (U034GHIJKL)");
  });
});
