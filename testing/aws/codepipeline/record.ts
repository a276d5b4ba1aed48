/**
 * `recordEvent`: an event posted to the sandbox's `POST /events` stands for one CodePipeline
 * emitted, so the model learns what the event implies — the execution (with its attempt, trigger
 * and, for a rollback trigger, its type), the stage, and the action run (`action-execution-id`,
 * status, result); an approval STARTED of a run the model does not hold registers a pending
 * approval with a fresh token (each run has its own token: API_PutApprovalResult.html). Nothing is
 * emitted: the event already happened. Enrichment of the event then finds everything it asks
 * GetPipelineExecution, ListActionExecutions and GetPipeline for.
 */
import { codePipelineScope, homeScope, rootState } from "./accounts";
import type { AwsState } from "../core";
import {
  ensureAction,
  ensureExecution,
  ensurePipeline,
  ensureStage,
  latestRunOf,
  runsOf,
  startRun,
  updateRun,
  type ActionRun,
  type ActionStatus,
  type ExecutionStatus,
  type ModelAction,
  type ModelExecution,
  type ModelPipeline,
} from "./model";

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
 * Event `state` → an action run's status (API_ActionExecution.html: InProgress | Abandoned |
 * Succeeded | Failed). A canceled action run is abandoned.
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

/** `pipeline-execution-attempt` arrives as 2, 2.0 or "2" (REFERENCE.md: parse leniently). */
function attemptOf(value: unknown): number | undefined {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n >= 1 ? Math.trunc(n) : undefined;
}

function dateOf(value: unknown): Date | undefined {
  const parsed = Date.parse(String(value ?? ""));
  return Number.isNaN(parsed) ? undefined : new Date(parsed);
}

/** The run an action event names, adopting a setup-made run of the same execution and status. */
function knownRun(
  action: ModelAction,
  executionId: string,
  runId: string | undefined,
  status: ActionStatus,
): ActionRun | undefined {
  const candidate = latestRunOf(action, executionId);
  if (!runId) {
    // No id (hand-written event): the execution's latest run, if this event continues it.
    if (candidate && (candidate.status === status || candidate.status === "InProgress"))
      return candidate;
    return undefined;
  }
  const named = runsOf(action).find((r) => r.actionExecutionId === runId);
  if (named) return named;
  if (candidate?.adoptable && (candidate.status === status || candidate.status === "InProgress")) {
    candidate.actionExecutionId = runId;
    candidate.adoptable = false;
    if (runsOf(action).at(-1) === candidate) action.actionExecutionId = runId;
    return candidate;
  }
  return undefined;
}

/** Applies one action event to the model; returns the approval token it issued, if any. */
function recordActionEvent(
  pipeline: ModelPipeline,
  execution: ModelExecution,
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
  const action = ensureAction(pipeline, stage, name, category);
  action.category = category;
  action.provider = text(type.provider) ?? action.provider;
  const runId = text(detail["action-execution-id"]);
  const attempt = attemptOf(detail["pipeline-execution-attempt"]) ?? execution.attempt ?? 1;
  const result = (detail["execution-result"] ?? {}) as Record<string, unknown>;
  const outcome = {
    summary: text(result["external-execution-summary"]),
    externalExecutionUrl: text(result["external-execution-url"]),
    errorCode: status === "Failed" ? (text(result["error-code"]) ?? "JobFailed") : undefined,
  };
  const run = knownRun(action, executionId, runId, status);
  if (run) {
    // The same state again (a duplicate, or the setup already described it in detail): keep it.
    if (run.status === status) return undefined;
    updateRun(action, run, { status, lastUpdateTime: at, ...outcome });
    return undefined;
  }
  const started = startRun(action, {
    executionId,
    attempt,
    at,
    status,
    actionExecutionId: runId,
    adoptable: runId === undefined,
    ...(status === "InProgress" ? {} : outcome),
  });
  return category === "Approval" && status === "InProgress" ? started.token : undefined;
}

/** Applies a pipeline-level state and the attempt an event carries to the execution. */
function recordExecution(
  execution: ModelExecution,
  detail: Record<string, unknown>,
  pipelineLevel: boolean,
): void {
  const attempt = attemptOf(detail["pipeline-execution-attempt"]);
  const state = String(detail.state);
  const status = pipelineLevel ? EXECUTION_STATUS[state] : undefined;
  const retried = attempt !== undefined && attempt > (execution.attempt ?? 1);
  if (retried) execution.attempt = attempt;
  if (status === "InProgress") {
    // A late STARTED does not reopen a finished execution; RESUMED (a retry) does.
    if (state === "RESUMED" || execution.status === "InProgress") execution.status = status;
  } else if (status) {
    execution.status = status;
  } else if (retried && (state === "STARTED" || state === "RESUMED")) {
    execution.status = "InProgress";
  }
}

/**
 * Makes the model consistent with a CodePipeline state-change event, as if CodePipeline had
 * emitted it (see the module comment). Details a test or scenario set up before (a failed
 * action's summary, revisions, the token of that same run) are kept. Events of another `source`
 * or without pipeline and execution id are ignored. The pipeline is the one of the event's
 * `account` and `region` (accounts.ts: the home one when they name the stand-ins' own).
 * @returns the approval token issued for the event, if it issued one.
 */
export function recordEvent(state: AwsState, event: Record<string, unknown>): string | undefined {
  if (event.source !== "aws.codepipeline") return undefined;
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  const pipelineName = text(detail.pipeline);
  const executionId = text(detail["execution-id"]);
  if (!pipelineName || !executionId) return undefined;
  const at = dateOf(event.time) ?? new Date();
  // The pipeline of the event's account and region (accounts.ts); absent = the home one.
  const home = homeScope(rootState(state));
  const scope = {
    account: text(event.account) ?? home.account,
    region: text(event.region) ?? home.region,
  };
  const pipeline = ensurePipeline(codePipelineScope(state, scope), pipelineName);
  const known = pipeline.executions[executionId] !== undefined;
  const execution = ensureExecution(pipeline, executionId, dateOf(detail["start-time"]) ?? at);
  const trigger = (detail["execution-trigger"] ?? {}) as Record<string, unknown>;
  const triggerType = text(trigger["trigger-type"]);
  if (triggerType) {
    execution.trigger ??= { triggerType, triggerDetail: text(trigger["trigger-detail"]) };
    if (/Rollback$/.test(triggerType)) execution.executionType = "ROLLBACK";
  }
  const level = String(event["detail-type"] ?? "");
  if (!known) execution.attempt = attemptOf(detail["pipeline-execution-attempt"]) ?? 1;
  recordExecution(execution, detail, level.includes("Pipeline Execution"));
  const stage = text(detail.stage);
  if (level.includes("Stage Execution") && stage) ensureStage(pipeline, stage);
  if (level.includes("Action Execution"))
    return recordActionEvent(pipeline, execution, executionId, detail, at);
  return undefined;
}
