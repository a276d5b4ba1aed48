/**
 * CodePipeline stand-in (awsJson1_1, `X-Amz-Target: CodePipeline_20150709.<Op>`) over a small
 * model of pipelines, stages, actions and executions. It answers the operations the handlers call,
 * shaped as the CodePipeline API reference documents them
 * (https://docs.aws.amazon.com/codepipeline/latest/APIReference/):
 * - `GetPipelineState` (API_GetPipelineState.html): stage states with each action's latest
 *   execution; the approval `token` is only present while the action is `InProgress`.
 * - `PutApprovalResult` (API_PutApprovalResult.html): `ApprovalAlreadyCompletedException` once
 *   decided, `InvalidApprovalTokenException` for a wrong token, Stage/ActionNotFoundException;
 *   a rejection fails the action and then the execution.
 * - `GetPipelineExecution` (API_GetPipelineExecution.html): status, artifact revisions, trigger;
 *   `PipelineExecutionNotFoundException` for an unknown id.
 * - `ListActionExecutions` (API_ListActionExecutions.html), filtered by `pipelineExecutionId`.
 * - `GetPipeline` (API_GetPipeline.html): the declaration, with an approval's `CustomData` and
 *   `ExternalEntityLink` configuration.
 * An unknown pipeline is `PipelineNotFoundException` everywhere.
 */
import { randomUUID } from "node:crypto";
import {
  STANDIN_ACCOUNT,
  epoch,
  serviceError,
  type AwsContext,
  type AwsState,
  type JsonOperation,
} from "./core";

/** The `X-Amz-Target` prefix of CodePipeline operations. */
export const CODEPIPELINE_TARGET = "CodePipeline_20150709.";

/** Status of an action in the CodePipeline model (the SDK's ActionExecutionStatus). */
export type ActionStatus = "InProgress" | "Succeeded" | "Failed" | "Abandoned";

/** Status of a pipeline execution (the SDK's PipelineExecutionStatus). */
export type ExecutionStatus =
  "InProgress" | "Succeeded" | "Failed" | "Stopped" | "Stopping" | "Superseded" | "Cancelled";

/** One action of a stage in the CodePipeline model. */
export interface ModelAction {
  name: string;
  category: string;
  provider?: string;
  status?: ActionStatus;
  /** Approval token while an approval is pending (and after, to detect reuse). */
  token?: string;
  summary?: string;
  externalExecutionUrl?: string;
  /** Error code of a failed action (errorDetails.code). */
  errorCode?: string;
  /** The pipeline execution this action's latest run belongs to. */
  executionId?: string;
  lastUpdatedAt?: Date;
  /** Who decided an approval (PutApprovalResult caller, as CodePipeline reports it). */
  lastUpdatedBy?: string;
  /** Approval configuration, returned by GetPipeline. */
  customData?: string;
  externalEntityLink?: string;
  /** When a pending approval expires (not part of any API answer; for tests). */
  expiresAt?: Date;
}

/** One stage in the CodePipeline model. */
export interface ModelStage {
  name: string;
  actions: ModelAction[];
}

/** A source revision of an execution, as GetPipelineExecution returns it. */
export interface ModelArtifactRevision {
  name: string;
  revisionId?: string;
  revisionSummary?: string;
  revisionUrl?: string;
}

/** One pipeline execution in the CodePipeline model. */
export interface ModelExecution {
  status: ExecutionStatus;
  trigger?: { triggerType: string; triggerDetail?: string };
  artifactRevisions?: ModelArtifactRevision[];
  startTime?: Date;
}

/** One pipeline in the CodePipeline model. */
export interface ModelPipeline {
  stages: ModelStage[];
  executions: Record<string, ModelExecution>;
}

/** One recorded CodePipeline API call. */
export interface CodePipelineCall {
  operation: string;
  input: Record<string, unknown>;
  at: Date;
}

/** Input of {@link AwsStandins.addPendingApproval}. */
export interface PendingApprovalInput {
  pipeline: string;
  stage: string;
  action: string;
  executionId: string;
  /** Defaults to a random UUID, like CodePipeline's tokens. */
  token?: string;
  expiresAt?: Date;
  customData?: string;
  externalEntityLink?: string;
  /** Source revision of the execution (GetPipelineExecution). */
  revision?: ModelArtifactRevision;
  trigger?: { triggerType: string; triggerDetail?: string };
}

/** Input of {@link AwsStandins.addFailedExecution}. */
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
  trigger?: { triggerType: string; triggerDetail?: string };
}

/** The named pipeline, or `PipelineNotFoundException`. */
function pipelineOf(state: AwsState, name: unknown): ModelPipeline {
  const pipeline = state.codepipeline.pipelines[String(name)];
  if (!pipeline) {
    throw serviceError("PipelineNotFoundException", `Pipeline ${String(name)} not found`);
  }
  return pipeline;
}

