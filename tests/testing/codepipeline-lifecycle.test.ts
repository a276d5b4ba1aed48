/**
 * The CodePipeline stand-in models an execution's lifecycle as AWS documents it: attempts and new
 * action runs on RetryStageExecution, a token per approval run, approval timeouts, rejections that
 * fail the action and then the execution, rollbacks, and the three execution modes — and it emits
 * the EventBridge events CodePipeline would. Driven through the real SDK v3 client.
 *
 * Sources: CodePipeline API reference (https://docs.aws.amazon.com/codepipeline/latest/APIReference/
 * API_<Operation>.html) and user guide (https://docs.aws.amazon.com/codepipeline/latest/userguide/).
 */
import { randomUUID } from "node:crypto";
import {
  ApprovalAlreadyCompletedException,
  CodePipelineClient,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  InvalidApprovalTokenException,
  InvalidNextTokenException,
  ListActionExecutionsCommand,
  paginateListActionExecutions,
  NotLatestPipelineExecutionException,
  PipelineExecutionNotFoundException,
  PutApprovalResultCommand,
  RetryStageExecutionCommand,
  RollbackStageCommand,
  StageNotFoundException,
  StageNotRetryableException,
  UnableToRollbackStageException,
  ValidationException,
} from "@aws-sdk/client-codepipeline";
import {
  codePipelineOutbox,
  codePipelineView,
  expireApprovals,
  finishExecution,
  onCodePipelineEvent,
  reachStage,
  recordEvent,
  rollBackAutomatically,
  setExecutionMode,
  startExecution,
  stopExecution,
  type AwsStandins,
  type CodePipelineEvent,
} from "../../testing";
import { useCodePipelineStandin } from "../support/codepipeline";
import { ensureAction, ensurePipeline } from "../../testing/aws/codepipeline";

const PIPELINE = "main-app-production-v3";
const DAY_MS = 86_400_000;

let aws: AwsStandins;
let client: CodePipelineClient;

useCodePipelineStandin((started) => ({ aws, client } = started));

/** The events emitted since the test started, as [detail-type level, state, attempt]. */
const emitted = () =>
  codePipelineOutbox(aws.state).map((e) => [
    e["detail-type"].split(" ")[1],
    e.detail.state,
    e.detail["pipeline-execution-attempt"],
  ]);

/** The actions whose STARTED event was emitted since the test started, in order. */
const startedActions = () =>
  codePipelineOutbox(aws.state)
    .filter((e) => e["detail-type"].includes("Action") && e.detail.state === "STARTED")
    .map((e) => e.detail.action);

const decide = (token: string, status: "Approved" | "Rejected", summary: string) =>
  client.send(
    new PutApprovalResultCommand({
      pipelineName: PIPELINE,
      stageName: "Approve",
      actionName: "ManualApproval",
      token,
      result: { status, summary },
    }),
  );

const pending = (executionId: string, extra: Record<string, unknown> = {}) =>
  aws.addPendingApproval({
    pipeline: PIPELINE,
    stage: "Approve",
    action: "ManualApproval",
    executionId,
    ...extra,
  });

const retry = (executionId: string, retryMode = "FAILED_ACTIONS", stageName = "Approve") =>
  client.send(
    new RetryStageExecutionCommand({
      pipelineName: PIPELINE,
      stageName,
      pipelineExecutionId: executionId,
      retryMode: retryMode as "FAILED_ACTIONS",
    }),
  );

const stateOf = async () => {
  const out = await client.send(new GetPipelineStateCommand({ name: PIPELINE }));
  return out.stageStates?.find((s) => s.stageName === "Approve");
};

describe("rejections and approvals (API_PutApprovalResult.html; REFERENCE.md: a rejection fails the action, then the execution)", () => {
  it("a rejection emits the Approval action's FAILED event (summary, error code) and the pipeline's FAILED event", async () => {
    // Prepare
    const exec = randomUUID();
    const token = pending(exec);
    // Act
    await decide(token, "Rejected", "Rejected by Jane Doe (U012ABC) via Slack: not yet");
    // Assess
    const [action, stage, pipeline] = codePipelineOutbox(aws.state);
    expect(action).toEqual({
      version: "0",
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      "detail-type": "CodePipeline Action Execution State Change",
      source: "aws.codepipeline",
      account: "123456789012",
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: "us-east-1",
      resources: [`arn:aws:codepipeline:us-east-1:123456789012:${PIPELINE}`],
      detail: expect.objectContaining({
        pipeline: PIPELINE,
        "execution-id": exec,
        stage: "Approve",
        action: "ManualApproval",
        state: "FAILED",
        "action-execution-id": expect.any(String),
        "pipeline-execution-attempt": 1,
        type: { owner: "AWS", provider: "Manual", category: "Approval", version: "1" },
        "execution-result": {
          "external-execution-summary": "Rejected by Jane Doe (U012ABC) via Slack: not yet",
          "error-code": "JobFailed",
        },
      }),
    });
    expect(pipeline["detail-type"]).toBe("CodePipeline Pipeline Execution State Change");
    expect(stage["detail-type"]).toBe("CodePipeline Stage Execution State Change");
    expect(stage.detail).toMatchObject({ stage: "Approve", state: "FAILED" });
    expect(pipeline.detail).toMatchObject({ "execution-id": exec, state: "FAILED" });
    expect(emitted()).toHaveLength(3);
    const execution = await client.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: exec }),
    );
    expect(execution.pipelineExecution?.status).toBe("Failed");
  });

  it("an approval emits the action's SUCCEEDED event, and the execution goes on", async () => {
    const exec = randomUUID();
    const token = pending(exec);
    await decide(token, "Approved", "Approved by Jane");
    expect(emitted()).toEqual([
      ["Action", "SUCCEEDED", 1],
      ["Stage", "SUCCEEDED", 1],
    ]);
    expect(codePipelineOutbox(aws.state)[0].detail["execution-result"]).toEqual({
      "external-execution-summary": "Approved by Jane",
    });
    expect(aws.state.codepipeline.pipelines[PIPELINE].executions[exec].status).toBe("InProgress");
  });

  it("announces every emitted event to listeners until they unsubscribe, also after a reset", async () => {
    const seen: CodePipelineEvent[] = [];
    const unsubscribe = onCodePipelineEvent(aws.state, (e) => seen.push(e));
    aws.reset(); // the state is reset in place; the subscription stays
    await decide(pending(randomUUID()), "Approved", "ok");
    unsubscribe();
    await decide(pending(randomUUID()), "Approved", "ok");
    expect(seen.map((e) => e.detail.state)).toEqual(["SUCCEEDED", "SUCCEEDED"]);
    expect(codePipelineOutbox(aws.state)).toHaveLength(4);
  });
});

