/**
 * The execution lifecycle of the CodePipeline model: starting executions, stages entered or
 * waited for in each execution mode, stage retries (new attempt, new action runs) and
 * finished executions. Each state change emits the events CodePipeline would (outbox.ts).
 *
 * Sources: userguide/concepts-how-it-works.html (execution modes: "SUPERSEDED mode: A more recent
 * execution can overtake an older one"; QUEUED: "processed one by one in the order that they are
 * queued"; PARALLEL: "run simultaneously and independently"); API_PipelineExecution.html
 * (`Superseded`: "While this pipeline execution was waiting for the next stage to be completed, a
 * newer pipeline execution advanced and continued through the pipeline instead");
 * API_RetryStageExecution.html. Rollbacks: rollbacks.ts.
 */
import { randomUUID } from "node:crypto";
import { serviceError, type AwsState } from "../core";
import {
  ensureAction,
  ensurePipeline,
  latestRunOf,
  modeOf,
  pipelineOf,
  runsOf,
  startRun,
  stageOf,
  type ExecutionMode,
  type ExecutionStatus,
  type ModelArtifactRevision,
  type ModelExecution,
  type ModelPipeline,
  type ModelStage,
  type ModelTrigger,
} from "./model";
import { emitActionEvent, emitPipelineEvent, emitStageEvent } from "./outbox";
import { requireEnum, requireExecutionId, RETRY_MODES } from "./validate";

/** Input of {@link addFailedExecution}. */
export interface FailedExecutionInput {
  pipeline: string;
  executionId: string;
  stage: string;
  action: string;
  category: string;
  provider?: string;
  errorCode?: string;
  summary?: string;
  externalExecutionUrl?: string;
  revision?: ModelArtifactRevision;
  trigger?: ModelTrigger;
  /** The attempt that failed (default: the execution's current attempt, or 1). */
  attempt?: number;
  /** The failed run's id (default: a random UUID). */
  actionExecutionId?: string;
  at?: Date;
}

/**
 * Adds a failed execution with its failed action run to the model (no events: a setup helper;
 * scenarios post the events themselves).
 */
export function addFailedExecution(state: AwsState, input: FailedExecutionInput): void {
  const pipeline = ensurePipeline(state, input.pipeline);
  const at = input.at ?? new Date();
  const action = ensureAction(pipeline, input.stage, input.action, input.category);
  action.category = input.category;
  action.provider = input.provider;
  const known = pipeline.executions[input.executionId];
  const attempt = input.attempt ?? known?.attempt ?? 1;
  startRun(action, {
    executionId: input.executionId,
    attempt,
    at,
    status: "Failed",
    summary: input.summary,
    errorCode: input.errorCode,
    externalExecutionUrl: input.externalExecutionUrl,
    actionExecutionId: input.actionExecutionId,
    adoptable: input.actionExecutionId === undefined,
  });
  pipeline.executions[input.executionId] = {
    ...known,
    status: "Failed",
    startTime: known?.startTime ?? at,
    attempt,
    executionMode: known?.executionMode ?? modeOf(pipeline),
    trigger: input.trigger ?? known?.trigger,
    artifactRevisions: input.revision ? [input.revision] : known?.artifactRevisions,
  };
}

/** Sets a pipeline's execution mode (GetPipeline `pipeline.executionMode`), creating it if needed. */
export function setExecutionMode(state: AwsState, pipeline: string, mode: ExecutionMode): void {
  ensurePipeline(state, pipeline).executionMode = mode;
}

/** Input of {@link startExecution}. */
export interface StartExecutionInput {
  pipeline: string;
  /** Default: a random UUID, like CodePipeline's execution ids. */
  executionId?: string;
  trigger?: ModelTrigger;
  revision?: ModelArtifactRevision;
  at?: Date;
}

/** Starts a STANDARD execution (attempt 1) and emits its Pipeline STARTED event; returns its id. */
export function startExecution(state: AwsState, input: StartExecutionInput): string {
  const pipeline = ensurePipeline(state, input.pipeline);
  const at = input.at ?? new Date();
  const id = input.executionId ?? randomUUID();
  const execution: ModelExecution = {
    status: "InProgress",
    startTime: at,
    attempt: 1,
    executionMode: modeOf(pipeline),
    executionType: "STANDARD",
    trigger: input.trigger,
    artifactRevisions: input.revision ? [input.revision] : undefined,
  };
  pipeline.executions[id] = execution;
  emitPipelineEvent(
    state,
    { pipeline: input.pipeline, executionId: id, execution, state: "STARTED" },
    at,
  );
  return id;
}

/**
 * Whether another execution holds the stage (an action's latest run in progress for it): in
 * QUEUED and SUPERSEDED mode a stage runs one execution at a time (user guide, "How pipeline
 * executions work": stages are locked while an execution is in them).
 */
