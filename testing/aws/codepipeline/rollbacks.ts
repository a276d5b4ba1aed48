/**
 * Rollbacks in the CodePipeline model (pipeline type V2): RollbackStage and the automated rollback
 * of a stage configured to roll back on failure. A rollback is a new execution of type ROLLBACK
 * with a rollback target (API_RollbackStage.html, API_PipelineExecution.html `executionType`,
 * API_PipelineRollbackMetadata.html, API_ExecutionTrigger.html `ManualRollback |
 * AutomatedRollback`; userguide/stage-rollback.html, stage-rollback-auto.html,
 * stage-rollback-view-details.html).
 */
import { randomUUID } from "node:crypto";
import { STANDIN_ACCOUNT, serviceError, type AwsState } from "../core";
import {
  latestRunOf,
  modeOf,
  pipelineOf,
  runsOf,
  stageOf,
  type ModelExecution,
  type ModelStage,
  type ModelTrigger,
} from "./model";
import { emitPipelineEvent } from "./outbox";

/** Whether the target execution succeeded in the stage (rollback targets must have). */
function succeededIn(stage: ModelStage, target: ModelExecution, targetId: string): boolean {
  const runs = stage.actions.map((a) => latestRunOf(a, targetId)).filter((r) => r !== undefined);
  if (runs.length === 0) return target.status === "Succeeded";
  return runs.every((r) => r.status === "Succeeded");
}

/**
 * Starts a ROLLBACK execution of the stage to the target execution (shared by RollbackStage and
 * the automated rollback): a new execution id, `executionType` ROLLBACK,
 * `rollbackMetadata.rollbackTargetPipelineExecutionId`, the target's source revisions
 * (userguide/stage-rollback.html: "CodePipeline will use the variables and artifacts from the
 * execution to which it is rolling back"), and a Pipeline STARTED event.
 */
function startRollback(
  state: AwsState,
  input: { pipelineName: unknown; stageName: unknown; targetPipelineExecutionId: unknown },
  trigger: ModelTrigger,
  at: Date,
): string {
  const name = String(input.pipelineName);
  const pipeline = pipelineOf(state, name);
  const stage = stageOf(pipeline, input.stageName);
  const unable = (why: string) =>
    serviceError("UnableToRollbackStageException", `Unable to roll back ${stage.name}: ${why}`);
  // userguide/execution-modes.html: "For pipelines in PARALLEL mode, stage rollback is not available."
  if (modeOf(pipeline) === "PARALLEL")
    throw unable("stage rollback is not available in PARALLEL mode");
  const targetId = String(input.targetPipelineExecutionId);
  const target = pipeline.executions[targetId];
  if (!target) {
    throw serviceError("PipelineExecutionNotFoundException", `Execution ${targetId} not found`);
  }
  // userguide/stage-rollback.html: "You cannot roll back to a target execution ID that is a
  // rollback execution type."
  if (target.executionType === "ROLLBACK") throw unable(`${targetId} is a rollback execution`);
  if (!succeededIn(stage, target, targetId))
    throw unable(`${targetId} did not succeed in the stage`);
  if (stage.actions.some((a) => runsOf(a).length > 0 && a.status === "InProgress"))
    throw unable("the stage is currently running");
  const id = randomUUID();
  const execution: ModelExecution = {
    status: "InProgress",
    startTime: at,
    attempt: 1,
    executionMode: modeOf(pipeline),
    executionType: "ROLLBACK",
    rollbackTargetExecutionId: targetId,
    trigger,
    artifactRevisions: target.artifactRevisions?.map((r) => ({ ...r })),
  };
  pipeline.executions[id] = execution;
  emitPipelineEvent(state, { pipeline: name, executionId: id, execution, state: "STARTED" }, at);
  return id;
}

/** The caller ARN the stand-in reports for API calls (a role session, like the docs' example). */
export const STANDIN_CALLER_ARN = `arn:aws:sts::${STANDIN_ACCOUNT}:assumed-role/standin-caller/standin`;

/**
 * RollbackStage (API_RollbackStage.html): a new execution of type ROLLBACK, trigger
 * `ManualRollback` with the caller's ARN as `triggerDetail` (userguide/stage-rollback-view-details.html).
 * @throws PipelineNotFoundException, StageNotFoundException, PipelineExecutionNotFoundException,
 *   UnableToRollbackStageException (PARALLEL mode, a ROLLBACK target, a target that did not
 *   succeed in the stage, the stage running).
 */
export function rollbackStage(
  state: AwsState,
  input: Record<string, unknown>,
  at: Date = new Date(),
): { pipelineExecutionId: string } {
  const trigger = { triggerType: "ManualRollback", triggerDetail: STANDIN_CALLER_ARN };
  return { pipelineExecutionId: startRollback(state, input as never, trigger, at) };
}

/** Input of {@link rollBackAutomatically}. */
export interface AutomatedRollbackInput {
  pipeline: string;
  stage: string;
  /** The failed execution whose stage failure triggers the rollback. */
  failedExecutionId: string;
  /** Default: the most recent successful STANDARD execution (userguide/stage-rollback-auto.html). */
  targetExecutionId?: string;
  at?: Date;
}

/**
 * What CodePipeline does for a stage configured to roll back on failure
 * (userguide/stage-rollback-auto.html: "When the stage fails, the stage is rolled back to the most
 * recent successful execution"): a ROLLBACK execution with trigger `AutomatedRollback`. Its
 * `triggerDetail` is the failed execution's id — AWS does not document that field's content for
 * automated rollbacks; this is the stand-in's choice, so do not parse it as a contract.
 * @returns the rollback execution's id.
 * @throws an Error when the failed execution is not Failed or there is no successful execution
 *   to roll back to; the RollbackStage errors otherwise.
 */
export function rollBackAutomatically(state: AwsState, input: AutomatedRollbackInput): string {
  const pipeline = pipelineOf(state, input.pipeline);
  const failed = pipeline.executions[input.failedExecutionId];
  if (failed?.status !== "Failed")
    throw new Error(`automated rollback: ${input.failedExecutionId} is not a failed execution`);
  const target =
    input.targetExecutionId ??
    Object.entries(pipeline.executions)
      .filter(([, e]) => e.status === "Succeeded" && e.executionType !== "ROLLBACK")
      .sort(
        ([, a], [, b]) => (b.startTime?.getTime() ?? 0) - (a.startTime?.getTime() ?? 0),
      )[0]?.[0];
  if (!target) throw new Error("automated rollback: no successful execution to roll back to");
  const trigger = { triggerType: "AutomatedRollback", triggerDetail: input.failedExecutionId };
  return startRollback(
    state,
    { pipelineName: input.pipeline, stageName: input.stage, targetPipelineExecutionId: target },
    trigger,
    input.at ?? new Date(),
  );
}