describe("PutApprovalResult's request constraints (API_PutApprovalResult.html, API_ApprovalResult.html)", () => {
  it("refuses a summary over 512 characters and a token that is not of the documented pattern with ValidationException; the run still waits", async () => {
    const token = pending(randomUUID());
    await expect(decide(token, "Rejected", "x".repeat(513))).rejects.toBeInstanceOf(
      ValidationException,
    );
    await expect(decide("not-a-token", "Approved", "ok")).rejects.toBeInstanceOf(
      ValidationException,
    );
    expect((await stateOf())?.actionStates?.[0]?.latestExecution?.status).toBe("InProgress");
    expect(codePipelineOutbox(aws.state)).toEqual([]);
    await decide(token, "Rejected", "x".repeat(512));
    expect((await stateOf())?.actionStates?.[0]?.latestExecution?.status).toBe("Failed");
  });
});

describe("RetryStageExecution (API_RetryStageExecution.html; userguide detect-state-changes-cloudwatch-events.html: pipeline-execution-attempt)", () => {
  it("keeps the execution id, raises the attempt, and runs the approval again with a new run id and a new token; the old token is invalid", async () => {
    // Prepare: attempt 1's approval is rejected
    const exec = randomUUID();
    const oldToken = pending(exec);
    const oldRun = (await stateOf())?.actionStates?.[0]?.latestExecution?.actionExecutionId;
    await decide(oldToken, "Rejected", "Rejected by Bob");

    // Act
    const out = await retry(exec);

    // Assess
    expect(out.pipelineExecutionId).toBe(exec);
    expect(emitted()).toEqual([
      ["Action", "FAILED", 1],
      ["Stage", "FAILED", 1],
      ["Pipeline", "FAILED", 1],
      ["Pipeline", "RESUMED", 2],
      ["Stage", "RESUMED", 2],
      ["Action", "STARTED", 2],
    ]);
    const resumed = codePipelineOutbox(aws.state)[3];
    expect(resumed.detail["last-retry-attempt-time"]).toEqual(expect.any(String));
    const started = codePipelineOutbox(aws.state)[5];
    const stage = await stateOf();
    const latest = stage?.actionStates?.[0]?.latestExecution;
    expect(latest?.status).toBe("InProgress");
    expect(latest?.actionExecutionId).toBe(started.detail["action-execution-id"]);
    expect(latest?.actionExecutionId).not.toBe(oldRun);
    expect(latest?.token).toEqual(expect.any(String));
    expect(latest?.token).not.toBe(oldToken);
    expect(stage?.latestExecution).toEqual({ pipelineExecutionId: exec, status: "InProgress" });
    // REFERENCE.md: a token from an earlier run answers InvalidApprovalTokenException.
    await expect(decide(oldToken, "Approved", "late")).rejects.toBeInstanceOf(
      InvalidApprovalTokenException,
    );
    await decide(latest?.token ?? "", "Approved", "Approved by Jane");
    const execution = await client.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: exec }),
    );
    expect(execution.pipelineExecution?.status).toBe("InProgress");
  });

  it("FAILED_ACTIONS re-runs only the failed actions; ALL_ACTIONS re-runs every action of the stage", async () => {
    // Prepare: a stage with one succeeded and one failed action, in two executions' worth.
    const runStage = (exec: string) => {
      for (const [action, state] of [
        ["Migrate", "SUCCEEDED"],
        ["Deploy", "FAILED"],
      ]) {
        recordEvent(aws.state, {
          source: "aws.codepipeline",
          "detail-type": "CodePipeline Action Execution State Change",
          time: new Date().toISOString(),
          detail: {
            pipeline: PIPELINE,
            "execution-id": exec,
            stage: "Prod",
            action,
            state,
            "action-execution-id": randomUUID(),
            type: { category: "Deploy", provider: "CodeDeploy", owner: "AWS", version: "1" },
          },
        });
      }
    };
    const a = randomUUID();
    runStage(a);
    // Act
    await retry(a, "FAILED_ACTIONS", "Prod");
    const failedOnly = startedActions();
    aws.reset();
    const b = randomUUID();
    runStage(b);
    await retry(b, "ALL_ACTIONS", "Prod");
    const all = startedActions();
    // Assess
    expect(failedOnly).toEqual(["Deploy"]);
    expect(all).toEqual(["Migrate", "Deploy"]);
  });

  it("refuses a stage that has not failed, an out-of-date execution, an unknown stage and a bad retryMode with the documented errors", async () => {
    const first = randomUUID();
    const second = randomUUID();
    pending(first);
    const notFailed = await retry(first).catch((e: unknown) => e);
    await decide(pending(second), "Rejected", "Rejected by Bob"); // a later run of the stage
    const outdated = await retry(first).catch((e: unknown) => e);
    const unknownStage = await retry(second, "FAILED_ACTIONS", "Nope").catch((e: unknown) => e);
    const badMode = await retry(second, "SOME_ACTIONS").catch((e: unknown) => e);
    expect(notFailed).toBeInstanceOf(StageNotRetryableException);
    expect(outdated).toBeInstanceOf(NotLatestPipelineExecutionException);
    expect(unknownStage).toBeInstanceOf(StageNotFoundException);
    expect(badMode).toBeInstanceOf(ValidationException);
  });
});

