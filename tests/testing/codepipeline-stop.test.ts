/**
 * The CodePipeline stand-in stops an execution as StopPipelineExecution does and emits the events
 * CodePipeline emits for it, to the outbox and to `onCodePipelineEvent` listeners (the sandbox's
 * EventBridge, tests). Driven through the real SDK v3 client.
 *
 * Sources:
 * - API_StopPipelineExecution.html: Stopping while in-progress actions are completed or
 *   abandoned, then Stopped; `abandon`, `reason` (≤ 200); DuplicatedStopRequestException,
 *   PipelineExecutionNotStoppableException.
 * - userguide/pipelines-stop.html: stop and wait ("Stopping state until the in-progress actions
 *   are complete. Then … Stopped"), stop and abandon ("the action execution is in an Abandoned
 *   state while the pipeline execution is in a Stopped state. The stage unlocks"); a stopped
 *   inbound execution "does not enter the stage".
 * - userguide/detect-state-changes-cloudwatch-events.html: Pipeline STOPPING (with
 *   `stop-execution-comments`), Stage STOPPING, Stage STOPPED, Action ABANDONED (no result).
 * - API_PipelineExecutionSummary.html / API_StopExecutionTrigger.html: ListPipelineExecutions'
 *   `stopTrigger.reason`; API_PipelineExecution.html (GetPipelineExecution) has no stop field.
 */
import { randomUUID } from "node:crypto";
import {
  ApprovalAlreadyCompletedException,
  CodePipelineClient,
  DuplicatedStopRequestException,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListPipelineExecutionsCommand,
  PipelineExecutionNotStoppableException,
  PutApprovalResultCommand,
  StopPipelineExecutionCommand,
  ValidationException,
} from "@aws-sdk/client-codepipeline";
import {
  codePipelineOutbox,
  expireApprovals,
  onCodePipelineEvent,
  recordEvent,
  stopExecution,
  type AwsStandins,
  type CodePipelineEvent,
} from "../../testing";
import { useCodePipelineStandin } from "../support/codepipeline";

const PIPELINE = "main-app-production-v3";
const REASON = "Stopping: bad migration in this release, see INC-2291";

let aws: AwsStandins;
let client: CodePipelineClient;

useCodePipelineStandin((started) => ({ aws, client } = started));

/** The events emitted for `executionId`, as "<level> <state>[ <stage or action>]". */
const eventsOf = (executionId: string) =>
  codePipelineOutbox(aws.state)
    .filter((e) => e.detail["execution-id"] === executionId)
    .map((e) =>
      [e["detail-type"].split(" ")[1], e.detail.state, e.detail.action ?? e.detail.stage]
        .filter((x) => x !== undefined)
        .join(" "),
    );

const pending = (executionId: string) =>
  aws.addPendingApproval({
    pipeline: PIPELINE,
    stage: "Approve",
    action: "ManualApproval",
    executionId,
  });

const stop = (executionId: string, input: { abandon?: boolean; reason?: string } = {}) =>
  client.send(
    new StopPipelineExecutionCommand({
      pipelineName: PIPELINE,
      pipelineExecutionId: executionId,
      ...input,
    }),
  );

const statusOf = async (executionId: string) =>
  (
    await client.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: executionId }),
    )
  ).pipelineExecution?.status;

const summaryOf = async (executionId: string) =>
  (
    await client.send(new ListPipelineExecutionsCommand({ pipelineName: PIPELINE }))
  ).pipelineExecutionSummaries?.find((s) => s.pipelineExecutionId === executionId);

const approveStage = async () =>
  (await client.send(new GetPipelineStateCommand({ name: PIPELINE }))).stageStates?.find(
    (s) => s.stageName === "Approve",
  );

const decide = (token: string) =>
  client.send(
    new PutApprovalResultCommand({
      pipelineName: PIPELINE,
      stageName: "Approve",
      actionName: "ManualApproval",
      token,
      result: { status: "Approved", summary: "Approved by Jane" },
    }),
  );

