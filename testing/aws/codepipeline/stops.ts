/**
 * Stopping an execution, as StopPipelineExecution does, with the events CodePipeline emits.
 *
 * Sources:
 * - API_StopPipelineExecution.html
 *   (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_StopPipelineExecution.html):
 *   "While completing or abandoning in-progress actions, the pipeline execution is in a Stopping
 *   state. After all in-progress actions are completed or abandoned, the pipeline execution is in
 *   a Stopped state"; `abandon` (default false), `reason` (≤ 200 characters); errors
 *   DuplicatedStopRequestException ("If you already chose to stop and wait, you cannot make that
 *   request again. You can choose to stop and abandon now … If you already chose to stop and
 *   abandon, you cannot make that request again"), PipelineExecutionNotStoppableException.
 * - User guide, "Stop a pipeline execution in CodePipeline"
 *   (https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-stop.html): stop and
 *   wait — "The execution is in a Stopping state until the in-progress actions are complete.
 *   Then the execution is in a Stopped state. The stage unlocks after the actions are complete";
 *   stop and abandon — "The execution is in a Stopping state for a very short time while the
 *   in-progress actions are abandoned. After the execution is stopped, the action execution is in
 *   an Abandoned state while the pipeline execution is in a Stopped state. The stage unlocks." An
 *   inbound execution (waiting to enter a stage) that is stopped "does not enter the stage".
 * - User guide, "Monitoring CodePipeline events"
 *   (https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html):
 *   the Pipeline STOPPING event carries `stop-execution-comments` (the request's reason); Stage
 *   STOPPING and STOPPED events; the Action ABANDONED event (no `execution-result`). The page
 *   shows `stop-execution-comments` on the Pipeline STOPPING event only, so only that one carries
 *   it here; the order of the events is not documented (EventBridge does not order them): the
 *   stand-in emits Pipeline STOPPING, Stage STOPPING, Action ABANDONED, Stage STOPPED, Pipeline
 *   STOPPED.
 * - API_StopExecutionTrigger.html: ListPipelineExecutions' `stopTrigger.reason` (history.ts);
 *   GetPipelineExecution's PipelineExecution has no stop field (API_PipelineExecution.html).
 */
import { serviceError, type AwsState, type ServiceError } from "../core";
import { admitWaiting } from "./executions";
import {
  latestRunOf,
  pipelineOf,
  updateRun,
  type ActionRun,
  type ModelAction,
  type ModelExecution,
  type ModelPipeline,
  type ModelStage,
} from "./model";
import { emitActionEvent, emitPipelineEvent, emitStageEvent } from "./outbox";
import { requireExecutionId } from "./validate";

/** StopPipelineExecution `reason`: "Length Constraints: Maximum length of 200." */
export const STOP_REASON_MAX = 200;

/** How {@link stopExecution} stops. */
export interface StopOptions {
  /**
   * true (the helper's default, as before): stop and abandon; false: stop and wait — runs in
   * progress go on, and the execution is `Stopping` until the last one ends (a decision or an
   * expiry of an approval: approvals.ts calls {@link settleStop}).
   */
  abandon?: boolean;
  /** The request's `reason`: `stop-execution-comments` and `stopTrigger.reason`. */
  reason?: string;
}

interface InProgress {
  stage: ModelStage;
  action: ModelAction;
  run: ActionRun;
}

/** The execution's action runs still in progress, stage by stage. */
function inProgressRuns(pipeline: ModelPipeline, executionId: string): InProgress[] {
  return pipeline.stages.flatMap((stage) =>
    stage.actions.flatMap((action) => {
      const run = latestRunOf(action, executionId);
      return run?.status === "InProgress" ? [{ stage, action, run }] : [];
    }),
  );
}

/** What a stop applies to: the scope's state, the pipeline's name and the execution. */
interface StopTarget {
  state: AwsState;
  name: string;
  pipeline: ModelPipeline;
  executionId: string;
  execution: ModelExecution;
}

/** A new stop request: `Stopping`, the Pipeline STOPPING event and each stage's STOPPING. */
function beginStop(target: StopTarget, options: StopOptions, at: Date): void {
  const { state, name, executionId, execution } = target;
  const stages = [
    ...new Set(inProgressRuns(target.pipeline, executionId).map((r) => r.stage.name)),
  ];
  execution.status = "Stopping";
  execution.stop = { abandon: false, reason: options.reason, stages, requestedAt: at };
  // An inbound execution that is stopped "does not enter the stage" (pipelines-stop.html).
  execution.waitingAt = undefined;
  execution.waitingSince = undefined;
  emitPipelineEvent(state, { pipeline: name, executionId, execution, state: "STOPPING" }, at);
  for (const stage of stages) {
    emitStageEvent(state, { pipeline: name, executionId, execution, stage, state: "STOPPING" }, at);
  }
}

/** Abandons the execution's runs in progress: each run `Abandoned`, its Action ABANDONED event. */
function abandonRuns(target: StopTarget, at: Date): void {
  const { state, name, execution } = target;
  for (const { stage, action, run } of inProgressRuns(target.pipeline, target.executionId)) {
    updateRun(action, run, { status: "Abandoned", lastUpdateTime: at });
    emitActionEvent(
      state,
      {
        pipeline: name,
        execution,
        stage: stage.name,
        action,
        run,
        state: "ABANDONED",
        withResult: false,
      },
      at,
    );
  }
}

/**
 * Ends a `Stopping` execution once none of its runs is in progress any more: each stage it was
 * in STOPPED, then the execution `Stopped` (Pipeline STOPPED), and the stages unlock — an
 * execution waiting for one of them enters it. Called when a run of a stop-and-wait execution
 * ends (approvals.ts). @returns whether the execution is now `Stopped`.
 */
