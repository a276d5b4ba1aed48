/**
 * The CodePipeline operations (awsJson1_1, `X-Amz-Target: CodePipeline_20150709.<Op>`) over the
 * model, shaped as the API reference documents them
 * (https://docs.aws.amazon.com/codepipeline/latest/APIReference/):
 * - `GetPipelineState` (API_GetPipelineState.html): per stage the latest execution (in PARALLEL
 *   mode only the latest one) and each action's latest run with its `actionExecutionId`; the
 *   approval `token` only while the run is InProgress and never in PARALLEL mode
 *   (API_PutApprovalResult.html, `token`).
 * - `PutApprovalResult`, `RetryStageExecution`, `RollbackStage`, `StopPipelineExecution`,
 *   `ListPipelineExecutions`: approvals.ts, executions.ts, rollbacks.ts, stops.ts, history.ts.
 * - `GetPipelineExecution` (API_PipelineExecution.html): status, attempt-independent id, artifact
 *   revisions, trigger, `executionMode`, `executionType`, `rollbackMetadata`; an id that is not of
 *   the documented pattern is a ValidationException (validate.ts), an unknown one
 *   PipelineExecutionNotFoundException.
 * - `ListActionExecutions` (API_ListActionExecutions.html): every run, newest first, optionally
 *   filtered by `pipelineExecutionId`; an approval run's token is its
 *   `output.executionResult.externalExecutionId`. Paged as documented: `maxResults` 1–100
 *   (default 100; else ValidationException), a `nextToken` in the answer while more remain, and
 *   `InvalidNextTokenException` for a token this listing did not hand out.
 * - `GetPipeline` (API_GetPipeline.html): the declaration with `executionMode`, an approval's
 *   `CustomData` / `ExternalEntityLink` and `timeoutInMinutes`.
 * An unknown pipeline is `PipelineNotFoundException` everywhere.
 */
import { epoch, STANDIN_ACCOUNT, serviceError, type AwsContext, type JsonOperation } from "../core";
import { putApprovalResult } from "./approvals";
import { retryStageExecution, stageLatestExecution } from "./executions";
import { rollbackStage } from "./rollbacks";
import { listPipelineExecutions } from "./history";
import { pageOf } from "./paging";
import { stopPipelineExecution } from "./stops";
import { requireExecutionId } from "./validate";
import {
  modeOf,
  pipelineOf,
  runsOf,
  type ActionRun,
  type ModelAction,
  type ModelPipeline,
  type ModelStage,
} from "./model";
import { PIPELINE_VERSION } from "./outbox";

/**
 * How a stopped or cancelled execution leaves a stage: StageExecution `status` "for a completed
 * stage, the last status of the stage" (API_StageExecution.html: Cancelled | InProgress | Failed
 * | Stopped | Stopping | Succeeded), and a stop by abandoning leaves its actions `Abandoned`
 * while the execution is `Stopped` (user guide, "Stop a pipeline execution").
 */
const ENDED_STAGE: Record<string, string> = {
  Stopped: "Stopped",
  Stopping: "Stopping",
  Cancelled: "Cancelled",
};

/**
 * A stage's status is derived from its actions' latest runs, as the console shows it; a stage
 * whose runs were abandoned because its execution was stopped or cancelled says so
 * ({@link ENDED_STAGE}; it read `Succeeded`).
 */
function stageStatus(pipeline: ModelPipeline, stage: ModelStage): string | undefined {
  const statuses = stage.actions.map((a) => a.status).filter((s) => s !== undefined);
  if (statuses.length === 0) return undefined;
  const executionId = stageLatestExecution(stage);
  const execution = executionId ? pipeline.executions[executionId] : undefined;
  const ended = execution && ENDED_STAGE[execution.status];
  // The stage a stop found the execution in (stops.ts) reads Stopping, then Stopped, whether its
  // runs were abandoned or waited for.
  const stoppedHere = execution?.stop?.stages.includes(stage.name);
  if (ended && (stoppedHere || statuses.includes("Abandoned"))) return ended;
  if (statuses.includes("Failed")) return "Failed";
  if (statuses.includes("InProgress")) return "InProgress";
  return "Succeeded";
}

function errorDetails(run: ActionRun): Record<string, unknown> | undefined {
  if (run.status !== "Failed") return undefined;
  return { code: run.errorCode ?? "JobFailed", message: run.summary ?? "" };
}