describe("stop and abandon (StopPipelineExecution abandon: true)", () => {
  it("emits Pipeline STOPPING with the reason, Stage STOPPING, Action ABANDONED, Stage STOPPED, Pipeline STOPPED, to the listeners too; ListPipelineExecutions gives stopTrigger.reason", async () => {
    // Prepare
    const exec = randomUUID();
    const token = pending(exec);
    const heard: CodePipelineEvent[] = [];
    const unsubscribe = onCodePipelineEvent(aws.state, (e) => heard.push(e));
    // Act
    const out = await stop(exec, { abandon: true, reason: REASON });
    unsubscribe();
    // Assess
    expect(out.pipelineExecutionId).toBe(exec);
    expect(eventsOf(exec)).toEqual([
      "Pipeline STOPPING",
      "Stage STOPPING Approve",
      "Action ABANDONED ManualApproval",
      "Stage STOPPED Approve",
      "Pipeline STOPPED",
    ]);
    expect(heard).toEqual(codePipelineOutbox(aws.state));
    const [stopping, , abandoned, , stopped] = codePipelineOutbox(aws.state);
    expect(stopping.detail["stop-execution-comments"]).toBe(REASON);
    expect(stopped.detail).not.toHaveProperty("stop-execution-comments");
    expect(abandoned.detail).toMatchObject({ stage: "Approve", type: { category: "Approval" } });
    expect(abandoned.detail).not.toHaveProperty("execution-result");
    expect(await statusOf(exec)).toBe("Stopped");
    const stage = await approveStage();
    expect(stage?.latestExecution).toEqual({ pipelineExecutionId: exec, status: "Stopped" });
    expect(stage?.actionStates?.[0]?.latestExecution?.status).toBe("Abandoned");
    expect(await summaryOf(exec)).toMatchObject({
      status: "Stopped",
      stopTrigger: { reason: REASON },
    });
    await expect(decide(token)).rejects.toBeInstanceOf(ApprovalAlreadyCompletedException);
  });

  it("the test helper stopExecution stops and abandons the same way, with the same events", () => {
    // Prepare
    const exec = randomUUID();
    pending(exec);
    // Act
    const stopped = stopExecution(aws.state, PIPELINE, exec, new Date(), { reason: REASON });
    // Assess
    expect(stopped).toBe(true);
    expect(eventsOf(exec)).toEqual([
      "Pipeline STOPPING",
      "Stage STOPPING Approve",
      "Action ABANDONED ManualApproval",
      "Stage STOPPED Approve",
      "Pipeline STOPPED",
    ]);
    expect(codePipelineOutbox(aws.state)[0].detail["stop-execution-comments"]).toBe(REASON);
    expect(stopExecution(aws.state, PIPELINE, exec)).toBe(false);
  });

  it("without a reason: no stop-execution-comments and no stopTrigger", async () => {
    const exec = randomUUID();
    pending(exec);
    await stop(exec, { abandon: true });
    expect(codePipelineOutbox(aws.state)[0].detail).not.toHaveProperty("stop-execution-comments");
    const summary = await summaryOf(exec);
    expect(summary?.status).toBe("Stopped");
    expect(summary?.stopTrigger).toBeUndefined();
  });

  it("unlocks the stage: an execution waiting for it enters after the Pipeline STOPPED; a stopped waiting execution never enters", async () => {
    // Prepare: one execution holds the stage, two wait behind it (QUEUED mode).
    aws.state.codepipeline.pipelines[PIPELINE] = {
      stages: [],
      executions: {},
      executionMode: "QUEUED",
    };
    const holder = randomUUID();
    const inbound = randomUUID();
    const next = randomUUID();
    pending(holder);
    for (const id of [inbound, next]) {
      const admitted = aws.admitPendingApproval({
        pipeline: PIPELINE,
        stage: "Approve",
        action: "ManualApproval",
        executionId: id,
      });
      expect(admitted).toHaveProperty("waiting");
    }
    // Act: the inbound execution is stopped while it waits, then the holder.
    await stop(inbound, { abandon: true, reason: "not this one" });
    await stop(holder, { abandon: true });
    // Assess
    expect(eventsOf(inbound)).toEqual(["Pipeline STOPPING", "Pipeline STOPPED"]);
    expect(await statusOf(inbound)).toBe("Stopped");
    expect(eventsOf(next)).toEqual(["Stage STARTED Approve", "Action STARTED ManualApproval"]);
    const order = codePipelineOutbox(aws.state).map((e) => e.detail["execution-id"]);
    expect(order.lastIndexOf(holder)).toBeLessThan(order.indexOf(next));
    expect((await approveStage())?.latestExecution?.pipelineExecutionId).toBe(next);
  });
});