export function stageBusy(
  pipeline: ModelPipeline,
  stage: ModelStage,
  executionId: string,
): boolean {
  if (modeOf(pipeline) === "PARALLEL") return false;
  return stage.actions.some(
    (a) => runsOf(a).length > 0 && a.status === "InProgress" && a.executionId !== executionId,
  );
}

/**
 * The execution enters the stage: the Stage STARTED event (a stage execution's states include
 * STARTED: userguide detect-state-changes-cloudwatch-events.html; the notification rule events
 * list "pipeline stage execution started"), then every action of the stage starts a new run.
 */
function enterStage(
  state: AwsState,
  name: string,
  stage: ModelStage,
  executionId: string,
  at: Date,
): void {
  const pipeline = pipelineOf(state, name);
  const execution = pipeline.executions[executionId];
  execution.waitingAt = undefined;
  execution.waitingSince = undefined;
  emitStageEvent(
    state,
    { pipeline: name, executionId, execution, stage: stage.name, state: "STARTED" },
    at,
  );
  for (const action of stage.actions) {
    const run = startRun(action, { executionId, attempt: execution.attempt ?? 1, at });
    emitActionEvent(
      state,
      { pipeline: name, execution, stage: stage.name, action, run, state: "STARTED" },
      at,
    );
  }
}

/**
 * Lets the oldest execution waiting at the stage in (QUEUED / SUPERSEDED), once the stage is free.
 */
export function admitWaiting(state: AwsState, name: string, stageName: string, at: Date): void {
  const pipeline = pipelineOf(state, name);
  const stage = stageOf(pipeline, stageName);
  const waiting = Object.entries(pipeline.executions)
    .filter(([, e]) => e.waitingAt === stageName && e.status === "InProgress")
    .sort(([, a], [, b]) => (a.waitingSince?.getTime() ?? 0) - (b.waitingSince?.getTime() ?? 0));
  const next = waiting[0];
  if (!next || stageBusy(pipeline, stage, next[0])) return;
  enterStage(state, name, stage, next[0], at);
}

/** Input of {@link reachStage}. */
export interface ReachStageInput {
  pipeline: string;
  executionId: string;
  /** A stage the model knows, with its actions (addPendingApproval / ensureAction declare them). */
  stage: string;
  at?: Date;
}

/**
 * The execution has finished the stages before `stage` and reaches it. PARALLEL: it enters at
 * once. QUEUED / SUPERSEDED: it enters when no other execution holds the stage, else it waits; in
 * SUPERSEDED mode it then supersedes any older execution waiting at that stage (status
 * `Superseded`, Pipeline event state SUPERSEDED). Entering starts a new run of every action of
 * the stage (an approval run with a new token) and emits their STARTED events.
 * @returns "entered" or "waiting".
 * @throws StageNotFoundException / PipelineNotFoundException; an Error for an unknown execution.
 */
export function reachStage(state: AwsState, input: ReachStageInput): "entered" | "waiting" {
  const pipeline = pipelineOf(state, input.pipeline);
  const stage = stageOf(pipeline, input.stage);
  const execution = pipeline.executions[input.executionId];
  if (!execution) throw new Error(`reachStage: unknown execution ${input.executionId}`);
  const at = input.at ?? new Date();
  if (!stageBusy(pipeline, stage, input.executionId)) {
    enterStage(state, input.pipeline, stage, input.executionId, at);
    return "entered";
  }
  if (modeOf(pipeline) === "SUPERSEDED") {
    for (const [id, older] of Object.entries(pipeline.executions)) {
      if (id === input.executionId || older.waitingAt !== stage.name) continue;
      if (older.status !== "InProgress") continue;
      older.status = "Superseded";
      older.statusSummary = `Superseded by execution ${input.executionId}`;
      older.waitingAt = undefined;
      emitPipelineEvent(
        state,
        { pipeline: input.pipeline, executionId: id, execution: older, state: "SUPERSEDED" },
        at,
      );
    }
  }
  execution.waitingAt = stage.name;
  execution.waitingSince = at;
  return "waiting";
}

/** Event state of a finished execution's status. */
const FINISHED_STATE: Partial<Record<ExecutionStatus, string>> = {
  Succeeded: "SUCCEEDED",
  Failed: "FAILED",
  Stopped: "STOPPED",
  Cancelled: "CANCELED",
};