/**
 * GetPipelineState's `summary` of a run ("A summary of the run of the action",
 * API_ActionExecution.html): a result's summary once one was given; an approval run without a
 * result already shows one while it waits — the request's comments (user guide, "Approve or
 * reject an approval action in CodePipeline", CLI step 2: a waiting approval's latestExecution
 * with `summary` "The new design needs to be reviewed before release."). Nothing documents that
 * it is cleared when such a run ends without a result (expired, abandoned), so it stays: the
 * summary alone does not tell a rejection. ListActionExecutions' `externalExecutionSummary` is
 * the result's only.
 */
function stateSummary(action: ModelAction, run: ActionRun): string | undefined {
  const result = run.decision?.outcome === "Approved" || run.decision?.outcome === "Rejected";
  if (run.summary !== undefined || action.category !== "Approval" || result) return run.summary;
  return action.customData;
}

function latestExecution(
  action: ModelAction,
  parallel: boolean,
): Record<string, unknown> | undefined {
  const run = runsOf(action).at(-1);
  if (!run) return undefined;
  return {
    actionExecutionId: run.actionExecutionId,
    status: run.status,
    summary: stateSummary(action, run),
    lastStatusChange: epoch(run.lastUpdateTime),
    token: run.status === "InProgress" && !parallel ? run.token : undefined,
    lastUpdatedBy: run.lastUpdatedBy,
    externalExecutionId: run.token,
    externalExecutionUrl: run.externalExecutionUrl,
    errorDetails: errorDetails(run),
  };
}

function getPipelineState(
  ctx: AwsContext,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const pipeline = pipelineOf(ctx.state, input.name);
  const parallel = modeOf(pipeline) === "PARALLEL";
  return {
    pipelineName: input.name,
    pipelineVersion: PIPELINE_VERSION,
    stageStates: pipeline.stages.map((stage) => {
      const actionStates = stage.actions.map((action) => ({
        actionName: action.name,
        latestExecution: latestExecution(action, parallel),
        entityUrl: action.externalEntityLink,
      }));
      const executionId = stageLatestExecution(stage);
      const status = stageStatus(pipeline, stage);
      return {
        stageName: stage.name,
        inboundTransitionState: { enabled: true },
        actionStates,
        latestExecution:
          executionId && status ? { pipelineExecutionId: executionId, status } : undefined,
      };
    }),
    created: 1700000000,
    updated: 1700000000,
  };
}

function getPipelineExecution(
  ctx: AwsContext,
  input: Record<string, unknown>,
): Record<string, unknown> {
  // A malformed id is refused before any lookup (validate.ts), not "not found".
  const id = requireExecutionId(input, "pipelineExecutionId");
  const pipeline = pipelineOf(ctx.state, input.pipelineName);
  const execution = pipeline.executions[id];
  if (!execution) {
    throw serviceError("PipelineExecutionNotFoundException", `Execution ${id} not found`);
  }
  return {
    pipelineExecution: {
      pipelineName: input.pipelineName,
      pipelineVersion: PIPELINE_VERSION,
      pipelineExecutionId: id,
      status: execution.status,
      statusSummary: execution.statusSummary,
      artifactRevisions: (execution.artifactRevisions ?? []).map((r) => ({
        name: r.name,
        revisionId: r.revisionId,
        revisionSummary: r.revisionSummary,
        revisionUrl: r.revisionUrl,
        created: epoch(execution.startTime),
      })),
      trigger: execution.trigger,
      executionMode: execution.executionMode ?? modeOf(pipeline),
      executionType: execution.executionType ?? "STANDARD",
      rollbackMetadata: execution.rollbackTargetExecutionId
        ? { rollbackTargetPipelineExecutionId: execution.rollbackTargetExecutionId }
        : undefined,
    },
  };
}

function actionTypeId(action: ModelAction): Record<string, string> {
  return {
    category: action.category,
    owner: "AWS",
    provider: action.provider ?? "Manual",
    version: "1",
  };
}

/** Whether `executionId` is an execution of `pipeline`: known to it, or one of its runs'. */
function knowsExecution(pipeline: ModelPipeline, executionId: unknown): boolean {
  if (typeof executionId !== "string") return false;
  if (pipeline.executions[executionId]) return true;
  return pipeline.stages.some((stage) =>
    stage.actions.some((a) => runsOf(a).some((r) => r.pipelineExecutionId === executionId)),
  );
}