/** The pipeline, creating it empty when missing. */
export function ensurePipeline(state: AwsState, name: string): ModelPipeline {
  const pipelines = state.codepipeline.pipelines;
  pipelines[name] ??= { stages: [], executions: {} };
  return pipelines[name];
}

/** The action of a stage, creating stage and action when missing. */
export function ensureAction(
  pipeline: ModelPipeline,
  stageName: string,
  actionName: string,
  category: string,
): ModelAction {
  let stage = pipeline.stages.find((s) => s.name === stageName);
  if (!stage) {
    stage = { name: stageName, actions: [] };
    pipeline.stages.push(stage);
  }
  let action = stage.actions.find((a) => a.name === actionName);
  if (!action) {
    action = { name: actionName, category };
    stage.actions.push(action);
  }
  return action;
}

/** A stage's status is derived from its actions, as the console shows it. */
function stageStatus(stage: ModelStage): string | undefined {
  const statuses = stage.actions.map((a) => a.status).filter((s) => s !== undefined);
  if (statuses.length === 0) return undefined;
  if (statuses.includes("Failed")) return "Failed";
  if (statuses.includes("InProgress")) return "InProgress";
  return "Succeeded";
}

function errorDetails(action: ModelAction): Record<string, unknown> | undefined {
  if (action.status !== "Failed") return undefined;
  return { code: action.errorCode ?? "JobFailed", message: action.summary ?? "" };
}

function getPipelineState(
  ctx: AwsContext,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const pipeline = pipelineOf(ctx.state, input.name);
  return {
    pipelineName: input.name,
    pipelineVersion: 1,
    stageStates: pipeline.stages.map((stage) => {
      const executionId = stage.actions.find((a) => a.executionId)?.executionId;
      const status = stageStatus(stage);
      return {
        stageName: stage.name,
        inboundTransitionState: { enabled: true },
        actionStates: stage.actions.map((action) => ({
          actionName: action.name,
          latestExecution:
            action.status === undefined
              ? undefined
              : {
                  actionExecutionId: `${action.executionId ?? "none"}-${action.name}`,
                  status: action.status,
                  summary: action.summary,
                  lastStatusChange: epoch(action.lastUpdatedAt),
                  token: action.status === "InProgress" ? action.token : undefined,
                  lastUpdatedBy: action.lastUpdatedBy,
                  externalExecutionId: action.token,
                  externalExecutionUrl: action.externalExecutionUrl,
                  errorDetails: errorDetails(action),
                },
          entityUrl: action.externalEntityLink,
        })),
        latestExecution:
          executionId && status ? { pipelineExecutionId: executionId, status } : undefined,
      };
    }),
    created: 1700000000,
    updated: 1700000000,
  };
}

function putApprovalResult(
  ctx: AwsContext,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const pipeline = pipelineOf(ctx.state, input.pipelineName);
  const stage = pipeline.stages.find((s) => s.name === input.stageName);
  if (!stage) {
    throw serviceError("StageNotFoundException", `Stage ${String(input.stageName)} not found`);
  }
  const action = stage.actions.find((a) => a.name === input.actionName);
  if (!action) {
    throw serviceError("ActionNotFoundException", `Action ${String(input.actionName)} not found`);
  }
  const result = (input.result ?? {}) as { status?: unknown; summary?: unknown };
  if (result.status !== "Approved" && result.status !== "Rejected") {
    throw serviceError("ValidationException", "result.status must be Approved or Rejected");
  }
  if (action.status !== "InProgress") {
    throw serviceError(
      "ApprovalAlreadyCompletedException",
      `Approval for ${String(input.actionName)} is already completed`,
    );
  }
  if (action.category !== "Approval" || action.token !== input.token) {
    throw serviceError("InvalidApprovalTokenException", "The approval token is not valid");
  }
  const now = new Date();
  action.status = result.status === "Approved" ? "Succeeded" : "Failed";
  action.summary = typeof result.summary === "string" ? result.summary : undefined;
  action.lastUpdatedAt = now;
  action.lastUpdatedBy = `arn:aws:iam::${STANDIN_ACCOUNT}:role/approver`;
  if (action.status === "Failed") {
    // A rejection fails the action and then the execution, like a real failure.
    action.errorCode = "JobFailed";
    const execution = action.executionId ? pipeline.executions[action.executionId] : undefined;
    if (execution) execution.status = "Failed";
  }
  return { approvedAt: epoch(now) };
}