/** Ends an execution with `status` and emits its Pipeline event (e.g. a rollback SUCCEEDED). */
export function finishExecution(
  state: AwsState,
  input: {
    pipeline: string;
    executionId: string;
    status: "Succeeded" | "Failed" | "Stopped" | "Cancelled";
    at?: Date;
  },
): void {
  const pipeline = pipelineOf(state, input.pipeline);
  const execution = pipeline.executions[input.executionId];
  if (!execution) throw new Error(`finishExecution: unknown execution ${input.executionId}`);
  const at = input.at ?? new Date();
  execution.status = input.status;
  execution.waitingAt = undefined;
  emitPipelineEvent(
    state,
    {
      pipeline: input.pipeline,
      executionId: input.executionId,
      execution,
      state: FINISHED_STATE[input.status] ?? "FAILED",
    },
    at,
  );
}

/** Fails an execution after one of its action runs failed, and emits the Pipeline FAILED event. */
export function failExecution(state: AwsState, name: string, executionId: string, at: Date): void {
  const execution = pipelineOf(state, name).executions[executionId];
  if (!execution || execution.status !== "InProgress") return;
  finishExecution(state, { pipeline: name, executionId, status: "Failed", at });
}

/** The execution whose run in the stage is the most recent (what GetPipelineState shows). */
export function stageLatestExecution(stage: ModelStage): string | undefined {
  let latest: { id: string; at: number } | undefined;
  for (const action of stage.actions) {
    const run = runsOf(action).at(-1);
    if (run && (!latest || run.startTime.getTime() >= latest.at))
      latest = { id: run.pipelineExecutionId, at: run.startTime.getTime() };
  }
  return latest?.id;
}

/**
 * RetryStageExecution (API_RetryStageExecution.html): retries the failed actions
 * (`FAILED_ACTIONS`) or every action (`ALL_ACTIONS`) of a failed stage under the same pipeline
 * execution id: the attempt goes up, the execution is InProgress again (Pipeline and Stage
 * RESUMED events with `last-retry-attempt-time`), and each retried action starts a new run (new
 * `actionExecutionId`; an approval run gets a new token, the old one is no longer valid).
 * @throws ValidationException (`pipelineExecutionId` not of the documented pattern, `retryMode`
 *   not FAILED_ACTIONS | ALL_ACTIONS; before any lookup), PipelineNotFoundException,
 *   StageNotFoundException, NotLatestPipelineExecutionException (the stage ran a later execution since), and
 *   StageNotRetryableException (the stage has no failed action in that execution, or ALL_ACTIONS
 *   while an action is still in progress: "the stage cannot have any actions in progress").
 */
export function retryStageExecution(
  state: AwsState,
  input: Record<string, unknown>,
  at: Date = new Date(),
): { pipelineExecutionId: string } {
  // The request's constraints first, as AWS validates a request before any lookup (validate.ts).
  const id = requireExecutionId(input, "pipelineExecutionId");
  const retryMode = requireEnum(input, "retryMode", RETRY_MODES);
  const name = String(input.pipelineName);
  const pipeline = pipelineOf(state, name);
  const stage = stageOf(pipeline, input.stageName);
  const execution = pipeline.executions[id];
  const runs = stage.actions.map((action) => ({ action, run: latestRunOf(action, id) }));
  if (!execution || runs.every((r) => !r.run))
    throw serviceError("StageNotRetryableException", `Stage ${stage.name} has not run in ${id}`);
  const latest = stageLatestExecution(stage);
  if (modeOf(pipeline) !== "PARALLEL" && latest !== undefined && latest !== id) {
    throw serviceError(
      "NotLatestPipelineExecutionException",
      `Stage ${stage.name} has run a later execution (${latest}) since ${id}`,
    );
  }
  const failed = runs.filter((r) => r.run?.status === "Failed");
  const running = runs.some((r) => r.run?.status === "InProgress");
  if (failed.length === 0 || (retryMode === "ALL_ACTIONS" && running)) {
    throw serviceError(
      "StageNotRetryableException",
      `Stage ${stage.name} of ${id} cannot be retried: ${failed.length === 0 ? "no failed actions" : "actions in progress"}`,
    );
  }
  execution.attempt = (execution.attempt ?? 1) + 1;
  execution.status = "InProgress";
  execution.lastRetryAt = at;
  emitPipelineEvent(state, { pipeline: name, executionId: id, execution, state: "RESUMED" }, at);
  emitStageEvent(
    state,
    { pipeline: name, executionId: id, execution, stage: stage.name, state: "RESUMED" },
    at,
  );
  const retried = retryMode === "ALL_ACTIONS" ? stage.actions : failed.map((r) => r.action);
  for (const action of retried) {
    const run = startRun(action, { executionId: id, attempt: execution.attempt, at });
    emitActionEvent(
      state,
      { pipeline: name, execution, stage: stage.name, action, run, state: "STARTED" },
      at,
    );
  }
  return { pipelineExecutionId: id };
}