describe("stop and wait (StopPipelineExecution without abandon)", () => {
  it("is Stopping while the approval waits (no more events), then the decision ends it: Action SUCCEEDED, Stage STOPPED, Pipeline STOPPED", async () => {
    // Prepare
    const exec = randomUUID();
    const token = pending(exec);
    // Act
    await stop(exec, { reason: REASON });
    // Assess: Stopping; the run goes on and can still be decided.
    expect(eventsOf(exec)).toEqual(["Pipeline STOPPING", "Stage STOPPING Approve"]);
    expect(codePipelineOutbox(aws.state)[0].detail["stop-execution-comments"]).toBe(REASON);
    expect(await statusOf(exec)).toBe("Stopping");
    const stage = await approveStage();
    expect(stage?.latestExecution).toEqual({ pipelineExecutionId: exec, status: "Stopping" });
    expect(stage?.actionStates?.[0]?.latestExecution?.status).toBe("InProgress");
    await expect(stop(exec)).rejects.toBeInstanceOf(DuplicatedStopRequestException);
    // Act: the approval is decided.
    await decide(token);
    // Assess
    expect(eventsOf(exec).slice(2)).toEqual([
      "Action SUCCEEDED ManualApproval",
      "Stage STOPPED Approve",
      "Pipeline STOPPED",
    ]);
    expect(await statusOf(exec)).toBe("Stopped");
    expect((await approveStage())?.latestExecution?.status).toBe("Stopped");
    expect(await summaryOf(exec)).toMatchObject({
      status: "Stopped",
      stopTrigger: { reason: REASON },
    });
    await expect(stop(exec, { abandon: true })).rejects.toBeInstanceOf(
      PipelineExecutionNotStoppableException,
    );
  });

  it("an approval that times out while Stopping fails the action, and the execution is Stopped, not Failed", async () => {
    const exec = randomUUID();
    const start = new Date("2026-01-01T00:00:00Z");
    aws.addPendingApproval({
      pipeline: PIPELINE,
      stage: "Approve",
      action: "ManualApproval",
      executionId: exec,
      at: start,
    });
    await stop(exec);
    expireApprovals(aws.state, new Date(start.getTime() + 7 * 86_400_000));
    expect(eventsOf(exec)).toEqual([
      "Pipeline STOPPING",
      "Stage STOPPING Approve",
      "Action FAILED ManualApproval",
      "Stage STOPPED Approve",
      "Pipeline STOPPED",
    ]);
    expect(await statusOf(exec)).toBe("Stopped");
  });

  it("can still be abandoned while Stopping (the run ABANDONED, then STOPPED); a second abandon is refused", async () => {
    const exec = randomUUID();
    pending(exec);
    await stop(exec, { abandon: false });
    await stop(exec, { abandon: true });
    expect(eventsOf(exec)).toEqual([
      "Pipeline STOPPING",
      "Stage STOPPING Approve",
      "Action ABANDONED ManualApproval",
      "Stage STOPPED Approve",
      "Pipeline STOPPED",
    ]);
    await expect(stop(exec, { abandon: true })).rejects.toBeInstanceOf(
      PipelineExecutionNotStoppableException,
    );
  });
});

describe("StopPipelineExecution requests it refuses", () => {
  it("a reason over 200 characters is a ValidationException, and nothing stops", async () => {
    const exec = randomUUID();
    pending(exec);
    await expect(stop(exec, { reason: "x".repeat(201) })).rejects.toBeInstanceOf(
      ValidationException,
    );
    expect(eventsOf(exec)).toEqual([]);
    await stop(exec, { reason: "x".repeat(200), abandon: true });
    expect(await statusOf(exec)).toBe("Stopped");
  });

  it("an execution that is not in progress is PipelineExecutionNotStoppableException", async () => {
    const exec = randomUUID();
    const token = pending(exec);
    await decide(token);
    aws.state.codepipeline.pipelines[PIPELINE].executions[exec].status = "Succeeded";
    await expect(stop(exec, { abandon: true })).rejects.toBeInstanceOf(
      PipelineExecutionNotStoppableException,
    );
    await expect(stop(randomUUID())).rejects.toBeInstanceOf(PipelineExecutionNotStoppableException);
  });
});

describe("a stop CodePipeline reported (a posted event, recordEvent)", () => {
  it("a posted Pipeline STOPPING's stop-execution-comments become stopTrigger.reason; the STOPPED that follows ends it", async () => {
    // Prepare
    const exec = randomUUID();
    pending(exec);
    const posted = (state: string, extra: Record<string, unknown> = {}) =>
      recordEvent(aws.state, {
        source: "aws.codepipeline",
        "detail-type": "CodePipeline Pipeline Execution State Change",
        time: new Date().toISOString(),
        detail: { pipeline: PIPELINE, "execution-id": exec, state, version: 1, ...extra },
      });
    // Act
    posted("STOPPING", { "stop-execution-comments": REASON });
    const whileStopping = await summaryOf(exec);
    posted("STOPPED");
    // Assess
    expect(whileStopping).toMatchObject({ status: "Stopping", stopTrigger: { reason: REASON } });
    expect(await summaryOf(exec)).toMatchObject({
      status: "Stopped",
      stopTrigger: { reason: REASON },
    });
    expect((await approveStage())?.latestExecution?.status).toBe("Stopped");
    expect(codePipelineOutbox(aws.state)).toEqual([]);
  });
});