describe("request constraints checked before any lookup (API_GetPipelineExecution.html, API_RetryStageExecution.html: pipelineExecutionId Pattern, retryMode Valid Values)", () => {
  /** The error's name and message, or "resolved". */
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => "resolved",
      (e: { name?: string; message?: string }) => `${e.name}: ${e.message}`,
    );
  const PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

  it("GetPipelineExecution: an id that is not of the documented pattern is a ValidationException naming the field (it was PipelineExecutionNotFoundException); an unknown well-formed id is not found", async () => {
    pending(randomUUID());
    const get = (pipelineName: string, pipelineExecutionId: string) =>
      outcome(client.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId })));
    const invalid =
      "ValidationException: 1 validation error detected: Value 'exec-1' at 'pipelineExecutionId' " +
      `failed to satisfy constraint: Member must satisfy regular expression pattern: ${PATTERN}`;
    await expect(get(PIPELINE, "exec-1")).resolves.toBe(invalid);
    // Upper case is not the pattern either; validation comes before the pipeline lookup.
    await expect(get(PIPELINE, randomUUID().toUpperCase())).resolves.toMatch(
      /^ValidationException: .* at 'pipelineExecutionId'/,
    );
    await expect(get("no-such-pipeline", "exec-1")).resolves.toBe(invalid);
    await expect(get(PIPELINE, randomUUID())).resolves.toMatch(
      /^PipelineExecutionNotFoundException: /,
    );
  });

  it("RetryStageExecution: a bad retryMode or execution id is a ValidationException before the stage or pipeline is looked up (a bad retryMode on an unknown stage said StageNotFoundException)", async () => {
    const exec = randomUUID();
    await decide(pending(exec), "Rejected", "Rejected by Bob");
    const enumSet = "Member must satisfy enum value set: [FAILED_ACTIONS, ALL_ACTIONS]";
    await expect(outcome(retry(exec, "SOME_ACTIONS", "Nope"))).resolves.toBe(
      `ValidationException: 1 validation error detected: Value 'SOME_ACTIONS' at 'retryMode' failed to satisfy constraint: ${enumSet}`,
    );
    const unknownPipeline = client.send(
      new RetryStageExecutionCommand({
        pipelineName: "no-such-pipeline",
        stageName: "Approve",
        pipelineExecutionId: exec,
        retryMode: "SOME_ACTIONS" as "FAILED_ACTIONS",
      }),
    );
    await expect(outcome(unknownPipeline)).resolves.toMatch(/^ValidationException: .*'retryMode'/);
    await expect(outcome(retry("exec-1"))).resolves.toBe(
      "ValidationException: 1 validation error detected: Value 'exec-1' at 'pipelineExecutionId' " +
        `failed to satisfy constraint: Member must satisfy regular expression pattern: ${PATTERN}`,
    );
    // Well-formed, the same request reaches the lookups.
    await expect(outcome(retry(exec, "FAILED_ACTIONS", "Nope"))).resolves.toMatch(
      /^StageNotFoundException: /,
    );
  });
});

describe("action-run history (API_ListActionExecutions.html, API_ActionExecution.html)", () => {
  it("ListActionExecutions pages by maxResults (1–100, default 100) with a nextToken, as the SDK's paginator reads it", async () => {
    // Prepare: 150 runs of one execution (a stage of 30 actions, five attempts' worth).
    const exec = randomUUID();
    const model = ensurePipeline(aws.state, PIPELINE);
    for (let i = 0; i < 150; i++) {
      const action = ensureAction(model, "Deploy", `Step${i % 30}`, "Deploy");
      recordEvent(aws.state, {
        source: "aws.codepipeline",
        "detail-type": "CodePipeline Action Execution State Change",
        time: new Date(Date.now() - (150 - i) * 1000).toISOString(),
        detail: {
          pipeline: PIPELINE,
          "execution-id": exec,
          stage: "Deploy",
          action: action.name,
          state: "SUCCEEDED",
          "action-execution-id": randomUUID(),
          "pipeline-execution-attempt": Math.floor(i / 30) + 1,
          type: { category: "Deploy", provider: "CodeDeploy" },
        },
      });
    }
    const filter = { pipelineExecutionId: exec };

    // Act
    const first = await client.send(
      new ListActionExecutionsCommand({ pipelineName: PIPELINE, filter }),
    );
    const all: string[] = [];
    for await (const page of paginateListActionExecutions(
      { client },
      { pipelineName: PIPELINE, filter, maxResults: 40 },
    ))
      all.push(...(page.actionExecutionDetails ?? []).map((d) => String(d.actionExecutionId)));
    const tooMany = client.send(
      new ListActionExecutionsCommand({ pipelineName: PIPELINE, filter, maxResults: 101 }),
    );
    const forged = client.send(
      new ListActionExecutionsCommand({ pipelineName: PIPELINE, filter, nextToken: "bogus" }),
    );

    // Assess
    expect(first.actionExecutionDetails).toHaveLength(100);
    expect(first.nextToken).toEqual(expect.any(String));
    expect(all).toHaveLength(150);
    expect(new Set(all).size).toBe(150);
    await expect(tooMany).rejects.toBeInstanceOf(ValidationException);
    await expect(forged).rejects.toBeInstanceOf(InvalidNextTokenException);
  });

  it("ListActionExecutions returns every run, newest first, filtered by pipelineExecutionId", async () => {
    const exec = randomUUID();
    const other = randomUUID();
    const t0 = new Date(Date.now() - 60_000);
    await decide(pending(exec, { at: t0 }), "Rejected", "Rejected by Bob");
    await retry(exec);
    pending(other);
    const out = await client.send(
      new ListActionExecutionsCommand({
        pipelineName: PIPELINE,
        filter: { pipelineExecutionId: exec },
      }),
    );
    const runs = out.actionExecutionDetails ?? [];
    expect(runs.map((r) => r.status)).toEqual(["InProgress", "Failed"]);
    expect(runs.every((r) => r.pipelineExecutionId === exec)).toBe(true);
    expect(new Set(runs.map((r) => r.actionExecutionId)).size).toBe(2);
    expect(runs[1].output?.executionResult?.externalExecutionSummary).toBe("Rejected by Bob");
    const everything = await client.send(
      new ListActionExecutionsCommand({ pipelineName: PIPELINE }),
    );
    expect(everything.actionExecutionDetails).toHaveLength(3);
  });

  it("ListActionExecutions filtered by an execution the pipeline does not know answers PipelineExecutionNotFoundException, not an empty list", async () => {
    pending(randomUUID());
    const call = client.send(
      new ListActionExecutionsCommand({
        pipelineName: PIPELINE,
        filter: { pipelineExecutionId: randomUUID() },
      }),
    );
    await expect(call).rejects.toMatchObject({ name: "PipelineExecutionNotFoundException" });
  });
});

