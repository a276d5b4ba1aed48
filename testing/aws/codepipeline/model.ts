/**
 * The CodePipeline model the stand-in answers from: pipelines (with their execution mode), stages,
 * actions with the history of their runs, and executions with attempts, type and trigger.
 *
 * Sources (CodePipeline API reference, https://docs.aws.amazon.com/codepipeline/latest/APIReference/,
 * and user guide, https://docs.aws.amazon.com/codepipeline/latest/userguide/):
 * - every run of an action has its own `actionExecutionId` (API_ActionExecution.html); a retried
 *   stage re-runs actions under the same pipeline execution id with a higher attempt
 *   (API_RetryStageExecution.html; userguide/detect-state-changes-cloudwatch-events.html:
 *   "pipeline-execution-attempt … the number of attempts or retries for a specific execution ID");
 * - each run of an approval action has its own token (API_PutApprovalResult.html, `token`);
 * - executions have a mode (QUEUED | SUPERSEDED | PARALLEL, default SUPERSEDED) and a type
 *   (STANDARD | ROLLBACK) (API_PipelineExecution.html).
 *
 * An action's flat fields (`status`, `token`, `summary`, …) are the view of its LATEST run, as
 * GetPipelineState shows it; `runs` holds every run, oldest first. Code that only sets the flat
 * fields (older tests) still works: the latest run is synced from them before it is read.
 */
import { randomUUID } from "node:crypto";
import { serviceError, type AwsState } from "../core";

/** Status of an action in the CodePipeline model (the SDK's ActionExecutionStatus). */
export type ActionStatus = "InProgress" | "Succeeded" | "Failed" | "Abandoned";

/** Status of a pipeline execution (the SDK's PipelineExecutionStatus). */
export type ExecutionStatus =
  "InProgress" | "Succeeded" | "Failed" | "Stopped" | "Stopping" | "Superseded" | "Cancelled";

/** How a pipeline handles several executions (API_PipelineDeclaration.html `executionMode`). */
export type ExecutionMode = "SUPERSEDED" | "QUEUED" | "PARALLEL";

/** The type of an execution (API_PipelineExecution.html `executionType`). */
export type ExecutionType = "STANDARD" | "ROLLBACK";

/** An execution trigger (API_ExecutionTrigger.html). */
export interface ModelTrigger {
  /** e.g. `Webhook`, `StartPipelineExecution`, `ManualRollback`, `AutomatedRollback`. */
  triggerType: string;
  /** ≤ 1024 chars: a webhook ARN, the caller's ARN for a manual start or rollback, … */
  triggerDetail?: string;
}

/** How an approval run was decided (not an API shape; GET /api/codepipeline shows it). */
export interface ApprovalDecision {
  outcome: "Approved" | "Rejected" | "Expired";
  /** The caller of PutApprovalResult (an ARN, as `lastUpdatedBy`); absent for an expiry. */
  by?: string;
  at: Date;
  summary?: string;
}

/** One run of an action (ActionExecutionDetail in ListActionExecutions). */
export interface ActionRun {
  actionExecutionId: string;
  pipelineExecutionId: string;
  /** The execution's attempt this run belongs to (1 = first run, 2 = after the first retry). */
  attempt: number;
  status: ActionStatus;
  /** Approval runs: the token of this run (GetPipelineState `token` while InProgress). */
  token?: string;
  summary?: string;
  errorCode?: string;
  externalExecutionUrl?: string;
  startTime: Date;
  lastUpdateTime: Date;
  lastUpdatedBy?: string;
  /** Approval runs: when the run times out (start + the action's timeout, 7 days by default). */
  expiresAt?: Date;
  decision?: ApprovalDecision;
  /**
   * Made by a test helper without an id of CodePipeline's: the first event that names this run's
   * execution and status with an `action-execution-id` gives it that id (recordEvent).
   */
  adoptable?: boolean;
}