function listActionExecutions(
  ctx: AwsContext,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const pipeline = pipelineOf(ctx.state, input.pipelineName);
  const filter = (input.filter ?? {}) as { pipelineExecutionId?: unknown };
  if (
    filter.pipelineExecutionId !== undefined &&
    !knowsExecution(pipeline, filter.pipelineExecutionId)
  ) {
    // API_ListActionExecutions.html, Errors: PipelineExecutionNotFoundException, "The pipeline
    // execution was specified in an invalid format or cannot be found, or an execution ID does
    // not belong to the specified pipeline" (an empty list is never the answer for one).
    throw serviceError(
      "PipelineExecutionNotFoundException",
      `Pipeline execution ${String(filter.pipelineExecutionId)} not found in ${String(input.pipelineName)}`,
    );
  }
  const details = pipeline.stages
    .flatMap((stage) =>
      stage.actions.flatMap((action) => runsOf(action).map((run) => ({ stage, action, run }))),
    )
    .map((entry, index) => ({ ...entry, index }))
    .filter(
      ({ run }) =>
        filter.pipelineExecutionId === undefined ||
        run.pipelineExecutionId === filter.pipelineExecutionId,
    )
    .sort((a, b) => b.run.startTime.getTime() - a.run.startTime.getTime() || b.index - a.index)
    .map(({ stage, action, run }) => ({
      pipelineExecutionId: run.pipelineExecutionId,
      actionExecutionId: run.actionExecutionId,
      pipelineVersion: PIPELINE_VERSION,
      stageName: stage.name,
      actionName: action.name,
      startTime: epoch(run.startTime),
      lastUpdateTime: epoch(run.lastUpdateTime),
      updatedBy: run.lastUpdatedBy,
      status: run.status,
      input: {
        actionTypeId: actionTypeId(action),
        configuration:
          action.customData !== undefined ? { CustomData: action.customData } : undefined,
      },
      output: {
        executionResult: {
          externalExecutionId: run.token,
          externalExecutionSummary: run.summary,
          externalExecutionUrl: run.externalExecutionUrl,
          errorDetails: errorDetails(run),
        },
      },
    }));
  const listing = `${String(input.pipelineName)}:${String(filter.pipelineExecutionId ?? "")}`;
  const { page, nextToken } = pageOf(details, input, listing);
  return { actionExecutionDetails: page, ...(nextToken && { nextToken }) };
}

function getPipeline(ctx: AwsContext, input: Record<string, unknown>): Record<string, unknown> {
  const pipeline = pipelineOf(ctx.state, input.name);
  return {
    pipeline: {
      name: input.name,
      roleArn: `arn:aws:iam::${STANDIN_ACCOUNT}:role/pipeline`,
      version: PIPELINE_VERSION,
      pipelineType: "V2",
      executionMode: modeOf(pipeline),
      stages: pipeline.stages.map((stage) => ({
        name: stage.name,
        actions: stage.actions.map((action) => {
          const configuration: Record<string, string> = {};
          if (action.customData !== undefined) configuration.CustomData = action.customData;
          if (action.externalEntityLink !== undefined) {
            configuration.ExternalEntityLink = action.externalEntityLink;
          }
          return {
            name: action.name,
            actionTypeId: actionTypeId(action),
            configuration,
            runOrder: 1,
            timeoutInMinutes: action.timeoutInMinutes,
          };
        }),
      })),
    },
    metadata: {
      pipelineArn: `arn:aws:codepipeline:${ctx.region}:${ctx.state.codepipeline.account ?? STANDIN_ACCOUNT}:${String(input.name)}`,
    },
  };
}

/**
 * The CodePipeline operations over `ctx.state.codepipeline.pipelines`. Each throws a
 * ServiceError (core.ts) that is answered in the awsJson error shape.
 */
export function codePipelineOperations(ctx: AwsContext): Record<string, JsonOperation> {
  return {
    GetPipelineState: (input) => getPipelineState(ctx, input),
    PutApprovalResult: (input) => ({
      approvedAt: epoch(putApprovalResult(ctx.state, input).approvedAt),
    }),
    GetPipelineExecution: (input) => getPipelineExecution(ctx, input),
    ListActionExecutions: (input) => listActionExecutions(ctx, input),
    GetPipeline: (input) => getPipeline(ctx, input),
    RetryStageExecution: (input) => retryStageExecution(ctx.state, input),
    RollbackStage: (input) => rollbackStage(ctx.state, input),
    StopPipelineExecution: (input) => stopPipelineExecution(ctx.state, input),
    ListPipelineExecutions: (input) => listPipelineExecutions(ctx.state, input),
  };
}