describe("PARALLEL execution mode (API_PutApprovalResult.html `token`; userguide concepts-how-it-works.html)", () => {
  it("GetPipelineState shows no token and only the latest execution; each execution's run is decided with ListActionExecutions' externalExecutionId", async () => {
    // Prepare
    setExecutionMode(aws.state, PIPELINE, "PARALLEL");
    const older = randomUUID();
    const newer = randomUUID();
    pending(older, { at: new Date(Date.now() - 1000) });
    pending(newer);
    // Act
    const stage = await stateOf();
    const list = await client.send(
      new ListActionExecutionsCommand({
        pipelineName: PIPELINE,
        filter: { pipelineExecutionId: older },
      }),
    );
    const olderToken =
      list.actionExecutionDetails?.[0]?.output?.executionResult?.externalExecutionId;
    await decide(olderToken ?? "", "Approved", "Approved by Jane");
    // Assess
    expect(stage?.latestExecution?.pipelineExecutionId).toBe(newer);
    expect(stage?.actionStates?.[0]?.latestExecution?.status).toBe("InProgress");
    expect(stage?.actionStates?.[0]?.latestExecution?.token).toBeUndefined();
    expect(olderToken).toEqual(expect.any(String));
    expect(codePipelineOutbox(aws.state)[0].detail["execution-id"]).toBe(older);
    const pipeline = await client.send(new GetPipelineCommand({ name: PIPELINE }));
    expect(pipeline.pipeline?.executionMode).toBe("PARALLEL");
    const execution = await client.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: newer }),
    );
    expect(execution.pipelineExecution?.executionMode).toBe("PARALLEL");
  });
});

describe("stopping an execution (userguide pipelines-stop.html: stop and abandon; API_StageExecution.html, API_PipelineExecution.html)", () => {
  it("abandons the waiting approval run, the execution reads Stopped, and so does its stage (it read Succeeded)", async () => {
    const exec = randomUUID();
    const token = pending(exec);
    expect(stopExecution(aws.state, PIPELINE, exec)).toBe(true);
    const stage = await stateOf();
    expect(stage?.latestExecution).toEqual({ pipelineExecutionId: exec, status: "Stopped" });
    expect(stage?.actionStates?.[0]?.latestExecution?.status).toBe("Abandoned");
    const { pipelineExecution } = await client.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: exec }),
    );
    expect(pipelineExecution?.status).toBe("Stopped");
    await expect(decide(token, "Approved", "too late")).rejects.toBeInstanceOf(
      ApprovalAlreadyCompletedException,
    );
  });
});