function getPipelineExecution(
  ctx: AwsContext,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const pipeline = pipelineOf(ctx.state, input.pipelineName);
  const id = String(input.pipelineExecutionId);
  const execution = pipeline.executions[id];
  if (!execution) {
    throw serviceError("PipelineExecutionNotFoundException", `Execution ${id} not found`);
  }
  return {
    pipelineExecution: {
      pipelineName: input.pipelineName,
      pipelineVersion: 1,
      pipelineExecutionId: id,
      status: execution.status,
      artifactRevisions: (execution.artifactRevisions ?? []).map((r) => ({
        name: r.name,
        revisionId: r.revisionId,
        revisionSummary: r.revisionSummary,
        revisionUrl: r.revisionUrl,
        created: epoch(execution.startTime),
      })),
      trigger: execution.trigger,
      executionMode: "SUPERSEDED",
    },
  };
}

function listActionExecutions(
  ctx: AwsContext,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const pipeline = pipelineOf(ctx.state, input.pipelineName);
  const filter = (input.filter ?? {}) as { pipelineExecutionId?: unknown };
  const details = pipeline.stages.flatMap((stage) =>
    stage.actions
      .filter((a) => a.status !== undefined)
      .filter(
        (a) =>
          filter.pipelineExecutionId === undefined || a.executionId === filter.pipelineExecutionId,
      )
      .map((action) => ({
        pipelineExecutionId: action.executionId,
        actionExecutionId: `${action.executionId ?? "none"}-${action.name}`,
        pipelineVersion: 1,
        stageName: stage.name,
        actionName: action.name,
        startTime: epoch(action.lastUpdatedAt),
        lastUpdateTime: epoch(action.lastUpdatedAt),
        status: action.status,
        input: {
          actionTypeId: {
            category: action.category,
            owner: "AWS",
            provider: action.provider ?? "Manual",
            version: "1",
          },
          configuration:
            action.customData !== undefined ? { CustomData: action.customData } : undefined,
        },
        output: {
          executionResult: {
            externalExecutionId: action.token,
            externalExecutionSummary: action.summary,
            externalExecutionUrl: action.externalExecutionUrl,
            errorDetails: errorDetails(action),
          },
        },
      })),
  );
  return { actionExecutionDetails: details };
}

function getPipeline(ctx: AwsContext, input: Record<string, unknown>): Record<string, unknown> {
  const pipeline = pipelineOf(ctx.state, input.name);
  return {
    pipeline: {
      name: input.name,
      roleArn: `arn:aws:iam::${STANDIN_ACCOUNT}:role/pipeline`,
      version: 1,
      pipelineType: "V2",
      executionMode: "SUPERSEDED",
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
            actionTypeId: {
              category: action.category,
              owner: "AWS",
              provider: action.provider ?? "Manual",
              version: "1",
            },
            configuration,
            runOrder: 1,
          };
        }),
      })),
    },
    metadata: {
      pipelineArn: `arn:aws:codepipeline:${ctx.region}:${STANDIN_ACCOUNT}:${input.name}`,
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
    PutApprovalResult: (input) => putApprovalResult(ctx, input),
    GetPipelineExecution: (input) => getPipelineExecution(ctx, input),
    ListActionExecutions: (input) => listActionExecutions(ctx, input),
    GetPipeline: (input) => getPipeline(ctx, input),
  };
}

/**
 * Adds a pending manual approval to the model (creating pipeline, stage and execution as needed)
 * and returns its token. A pending approval expires after 7 days unless `expiresAt` says otherwise
 * (CodePipeline user guide, "Add a manual approval action": approvals time out after seven days).
 */
export function addPendingApproval(state: AwsState, input: PendingApprovalInput): string {
  const pipeline = ensurePipeline(state, input.pipeline);
  const token = input.token ?? randomUUID();
  const action = ensureAction(pipeline, input.stage, input.action, "Approval");
  Object.assign(action, {
    category: "Approval",
    provider: "Manual",
    status: "InProgress",
    token,
    summary: undefined,
    errorCode: undefined,
    executionId: input.executionId,
    lastUpdatedAt: new Date(),
    lastUpdatedBy: undefined,
    customData: input.customData,
    externalEntityLink: input.externalEntityLink,
    expiresAt: input.expiresAt ?? new Date(Date.now() + 7 * 86400_000),
  } satisfies Partial<ModelAction>);
  pipeline.executions[input.executionId] ??= {
    status: "InProgress",
    startTime: new Date(),
    trigger: input.trigger,
    artifactRevisions: input.revision ? [input.revision] : undefined,
  };
  return token;
}

/** Adds a failed execution with its failed action to the model. */
export function addFailedExecution(state: AwsState, input: FailedExecutionInput): void {
  const pipeline = ensurePipeline(state, input.pipeline);
  const action = ensureAction(pipeline, input.stage, input.action, input.category);
  Object.assign(action, {
    category: input.category,
    provider: input.provider,
    status: "Failed",
    token: undefined,
    summary: input.summary,
    errorCode: input.errorCode ?? "JobFailed",
    externalExecutionUrl: input.externalExecutionUrl,
    executionId: input.executionId,
    lastUpdatedAt: new Date(),
  } satisfies Partial<ModelAction>);
  pipeline.executions[input.executionId] = {
    status: "Failed",
    startTime: new Date(),
    trigger: input.trigger,
    artifactRevisions: input.revision ? [input.revision] : undefined,
  };
}