/** One action of a stage in the CodePipeline model. */
export interface ModelAction {
  name: string;
  category: string;
  provider?: string;
  /** Latest run: status. */
  status?: ActionStatus;
  /** Latest run: approval token while pending (and after, to detect reuse). */
  token?: string;
  summary?: string;
  externalExecutionUrl?: string;
  /** Latest run: error code of a failed run (errorDetails.code). */
  errorCode?: string;
  /** Latest run: the pipeline execution it belongs to. */
  executionId?: string;
  lastUpdatedAt?: Date;
  /** Latest run: who decided an approval (PutApprovalResult caller, as CodePipeline reports it). */
  lastUpdatedBy?: string;
  /** Approval configuration, returned by GetPipeline. */
  customData?: string;
  externalEntityLink?: string;
  /** Latest run: when a pending approval expires. */
  expiresAt?: Date;
  /** Latest run: its id. */
  actionExecutionId?: string;
  /**
   * Approval timeout in minutes (ActionDeclaration `timeoutInMinutes`, manual approval only);
   * undefined = the default of 7 days (userguide/approvals-approve-or-reject.html).
   */
  timeoutInMinutes?: number;
  /** Every run, oldest first. */
  runs?: ActionRun[];
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
  trigger?: ModelTrigger;
  artifactRevisions?: ModelArtifactRevision[];
  startTime?: Date;
  /** `pipeline-execution-attempt`; undefined = 1. */
  attempt?: number;
  /** The pipeline's mode when the execution started; undefined = the pipeline's mode. */
  executionMode?: ExecutionMode;
  /** undefined = STANDARD. */
  executionType?: ExecutionType;
  /** ROLLBACK executions: `rollbackMetadata.rollbackTargetPipelineExecutionId`. */
  rollbackTargetExecutionId?: string;
  /** API_PipelineExecution.html `statusSummary` (e.g. why it was superseded). */
  statusSummary?: string;
  /** When the last retry started (`last-retry-attempt-time` of RESUMED events). */
  lastRetryAt?: Date;
  /** The stage this execution waits to enter (QUEUED / SUPERSEDED modes: the stage is busy). */
  waitingAt?: string;
  waitingSince?: Date;
  /** How the execution was stopped (StopPipelineExecution; stops.ts). */
  stop?: ModelStop;
}

/**
 * A StopPipelineExecution request (API_StopPipelineExecution.html): `abandon` or stop and wait,
 * and the `reason` ListPipelineExecutions returns as `stopTrigger.reason`
 * (API_StopExecutionTrigger.html: "The user-specified reason the pipeline was stopped", ≤ 200).
 */
export interface ModelStop {
  abandon: boolean;
  reason?: string;
  /** The stages the execution was in when the stop was requested (Stage STOPPING, then STOPPED). */
  stages: string[];
  /** When the stop was requested, and when the execution reached Stopped. */
  requestedAt: Date;
  stoppedAt?: Date;
}

/** One pipeline in the CodePipeline model. */
export interface ModelPipeline {
  stages: ModelStage[];
  executions: Record<string, ModelExecution>;
  /** undefined = SUPERSEDED, the default (userguide/concepts-how-it-works.html). */
  executionMode?: ExecutionMode;
}

/** One recorded CodePipeline API call. */
export interface CodePipelineCall {
  operation: string;
  input: Record<string, unknown>;
  at: Date;
  /** The account and region the call acted in (its credentials' account, its endpoint's region). */
  account?: string;
  region?: string;
  /** The access key that signed it (a function's, a local STS session's, or `standin`). */
  accessKey?: string;
  /** The assumed-role session ARN when the call was signed with local STS session keys. */
  caller?: string;
}

/** Default approval timeout: 7 days (userguide/approvals-approve-or-reject.html). */
export const DEFAULT_APPROVAL_TIMEOUT_MINUTES = 7 * 24 * 60;

/** The named pipeline, or `PipelineNotFoundException`. */
export function pipelineOf(state: AwsState, name: unknown): ModelPipeline {
  const pipeline = state.codepipeline.pipelines[String(name)];
  if (!pipeline) {
    throw serviceError("PipelineNotFoundException", `Pipeline ${String(name)} not found`);
  }
  return pipeline;
}

/** The named stage, or `StageNotFoundException`. */
export function stageOf(pipeline: ModelPipeline, name: unknown): ModelStage {
  const stage = pipeline.stages.find((s) => s.name === name);
  if (!stage) throw serviceError("StageNotFoundException", `Stage ${String(name)} not found`);
  return stage;
}

/** The pipeline, creating it empty when missing. */
export function ensurePipeline(state: AwsState, name: string): ModelPipeline {
  const pipelines = state.codepipeline.pipelines;
  pipelines[name] ??= { stages: [], executions: {} };
  return pipelines[name];
}

/** The stage, creating it when missing. */
export function ensureStage(pipeline: ModelPipeline, stageName: string): ModelStage {
  let stage = pipeline.stages.find((s) => s.name === stageName);
  if (!stage) {
    stage = { name: stageName, actions: [] };
    pipeline.stages.push(stage);
  }
  return stage;
}

/** The action of a stage, creating stage and action when missing. */
export function ensureAction(
  pipeline: ModelPipeline,
  stageName: string,
  actionName: string,
  category: string,
): ModelAction {
  const stage = ensureStage(pipeline, stageName);
  let action = stage.actions.find((a) => a.name === actionName);
  if (!action) {
    action = { name: actionName, category };
    stage.actions.push(action);
  }
  return action;
}

/** The pipeline's execution mode (SUPERSEDED by default). */
export function modeOf(pipeline: ModelPipeline): ExecutionMode {
  return pipeline.executionMode ?? "SUPERSEDED";
}