describe("approval timeouts (userguide approvals-approve-or-reject.html: no response within seven days → Failed; ActionDeclaration timeoutInMinutes)", () => {
  it("a pending approval past 7 days fails with no summary and no execution-result, then the pipeline fails; its token is then already completed", async () => {
    const exec = randomUUID();
    const start = new Date("2026-01-01T00:00:00Z");
    const token = pending(exec, { at: start });
    expect(expireApprovals(aws.state, new Date(start.getTime() + 7 * DAY_MS - 1000))).toEqual([]);
    const expired = expireApprovals(aws.state, new Date(start.getTime() + 7 * DAY_MS));
    expect(expired).toEqual([
      expect.objectContaining({
        executionId: exec,
        token,
        expiresAt: new Date(start.getTime() + 7 * DAY_MS),
      }),
    ]);
    const [action, stage, pipeline] = codePipelineOutbox(aws.state);
    expect(action.detail).toMatchObject({ state: "FAILED", action: "ManualApproval" });
    expect(stage.detail).toMatchObject({ state: "FAILED", stage: "Approve" });
    expect(action.detail).not.toHaveProperty("execution-result");
    expect(pipeline.detail).toMatchObject({ "execution-id": exec, state: "FAILED" });
    const latest = (await stateOf())?.actionStates?.[0]?.latestExecution;
    expect(latest?.status).toBe("Failed");
    expect(latest?.summary).toBeUndefined();
    await expect(decide(token, "Approved", "late")).rejects.toBeInstanceOf(
      ApprovalAlreadyCompletedException,
    );
    const view = codePipelineView(aws.state)[PIPELINE];
    expect(view.approvals.decided).toEqual([
      expect.objectContaining({ outcome: "Expired", token }),
    ]);
  });

  it("GetPipelineState's summary of a waiting approval is its request's comments, and stays when it expires; ListActionExecutions has no result summary; a decision's replaces it", async () => {
    // User guide, "Approve or reject an approval action in CodePipeline", CLI step 2: a waiting
    // approval's latestExecution shows `summary` (the request's comments).
    const customData = "Please check the release notes";
    const exec = randomUUID();
    const start = new Date("2026-01-01T00:00:00Z");
    pending(exec, { at: start, customData });
    expect((await stateOf())?.actionStates?.[0]?.latestExecution?.summary).toBe(customData);
    expireApprovals(aws.state, new Date(start.getTime() + 7 * DAY_MS));
    const latest = (await stateOf())?.actionStates?.[0]?.latestExecution;
    expect(latest).toMatchObject({ status: "Failed", summary: customData });
    const filter = { pipelineExecutionId: exec };
    const listed = await client.send(
      new ListActionExecutionsCommand({ pipelineName: PIPELINE, filter }),
    );
    const result = listed.actionExecutionDetails?.[0]?.output?.executionResult;
    expect(result?.externalExecutionSummary).toBeUndefined();
    await decide(pending(randomUUID(), { customData }), "Rejected", "Wrong build");
    expect((await stateOf())?.actionStates?.[0]?.latestExecution?.summary).toBe("Wrong build");
  });

  it("a per-action timeout (timeoutInMinutes) shortens the expiry, and GetPipeline shows it", async () => {
    const start = new Date("2026-01-01T00:00:00Z");
    pending(randomUUID(), { at: start, timeoutInMinutes: 60 });
    expect(expireApprovals(aws.state, new Date(start.getTime() + 3_600_000))).toHaveLength(1);
    const pipeline = await client.send(new GetPipelineCommand({ name: PIPELINE }));
    expect(pipeline.pipeline?.stages?.[0]?.actions?.[0]?.timeoutInMinutes).toBe(60);
  });
});

describe("rollbacks (API_RollbackStage.html, API_PipelineExecution.html, API_ExecutionTrigger.html; userguide stage-rollback*.html)", () => {
  /** A succeeded execution and a later failed one in stage Prod. */
  const history = () => {
    const good = randomUUID();
    const bad = randomUUID();
    const revision = { name: "Source", revisionId: "good-sha", revisionSummary: "feat: x" };
    const t = Date.now();
    const deploy = (exec: string, state: string, at: number) =>
      recordEvent(aws.state, {
        source: "aws.codepipeline",
        "detail-type": "CodePipeline Action Execution State Change",
        time: new Date(at).toISOString(),
        detail: {
          pipeline: PIPELINE,
          "execution-id": exec,
          stage: "Prod",
          action: "Deploy",
          state,
          "action-execution-id": randomUUID(),
          type: { category: "Deploy", provider: "CodeDeploy" },
        },
      });
    deploy(good, "SUCCEEDED", t - 60_000);
    const model = aws.state.codepipeline.pipelines[PIPELINE];
    model.executions[good].status = "Succeeded";
    model.executions[good].artifactRevisions = [revision];
    model.executions[good].startTime = new Date(t - 60_000);
    aws.addFailedExecution({
      pipeline: PIPELINE,
      executionId: bad,
      stage: "Prod",
      action: "Deploy",
      category: "Deploy",
    });
    void deploy;
    return { good, bad };
  };

  it("RollbackStage starts a new ROLLBACK execution, trigger ManualRollback, with the target's revisions and rollbackMetadata", async () => {
    const { good } = history();
    const out = await client.send(
      new RollbackStageCommand({
        pipelineName: PIPELINE,
        stageName: "Prod",
        targetPipelineExecutionId: good,
      }),
    );
    const id = out.pipelineExecutionId ?? "";
    const execution = await client.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: id }),
    );
    expect(id).not.toBe(good);
    expect(execution.pipelineExecution).toMatchObject({
      status: "InProgress",
      executionType: "ROLLBACK",
      executionMode: "SUPERSEDED",
      rollbackMetadata: { rollbackTargetPipelineExecutionId: good },
      trigger: {
        triggerType: "ManualRollback",
        triggerDetail: expect.stringMatching(/^arn:aws:sts::123456789012:assumed-role\//),
      },
      artifactRevisions: [expect.objectContaining({ revisionId: "good-sha" })],
    });
    expect(codePipelineOutbox(aws.state).at(-1)?.detail).toMatchObject({
      "execution-id": id,
      state: "STARTED",
      "execution-trigger": { "trigger-type": "ManualRollback" },
    });
    finishExecution(aws.state, { pipeline: PIPELINE, executionId: id, status: "Succeeded" });
    expect(codePipelineOutbox(aws.state).at(-1)?.detail).toMatchObject({
      "execution-id": id,
      state: "SUCCEEDED",
    });
  });

  it("refuses an unknown target, a ROLLBACK target and a PARALLEL pipeline with the documented errors", async () => {
    const { good } = history();
    const rollback = (target: string) =>
      client
        .send(
          new RollbackStageCommand({
            pipelineName: PIPELINE,
            stageName: "Prod",
            targetPipelineExecutionId: target,
          }),
        )
        .catch((e: unknown) => e);
    const unknown = await rollback(randomUUID());
    const first = (await rollback(good)) as { pipelineExecutionId: string };
    finishExecution(aws.state, {
      pipeline: PIPELINE,
      executionId: first.pipelineExecutionId,
      status: "Succeeded",
    });
    const ofRollback = await rollback(first.pipelineExecutionId);
    setExecutionMode(aws.state, PIPELINE, "PARALLEL");
    const parallel = await rollback(good);
    expect(unknown).toBeInstanceOf(PipelineExecutionNotFoundException);
    expect(ofRollback).toBeInstanceOf(UnableToRollbackStageException);
    expect(parallel).toBeInstanceOf(UnableToRollbackStageException);
  });

  it("an automated rollback rolls back to the most recent successful execution, trigger AutomatedRollback", async () => {
    const { good, bad } = history();
    const id = rollBackAutomatically(aws.state, {
      pipeline: PIPELINE,
      stage: "Prod",
      failedExecutionId: bad,
    });
    const execution = await client.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: id }),
    );
    expect(execution.pipelineExecution).toMatchObject({
      executionType: "ROLLBACK",
      rollbackMetadata: { rollbackTargetPipelineExecutionId: good },
      trigger: { triggerType: "AutomatedRollback" },
    });
  });
});