/**
 * Event `state` → the pipeline execution status GetPipelineExecution reports
 * (API_PipelineExecution.html: Cancelled | InProgress | Stopped | Stopping | Succeeded |
 * Superseded | Failed; events say CANCELED, RESUMED, …: user guide, "Monitoring CodePipeline
 * events").
 */
const EXECUTION_STATUS: Record<string, ExecutionStatus> = {
  STARTED: "InProgress",
  RESUMED: "InProgress",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  CANCELED: "Cancelled",
  STOPPED: "Stopped",
  STOPPING: "Stopping",
  SUPERSEDED: "Superseded",
};

/**
 * Event `state` → an action's latest execution status (API_ActionExecution.html:
 * InProgress | Abandoned | Succeeded | Failed). A canceled action run is abandoned.
 */
const ACTION_STATUS: Record<string, ActionStatus> = {
  STARTED: "InProgress",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  CANCELED: "Abandoned",
  ABANDONED: "Abandoned",
};

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;

/** Applies one action event to the model; returns the approval token it issued, if any. */
function recordActionEvent(
  state: AwsState,
  pipeline: string,
  executionId: string,
  detail: Record<string, unknown>,
  at: Date,
): string | undefined {
  const status = ACTION_STATUS[String(detail.state)];
  const stage = text(detail.stage);
  const name = text(detail.action);
  if (!status || !stage || !name) return undefined;
  const type = (detail.type ?? {}) as Record<string, unknown>;
  const category = text(type.category) ?? "Deploy";
  const model = ensurePipeline(state, pipeline);
  const action = ensureAction(model, stage, name, category);
  const sameRun = action.executionId === executionId && action.status === status;
  if (category === "Approval" && status === "InProgress") {
    // Each run of an approval action has its own token (REFERENCE.md, CodePipeline's
    // lifecycle): a STARTED event of a run the model does not already hold issues a new one.
    if (sameRun && action.token) return undefined;
    return addPendingApproval(state, { pipeline, stage, action: name, executionId });
  }
  if (sameRun) return undefined; // the scenario's setup already described this run in detail
  const result = (detail["execution-result"] ?? {}) as Record<string, unknown>;
  Object.assign(action, {
    category,
    provider: text(type.provider) ?? action.provider,
    status,
    // A decided approval keeps its token: a late PutApprovalResult with it is "already completed".
    token: category === "Approval" ? action.token : undefined,
    executionId,
    lastUpdatedAt: at,
    summary: text(result["external-execution-summary"]),
    externalExecutionUrl: text(result["external-execution-url"]),
    errorCode: status === "Failed" ? (text(result["error-code"]) ?? "JobFailed") : undefined,
  } satisfies Partial<ModelAction>);
  return undefined;
}

/**
 * Makes the model consistent with a CodePipeline state-change event, as if CodePipeline had
 * emitted it: the execution exists (an unknown id is added; a pipeline-level event sets its
 * status), a stage or action event's action carries that run's status, and an approval action's
 * STARTED event of a new run registers a pending approval with a fresh token. Details a test or
 * scenario set up before (failed action summary, revisions, the token of that same run) are kept.
 * Events of another `source` or without pipeline and execution id are ignored.
 * @returns the approval token issued for the event, if it issued one.
 */
export function recordEvent(state: AwsState, event: Record<string, unknown>): string | undefined {
  if (event.source !== "aws.codepipeline") return undefined;
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  const pipeline = text(detail.pipeline);
  const executionId = text(detail["execution-id"]);
  if (!pipeline || !executionId) return undefined;
  const parsed = Date.parse(String(event.time ?? ""));
  const at = Number.isNaN(parsed) ? new Date() : new Date(parsed);
  const model = ensurePipeline(state, pipeline);
  const known = model.executions[executionId];
  const level = String(event["detail-type"] ?? "");
  const pipelineStatus = level.includes("Pipeline Execution")
    ? EXECUTION_STATUS[String(detail.state)]
    : undefined;
  if (!known) {
    model.executions[executionId] = { status: pipelineStatus ?? "InProgress", startTime: at };
  } else if (
    pipelineStatus &&
    !(pipelineStatus === "InProgress" && known.status !== "InProgress")
  ) {
    known.status = pipelineStatus;
  }
  if (level.includes("Action Execution"))
    return recordActionEvent(state, pipeline, executionId, detail, at);
  return undefined;
}
