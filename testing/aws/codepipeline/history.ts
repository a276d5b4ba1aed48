/**
 * ListPipelineExecutions, the execution history, as the API reference documents it
 * (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ListPipelineExecutions.html):
 * "a summary of the most recent executions for a pipeline", newest first, paged (paging.ts), each a
 * PipelineExecutionSummary (API_PipelineExecutionSummary.html) with `pipelineExecutionId`,
 * `status`, `statusSummary`, `startTime`, `lastUpdateTime`, `trigger`, `executionMode`,
 * `executionType`, `rollbackMetadata` and, for a stopped execution, `stopTrigger`
 * (API_StopExecutionTrigger.html: "The interaction that stopped a pipeline execution", `reason`
 * "The user-specified reason the pipeline was stopped", present when the stop gave one: stops.ts).
 * This is where a stop's reason is read back: GetPipelineExecution's PipelineExecution has no
 * stop field (API_PipelineExecution.html). `filter.succeededInStage.stageName` keeps executions
 * whose every action in that stage succeeded (API_SucceededInStageFilter.html).
 */
import { epoch, type AwsState } from "../core";
import {
  latestRunOf,
  modeOf,
  pipelineOf,
  runsOf,
  type ModelExecution,
  type ModelPipeline,
} from "./model";
import { pageOf } from "./paging";

/** The latest time anything happened to the execution: its start, a run's change, its stop. */
function lastUpdateOf(pipeline: ModelPipeline, id: string, execution: ModelExecution): Date {
  const times = pipeline.stages.flatMap((s) =>
    s.actions.flatMap((a) =>
      runsOf(a)
        .filter((r) => r.pipelineExecutionId === id)
        .map((r) => r.lastUpdateTime.getTime()),
    ),
  );
  const stop = execution.stop;
  if (stop) times.push((stop.stoppedAt ?? stop.requestedAt).getTime());
  return new Date(Math.max(execution.startTime?.getTime() ?? 0, ...times));
}

/** Whether every action of `stageName` succeeded in execution `id` (the succeededInStage filter). */
function succeededIn(pipeline: ModelPipeline, id: string, stageName: unknown): boolean {
  const stage = pipeline.stages.find((s) => s.name === stageName);
  if (!stage || stage.actions.length === 0) return false;
  return stage.actions.every((a) => latestRunOf(a, id)?.status === "Succeeded");
}

/** One PipelineExecutionSummary. */
function summaryOf(
  pipeline: ModelPipeline,
  id: string,
  execution: ModelExecution,
): Record<string, unknown> {
  return {
    pipelineExecutionId: id,
    status: execution.status,
    statusSummary: execution.statusSummary,
    startTime: epoch(execution.startTime),
    lastUpdateTime: epoch(lastUpdateOf(pipeline, id, execution)),
    trigger: execution.trigger,
    stopTrigger:
      execution.stop?.reason !== undefined ? { reason: execution.stop.reason } : undefined,
    executionMode: execution.executionMode ?? modeOf(pipeline),
    executionType: execution.executionType ?? "STANDARD",
    rollbackMetadata: execution.rollbackTargetExecutionId
      ? { rollbackTargetPipelineExecutionId: execution.rollbackTargetExecutionId }
      : undefined,
  };
}

/**
 * ListPipelineExecutions over the scope's pipeline: `{ pipelineExecutionSummaries, nextToken? }`.
 * @throws PipelineNotFoundException, ValidationException (`maxResults`),
 *   InvalidNextTokenException.
 */
export function listPipelineExecutions(
  state: AwsState,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const pipeline = pipelineOf(state, input.pipelineName);
  const filter = (input.filter ?? {}) as { succeededInStage?: { stageName?: unknown } };
  const stageName = filter.succeededInStage?.stageName;
  const summaries = Object.entries(pipeline.executions)
    .filter(([id]) => stageName === undefined || succeededIn(pipeline, id, stageName))
    .sort(([, a], [, b]) => (b.startTime?.getTime() ?? 0) - (a.startTime?.getTime() ?? 0))
    .map(([id, execution]) => summaryOf(pipeline, id, execution));
  const listing = `executions:${String(input.pipelineName)}:${String(stageName ?? "")}`;
  const { page, nextToken } = pageOf(summaries, input, listing);
  return { pipelineExecutionSummaries: page, ...(nextToken && { nextToken }) };
}