describe("SUPERSEDED and QUEUED modes (userguide concepts-how-it-works.html; API_PipelineExecution.html `Superseded`)", () => {
  const declareStage = () => {
    const pipeline = ensurePipeline(aws.state, PIPELINE);
    ensureAction(pipeline, "Approve", "ManualApproval", "Approval").provider = "Manual";
  };

  it("SUPERSEDED (the default): a newer execution reaching a busy stage supersedes the older one waiting there; the stage's next execution enters when it frees", async () => {
    declareStage();
    const [a, b, c] = [0, 1, 2].map(() => startExecution(aws.state, { pipeline: PIPELINE }));
    expect(reachStage(aws.state, { pipeline: PIPELINE, executionId: a, stage: "Approve" })).toBe(
      "entered",
    );
    expect(reachStage(aws.state, { pipeline: PIPELINE, executionId: b, stage: "Approve" })).toBe(
      "waiting",
    );
    expect(reachStage(aws.state, { pipeline: PIPELINE, executionId: c, stage: "Approve" })).toBe(
      "waiting",
    );
    const model = aws.state.codepipeline.pipelines[PIPELINE];
    expect(model.executions[b].status).toBe("Superseded");
    expect(
      codePipelineOutbox(aws.state)
        .filter((e) => e.detail.state === "SUPERSEDED")
        .map((e) => e.detail["execution-id"]),
    ).toEqual([b]);
    const tokenA = (await stateOf())?.actionStates?.[0]?.latestExecution?.token ?? "";
    await decide(tokenA, "Approved", "ok");
    const stage = await stateOf();
    expect(stage?.latestExecution?.pipelineExecutionId).toBe(c);
    expect(stage?.actionStates?.[0]?.latestExecution?.token).not.toBe(tokenA);
    const execution = await client.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: b }),
    );
    expect(execution.pipelineExecution?.status).toBe("Superseded");
  });

  it("an execution entering a stage emits the Stage STARTED event before its actions' (userguide detect-state-changes-cloudwatch-events.html); one held at the stage emits it when it enters", async () => {
    setExecutionMode(aws.state, PIPELINE, "QUEUED");
    declareStage();
    const [a, b] = [0, 1].map(() => startExecution(aws.state, { pipeline: PIPELINE }));
    const stageStarted = () =>
      codePipelineOutbox(aws.state)
        .filter((e) => e["detail-type"].includes("Stage") && e.detail.state === "STARTED")
        .map((e) => [e.detail["execution-id"], e.detail.stage]);
    reachStage(aws.state, { pipeline: PIPELINE, executionId: a, stage: "Approve" });
    reachStage(aws.state, { pipeline: PIPELINE, executionId: b, stage: "Approve" });
    expect(stageStarted()).toEqual([[a, "Approve"]]);
    const levels = codePipelineOutbox(aws.state)
      .filter((e) => e.detail["execution-id"] === a && e.detail.state === "STARTED")
      .map((e) => e["detail-type"].split(" ")[1]);
    expect(levels).toEqual(["Pipeline", "Stage", "Action"]);

    await decide(
      (await stateOf())?.actionStates?.[0]?.latestExecution?.token ?? "",
      "Approved",
      "ok",
    );
    expect(stageStarted()).toEqual([
      [a, "Approve"],
      [b, "Approve"],
    ]);
  });

  it("QUEUED: executions wait their turn in order; none is superseded", async () => {
    setExecutionMode(aws.state, PIPELINE, "QUEUED");
    declareStage();
    const [a, b, c] = [0, 1, 2].map(() => startExecution(aws.state, { pipeline: PIPELINE }));
    for (const id of [a, b, c])
      reachStage(aws.state, { pipeline: PIPELINE, executionId: id, stage: "Approve" });
    await decide(
      (await stateOf())?.actionStates?.[0]?.latestExecution?.token ?? "",
      "Approved",
      "ok",
    );
    const afterA = (await stateOf())?.latestExecution?.pipelineExecutionId;
    await decide(
      (await stateOf())?.actionStates?.[0]?.latestExecution?.token ?? "",
      "Approved",
      "ok",
    );
    const afterB = (await stateOf())?.latestExecution?.pipelineExecutionId;
    expect([afterA, afterB]).toEqual([b, c]);
    expect(codePipelineOutbox(aws.state).some((e) => e.detail.state === "SUPERSEDED")).toBe(false);
    const execution = await client.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: c }),
    );
    expect(execution.pipelineExecution?.executionMode).toBe("QUEUED");
  });
});