/** The execution, creating it InProgress (attempt 1) when missing. */
export function ensureExecution(
  pipeline: ModelPipeline,
  executionId: string,
  at: Date = new Date(),
): ModelExecution {
  pipeline.executions[executionId] ??= {
    status: "InProgress",
    startTime: at,
    attempt: 1,
    executionMode: modeOf(pipeline),
  };
  return pipeline.executions[executionId];
}

/** The flat (latest-run) fields of an action, copied to or from its latest run. */
function flatOf(run: ActionRun): Partial<ModelAction> {
  return {
    status: run.status,
    token: run.token,
    summary: run.summary,
    errorCode: run.errorCode,
    externalExecutionUrl: run.externalExecutionUrl,
    executionId: run.pipelineExecutionId,
    lastUpdatedAt: run.lastUpdateTime,
    lastUpdatedBy: run.lastUpdatedBy,
    expiresAt: run.expiresAt,
    actionExecutionId: run.actionExecutionId,
  };
}

/**
 * The action's runs, oldest first, with the latest one synced from the flat fields (a test may
 * have set `status` directly) and a run made up for an action that only has flat fields.
 */
export function runsOf(action: ModelAction): ActionRun[] {
  action.runs ??= [];
  if (action.status === undefined) return action.runs;
  let latest = action.runs.at(-1);
  if (!latest) {
    const at = action.lastUpdatedAt ?? new Date();
    latest = {
      actionExecutionId: action.actionExecutionId ?? randomUUID(),
      pipelineExecutionId: action.executionId ?? "unknown",
      attempt: 1,
      status: action.status,
      startTime: at,
      lastUpdateTime: at,
      adoptable: true,
    };
    action.runs.push(latest);
  }
  Object.assign(latest, {
    status: action.status,
    token: action.token,
    summary: action.summary,
    errorCode: action.errorCode,
    externalExecutionUrl: action.externalExecutionUrl,
    pipelineExecutionId: action.executionId ?? latest.pipelineExecutionId,
    lastUpdateTime: action.lastUpdatedAt ?? latest.lastUpdateTime,
    lastUpdatedBy: action.lastUpdatedBy,
    expiresAt: action.expiresAt,
  });
  action.actionExecutionId = latest.actionExecutionId;
  return action.runs;
}

/** Updates one run (and the flat fields when it is the latest). */
export function updateRun(action: ModelAction, run: ActionRun, patch: Partial<ActionRun>): void {
  // Not runsOf(): that would sync the (older) flat fields back into the run first.
  Object.assign(run, patch);
  if (action.runs?.at(-1) === run) Object.assign(action, flatOf(run));
}

/** Input of {@link startRun}. */
export interface StartRunInput {
  executionId: string;
  attempt: number;
  at: Date;
  status?: ActionStatus;
  actionExecutionId?: string;
  /** Approval runs: the token (default: a random UUID, like CodePipeline's tokens). */
  token?: string;
  summary?: string;
  errorCode?: string;
  externalExecutionUrl?: string;
  adoptable?: boolean;
}

/**
 * Starts a new run of the action (a new `actionExecutionId`; an approval run gets a new token and
 * its expiry) and makes it the latest.
 */
export function startRun(action: ModelAction, input: StartRunInput): ActionRun {
  runsOf(action);
  const status = input.status ?? "InProgress";
  const approval = action.category === "Approval";
  const timeout = action.timeoutInMinutes ?? DEFAULT_APPROVAL_TIMEOUT_MINUTES;
  const run: ActionRun = {
    actionExecutionId: input.actionExecutionId ?? randomUUID(),
    pipelineExecutionId: input.executionId,
    attempt: input.attempt,
    status,
    token: approval ? (input.token ?? randomUUID()) : undefined,
    summary: input.summary,
    errorCode: status === "Failed" ? (input.errorCode ?? "JobFailed") : undefined,
    externalExecutionUrl: input.externalExecutionUrl,
    startTime: input.at,
    lastUpdateTime: input.at,
    expiresAt: approval ? new Date(input.at.getTime() + timeout * 60_000) : undefined,
    adoptable: input.adoptable,
  };
  action.runs?.push(run);
  Object.assign(action, flatOf(run), { lastUpdatedBy: undefined });
  return run;
}

/** The latest run of the action for one execution, if any. */
export function latestRunOf(action: ModelAction, executionId: string): ActionRun | undefined {
  const runs = runsOf(action);
  for (let i = runs.length - 1; i >= 0; i--) {
    if (runs[i].pipelineExecutionId === executionId) return runs[i];
  }
  return undefined;
}

/** Every action of the pipeline with its stage. */
export function actionsOf(
  pipeline: ModelPipeline,
): Array<{ stage: ModelStage; action: ModelAction }> {
  return pipeline.stages.flatMap((stage) => stage.actions.map((action) => ({ stage, action })));
}