export function settleStop(state: AwsState, name: string, executionId: string, at: Date): boolean {
  const pipeline = pipelineOf(state, name);
  const execution = pipeline.executions[executionId];
  if (execution?.status !== "Stopping" || inProgressRuns(pipeline, executionId).length > 0)
    return false;
  const stages = execution.stop?.stages ?? [];
  for (const stage of stages) {
    emitStageEvent(state, { pipeline: name, executionId, execution, stage, state: "STOPPED" }, at);
  }
  execution.status = "Stopped";
  if (execution.stop) execution.stop.stoppedAt = at;
  emitPipelineEvent(state, { pipeline: name, executionId, execution, state: "STOPPED" }, at);
  for (const stage of stages) admitWaiting(state, name, stage, at);
  return true;
}

/**
 * What a posted Pipeline STOPPING or STOPPED event (record.ts) tells of the stop: that there was
 * one, its reason (`stop-execution-comments`), and the stages the execution was in. How it was
 * asked is not in the event: an unknown stop counts as stop and wait, which may still be
 * abandoned. A stop the model already holds keeps what it knows, gaining a reason it lacked.
 */
export function recordStop(
  pipeline: ModelPipeline,
  executionId: string,
  reason: string | undefined,
  at: Date,
): void {
  const execution = pipeline.executions[executionId];
  if (!execution) return;
  const stages = [...new Set(inProgressRuns(pipeline, executionId).map((r) => r.stage.name))];
  execution.stop ??= { abandon: false, stages, requestedAt: at };
  execution.stop.reason ??= reason;
}

/** Why `execution` cannot be stopped as asked, as StopPipelineExecution answers; else undefined. */
function refusal(
  execution: ModelExecution | undefined,
  abandon: boolean,
): ServiceError | undefined {
  if (execution?.status === "Stopping") {
    if (abandon && execution.stop?.abandon !== true) return undefined;
    return serviceError(
      "DuplicatedStopRequestException",
      execution.stop?.abandon
        ? "The pipeline execution is already being stopped by abandoning its actions"
        : "The pipeline execution is already in a Stopping state; it can still be stopped by abandoning",
    );
  }
  if (execution?.status === "InProgress") return undefined;
  return serviceError(
    "PipelineExecutionNotStoppableException",
    `Unable to stop the pipeline execution: it is ${execution?.status ?? "unknown"}, not in progress`,
  );
}

/** Stops the target (the request was checked): see {@link stopExecution}. */
function stop(target: StopTarget, options: StopOptions, at: Date): void {
  const abandon = options.abandon ?? true;
  if (target.execution.status === "InProgress") beginStop(target, options, at);
  if (abandon && target.execution.stop) target.execution.stop.abandon = true;
  if (abandon) abandonRuns(target, at);
  settleStop(target.state, target.name, target.executionId, at);
}

/**
 * Stops execution `executionId` of pipeline `name` (in `state`'s own account and region) as
 * StopPipelineExecution does, emitting CodePipeline's events (module comment) to the outbox and
 * the `onCodePipelineEvent` listeners. By default it stops and abandons: Pipeline and Stage
 * STOPPING, each run in progress `Abandoned` (Action ABANDONED; an approval's token no longer
 * decides), Stage and Pipeline STOPPED, and an execution waiting for a stage it held enters it.
 * `{ abandon: false }` stops and waits (the execution stays `Stopping` until its runs end);
 * `abandon` then escalates a `Stopping` execution. `reason` is recorded for `stopTrigger`.
 * @returns false, changing nothing, when the execution is unknown or cannot be stopped so
 *   (not in progress, or already stopping in that way).
 */
export function stopExecution(
  state: AwsState,
  name: string,
  executionId: string,
  at = new Date(),
  options: StopOptions = {},
): boolean {
  const pipeline = state.codepipeline.pipelines[name];
  const execution = pipeline?.executions[executionId];
  if (!execution || refusal(execution, options.abandon ?? true)) return false;
  stop({ state, name, pipeline, executionId, execution }, options, at);
  return true;
}

/**
 * StopPipelineExecution (API_StopPipelineExecution.html): `abandon` defaults to false (stop and
 * wait, as the CLI's default). @returns `{ pipelineExecutionId }`.
 * @throws ValidationException (`pipelineExecutionId` not of the documented pattern, `reason`
 *   longer than 200 characters or not a string, `abandon` not a boolean; before any lookup),
 *   PipelineNotFoundException, PipelineExecutionNotStoppableException (unknown or not in
 *   progress), DuplicatedStopRequestException.
 */
export function stopPipelineExecution(
  state: AwsState,
  input: Record<string, unknown>,
  at: Date = new Date(),
): { pipelineExecutionId: string } {
  const id = requireExecutionId(input, "pipelineExecutionId");
  const { reason, abandon } = input;
  if (reason !== undefined && (typeof reason !== "string" || reason.length > STOP_REASON_MAX)) {
    throw serviceError(
      "ValidationException",
      `1 validation error detected: Value at 'reason' failed to satisfy constraint: Member must have length less than or equal to ${STOP_REASON_MAX}`,
    );
  }
  if (abandon !== undefined && typeof abandon !== "boolean")
    throw serviceError("ValidationException", "abandon must be a boolean");
  const name = String(input.pipelineName);
  const pipeline = pipelineOf(state, name);
  const execution = pipeline.executions[id];
  const refused = refusal(execution, abandon === true);
  if (refused) throw refused;
  const options = { abandon: abandon === true, reason: reason as string | undefined };
  stop({ state, name, pipeline, executionId: id, execution }, options, at);
  return { pipelineExecutionId: id };
}