describe("recordEvent: a posted event stands for CodePipeline's own", () => {
  const approvalStarted = (exec: string, extra: Record<string, unknown> = {}) => ({
    source: "aws.codepipeline",
    "detail-type": "CodePipeline Action Execution State Change",
    time: new Date().toISOString(),
    detail: {
      pipeline: PIPELINE,
      "execution-id": exec,
      stage: "Approve",
      action: "ManualApproval",
      state: "STARTED",
      type: { owner: "AWS", provider: "Manual", category: "Approval", version: "1" },
      ...extra,
    },
  });

  it("adopts a set-up run's id from the event (the token stays) and issues a new token for a new run of a later attempt", async () => {
    const exec = randomUUID();
    const setupToken = pending(exec);
    const first = randomUUID();
    expect(recordEvent(aws.state, approvalStarted(exec, { "action-execution-id": first }))).toEqual(
      {},
    );
    expect((await stateOf())?.actionStates?.[0]?.latestExecution).toMatchObject({
      actionExecutionId: first,
      token: setupToken,
    });
    const second = randomUUID();
    const { token: issued } = recordEvent(
      aws.state,
      approvalStarted(exec, { "action-execution-id": second, "pipeline-execution-attempt": 2.0 }),
    );
    expect(issued).toEqual(expect.any(String));
    expect(issued).not.toBe(setupToken);
    expect(aws.state.codepipeline.pipelines[PIPELINE].executions[exec].attempt).toBe(2);
    expect((await stateOf())?.actionStates?.[0]?.latestExecution).toMatchObject({
      actionExecutionId: second,
      token: issued,
    });
    await expect(decide(setupToken, "Approved", "old")).rejects.toBeInstanceOf(
      InvalidApprovalTokenException,
    );
    expect(codePipelineOutbox(aws.state)).toEqual([]); // recording emits nothing
  });

  it("a STARTED of a later attempt while the earlier attempt's run is in progress ends that run (a retry re-runs only actions that are not in progress: API_RetryStageExecution.html, userguide pipelines-actions-retry.html); the page shows it decided, its token is invalid", async () => {
    // Prepare: attempt 1's approval run waits for a decision.
    const exec = randomUUID();
    const first = randomUUID();
    const { token: oldToken } = recordEvent(
      aws.state,
      approvalStarted(exec, { "action-execution-id": first }),
    );

    // Act: attempt 2's STARTED is posted (the stage was retried; the run's end was not posted).
    const second = randomUUID();
    const { token } = recordEvent(
      aws.state,
      approvalStarted(exec, { "action-execution-id": second, "pipeline-execution-attempt": 2 }),
    );

    // Assess: one run waits (attempt 2's); attempt 1's is ended, shown decided, its token refused.
    const approvals = codePipelineView(aws.state)[PIPELINE].approvals;
    expect(approvals.pending.map((r) => r.actionExecutionId)).toEqual([second]);
    expect(approvals.decided).toEqual([
      expect.objectContaining({ actionExecutionId: first, outcome: "Abandoned" }),
    ]);
    const runs = aws.state.codepipeline.pipelines[PIPELINE].stages
      .flatMap((st) => st.actions)
      .flatMap((a) => a.runs ?? []);
    expect(runs.filter((r) => r.status === "InProgress").map((r) => r.actionExecutionId)).toEqual([
      second,
    ]);
    await expect(decide(oldToken ?? "", "Approved", "old")).rejects.toBeInstanceOf(
      InvalidApprovalTokenException,
    );
    await decide(token ?? "", "Approved", "new");
  });

  it("learns an unknown execution's trigger and a rollback's type from a Pipeline STARTED event", async () => {
    const exec = randomUUID();
    recordEvent(aws.state, {
      source: "aws.codepipeline",
      "detail-type": "CodePipeline Pipeline Execution State Change",
      time: new Date().toISOString(),
      detail: {
        pipeline: PIPELINE,
        "execution-id": exec,
        state: "STARTED",
        "execution-trigger": {
          "trigger-type": "ManualRollback",
          "trigger-detail": "arn:aws:sts::1:assumed-role/x",
        },
      },
    });
    const execution = await client.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: exec }),
    );
    expect(execution.pipelineExecution).toMatchObject({
      status: "InProgress",
      executionType: "ROLLBACK",
      trigger: { triggerType: "ManualRollback" },
    });
  });
  const approvalEnded = (exec: string, run: string, state: string) =>
    approvalStarted(exec, { "action-execution-id": run, state });
  const pendingView = () =>
    codePipelineView(aws.state)[PIPELINE].approvals.pending.map((r) => r.executionId);

  it("SUPERSEDED: another execution's approval STARTED while a run waits for a decision does not replace it; that execution waits, and enters with a new token when the stage is free", async () => {
    // Prepare: execution A's approval run waits for a decision (stages are locked while an
    // execution is in them: user guide, "How pipeline executions work").
    const [a, b, runA] = [randomUUID(), randomUUID(), randomUUID()];
    const { token: tokenA } = recordEvent(
      aws.state,
      approvalStarted(a, { "action-execution-id": runA }),
    );

    // Act: a STARTED of B's approval is posted by hand.
    const posted = recordEvent(
      aws.state,
      approvalStarted(b, { "action-execution-id": randomUUID() }),
    );

    // Assess: B waits at the stage; A's run, token and request are untouched.
    expect(posted.token).toBeUndefined();
    expect(posted.waiting).toMatch(new RegExp(`execution ${a} is in stage Approve \\(SUPERSEDED`));
    expect((await stateOf())?.actionStates?.[0]?.latestExecution).toMatchObject({
      actionExecutionId: runA,
      status: "InProgress",
      token: tokenA,
    });
    expect(pendingView()).toEqual([a]);
    expect(aws.state.codepipeline.pipelines[PIPELINE].executions[b]).toMatchObject({
      status: "InProgress",
      waitingAt: "Approve",
    });
    expect(codePipelineOutbox(aws.state)).toEqual([]);

    // A third execution arriving supersedes the waiting B (Rule 3), and waits itself.
    const c = randomUUID();
    expect(recordEvent(aws.state, approvalStarted(c)).waiting).toEqual(expect.any(String));
    expect(emitted()).toEqual([["Pipeline", "SUPERSEDED", 1]]);
    expect(codePipelineOutbox(aws.state)[0].detail["execution-id"]).toBe(b);

    // A's run ends (its SUCCEEDED event posted): C enters, with a new run and token of its own.
    recordEvent(aws.state, approvalEnded(a, runA, "SUCCEEDED"));
    const entered = codePipelineOutbox(aws.state).at(-1);
    expect(entered?.detail).toMatchObject({ "execution-id": c, state: "STARTED" });
    const latest = (await stateOf())?.actionStates?.[0]?.latestExecution;
    expect(latest?.actionExecutionId).toBe(entered?.detail["action-execution-id"]);
    expect(latest?.token).toEqual(expect.any(String));
    expect(latest?.token).not.toBe(tokenA);
    expect(pendingView()).toEqual([c]);
  });

  it("an end of an action of a stage its execution still waits for is not recorded: it has no run there, so a retry of that stage is refused and the holder stays pending", async () => {
    // Prepare: A's run waits for a decision; B waits for the stage.
    const [a, b, runA] = [randomUUID(), randomUUID(), randomUUID()];
    const { token } = recordEvent(aws.state, approvalStarted(a, { "action-execution-id": runA }));
    expect(recordEvent(aws.state, approvalStarted(b)).waiting).toEqual(expect.any(String));

    // Act: a FAILED of B's approval is posted by hand (CodePipeline could not have emitted it).
    const failed = recordEvent(aws.state, approvalEnded(b, randomUUID(), "FAILED"));

    // Assess: not recorded; B has no run in the stage, so it cannot be retried there, and A's
    // run is still the one pending, with its token.
    expect(failed.notRecorded).toMatch(new RegExp(`execution ${b} waits to enter stage Approve`));
    await expect(retry(b)).rejects.toBeInstanceOf(StageNotRetryableException);
    expect(pendingView()).toEqual([a]);
    expect((await stateOf())?.actionStates?.[0]?.latestExecution).toMatchObject({
      actionExecutionId: runA,
      token,
    });
  });

  it("a decision of the holding run through PutApprovalResult lets the waiting execution in", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const { token } = recordEvent(aws.state, approvalStarted(a));
    recordEvent(aws.state, approvalStarted(b));
    await decide(token ?? "", "Approved", "Approved by Jane");
    expect(pendingView()).toEqual([b]);
    expect(startedActions()).toEqual(["ManualApproval"]);
  });

  it("a posted end of the holding execution (Pipeline STOPPED) abandons its waiting run and lets the waiting execution in", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const { token } = recordEvent(aws.state, approvalStarted(a));
    expect(recordEvent(aws.state, approvalStarted(b)).waiting).toEqual(expect.any(String));

    recordEvent(aws.state, {
      source: "aws.codepipeline",
      "detail-type": "CodePipeline Pipeline Execution State Change",
      time: new Date().toISOString(),
      detail: { pipeline: PIPELINE, "execution-id": a, state: "STOPPED" },
    });

    expect(pendingView()).toEqual([b]);
    const decided = codePipelineView(aws.state)[PIPELINE].approvals.decided;
    expect(decided).toEqual([expect.objectContaining({ executionId: a, outcome: "Abandoned" })]);
    await expect(decide(token ?? "", "Approved", "late")).rejects.toBeInstanceOf(
      InvalidApprovalTokenException,
    );
  });

  it("PARALLEL: another execution's approval STARTED is a run of its own; both tokens stay valid", async () => {
    setExecutionMode(aws.state, PIPELINE, "PARALLEL");
    const [a, b] = [randomUUID(), randomUUID()];
    const first = recordEvent(aws.state, approvalStarted(a));
    const second = recordEvent(aws.state, approvalStarted(b));
    expect(second.waiting).toBeUndefined();
    expect(pendingView().sort()).toEqual([a, b].sort());
    await decide(first.token ?? "", "Approved", "a");
    await decide(second.token ?? "", "Approved", "b");
  });

  it("a second run of the same execution and attempt while its run waits is not recorded (a new run needs a stage retry); the waiting run keeps its token", async () => {
    const exec = randomUUID();
    const { token } = recordEvent(
      aws.state,
      approvalStarted(exec, { "action-execution-id": randomUUID() }),
    );
    const again = recordEvent(
      aws.state,
      approvalStarted(exec, { "action-execution-id": randomUUID() }),
    );
    expect(again.notRecorded).toMatch(/still in progress; another run needs a stage retry/);
    expect((await stateOf())?.actionStates?.[0]?.latestExecution?.token).toBe(token);
    await decide(token ?? "", "Approved", "Approved by Jane");
  });

  it.each([
    [
      "an execution id that is no UUID",
      { "execution-id": "exec-1" },
      /detail.execution-id "exec-1" is no pipeline execution id/,
    ],
    [
      "an execution id over DynamoDB's key size",
      { "execution-id": "a".repeat(1100) },
      /detail.execution-id/,
    ],
    [
      "a state no CodePipeline event has",
      { state: "EXPLODED" },
      /detail.state "EXPLODED" is none of/,
    ],
    ["no state", { state: undefined }, /detail.state missing/],
    [
      "a pipeline name CodePipeline refuses",
      { pipeline: "main app" },
      /detail.pipeline "main app" is no pipeline name/,
    ],
  ])(
    "an event CodePipeline could not have emitted (%s) is not recorded: no execution, no run",
    (_what, patch, reason) => {
      const exec = randomUUID();
      const event = approvalStarted(exec);
      const result = recordEvent(aws.state, { ...event, detail: { ...event.detail, ...patch } });
      expect(result.notRecorded).toMatch(reason);
      expect(result.notRecorded).toMatch(/^CodePipeline could not have emitted it: /);
      expect(Object.keys(aws.state.codepipeline.pipelines[PIPELINE]?.executions ?? {})).toEqual([]);
      expect(codePipelineView(aws.state)[PIPELINE]?.approvals.pending ?? []).toEqual([]);
    },
  );
});
