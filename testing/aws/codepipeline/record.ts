/**
 * `recordEvent`: an event posted to the sandbox's `POST /events` stands for one CodePipeline
 * emitted, so the model learns what the event implies — the execution (with its attempt, trigger
 * and, for a rollback trigger, its type), the stage, and the action run (`action-execution-id`,
 * status, result); an approval STARTED of a run the model does not hold registers a pending
 * approval with a fresh token (each run has its own token: API_PutApprovalResult.html). Nothing is
 * emitted for the event itself: it already happened. Enrichment of the event then finds
 * everything it asks GetPipelineExecution, ListActionExecutions and GetPipeline for.
 *
 * Only what CodePipeline could have emitted is recorded:
 * - an event of the wrong shape (shape.ts: a malformed id, an unknown state) is not recorded at
 *   all: CodePipeline never had that execution;
 * - a new run of an action in another execution while an execution is in the stage (QUEUED and
 *   SUPERSEDED mode: "stages are locked" while an execution is in them, user guide "How pipeline
 *   executions work") is not started: the execution waits for the stage (in SUPERSEDED mode it
 *   supersedes an older waiting execution), and enters it when the stage is free, with new runs
 *   and their STARTED events emitted then (executions.ts `admitWaiting`); the holder's run and
 *   token stay as they are. An end (SUCCEEDED, FAILED, …) of an action of a stage the execution
 *   still waits for is not recorded: it has no run there;
 * - a new run of an action in the same execution and attempt while its run is in progress is not
 *   recorded: a second run needs a stage retry (API_RetryStageExecution.html), which raises
 *   `pipeline-execution-attempt`. A run of a later attempt is a retry: it gets a new token and the
 *   earlier run's token is no longer valid (REFERENCE.md, CodePipeline's lifecycle). A retry
 *   re-runs only actions that are not in progress (FAILED_ACTIONS: the failed ones, "actions that
 *   are still in progress continue working"; ALL_ACTIONS: "the stage cannot have any actions in
 *   progress": userguide pipelines-actions-retry.html), so the action's earlier-attempt run still
 *   in progress had ended without its event being posted: it is `Abandoned`, as below;
 * A run that ends (a posted SUCCEEDED, FAILED, …) frees its stage for a waiting execution, and so
 * does the posted end of its execution (the run is then `Abandoned`: its own end was not posted).
 * A posted Pipeline STOPPING or STOPPED records the stop and its `stop-execution-comments`, which
 * ListPipelineExecutions then returns as `stopTrigger.reason` (stops.ts `recordStop`).
 */
import { codePipelineScope, homeScope, rootState } from "./accounts";
import type { AwsState } from "../core";
import { admitWaiting, reachStage, stageBusy } from "./executions";
import {
  ensureAction,
  ensureExecution,
  ensurePipeline,
  ensureStage,
  latestRunOf,
  modeOf,
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
import { notCodePipelines } from "./shape";
import { recordStop } from "./stops";

/** What {@link recordEvent} made of a posted event. */
export interface RecordedEvent {
  /** The approval token issued for a new approval run. */
  token?: string;
  /** Why the model did not record the event: CodePipeline could not have emitted it. */
  notRecorded?: string;
  /**
   * Why CodePipeline would not start the event's run now: its execution waits for a stage another
   * execution is in; the STARTED events are emitted when it enters.
   */
  waiting?: string;
}

/** Where an action event applies: the scope's state, the pipeline and its execution. */
interface ActionTarget {
  state: AwsState;
  name: string;
  pipeline: ModelPipeline;
  execution: ModelExecution;
  executionId: string;
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

/**
 * Why a new run of `action` for the target's execution cannot start now, if it cannot: its run of
 * the same attempt is still in progress (refused), or another execution is in the stage (the
 * execution waits for it).
 */
function newRunBlocked(
  target: ActionTarget,
  stageName: string,
  action: ModelAction,
  attempt: number,
): Pick<RecordedEvent, "notRecorded" | "waiting"> {
  const own = latestRunOf(action, target.executionId);
  if (own?.status === "InProgress" && own.attempt >= attempt) {
    return {
      notRecorded:
        `run ${own.actionExecutionId} of ${action.name} in execution ${target.executionId} ` +
        `(attempt ${own.attempt}) is still in progress; another run needs a stage retry, whose ` +
        "events carry a higher pipeline-execution-attempt",
    };
  }
  const stage = ensureStage(target.pipeline, stageName);
  if (!stageBusy(target.pipeline, stage, target.executionId)) return {};
  const holder = stage.actions.find((a) => a.status === "InProgress")?.executionId;
  if (target.execution.waitingAt !== stageName) {
    reachStage(target.state, {
      pipeline: target.name,
      executionId: target.executionId,
      stage: stageName,
    });
  }
  return {
    waiting:
      `execution ${holder} is in stage ${stageName} (${modeOf(target.pipeline)} mode: a stage runs ` +
      `one execution at a time); ${target.executionId} waits and enters when the stage is free`,
  };
}

/**
 * A run of a later `attempt` of the execution starts: the action's run of an earlier attempt still
 * in progress had ended (a retry re-runs only actions that are not in progress: see the module
 * comment) without its event being posted, so it is `Abandoned` and its token no longer decides.
 */
function endEarlierAttempt(
  action: ModelAction,
  executionId: string,
  attempt: number,
  at: Date,
): void {
  const own = latestRunOf(action, executionId);
  if (own?.status === "InProgress" && own.attempt < attempt)
    updateRun(action, own, { status: "Abandoned", lastUpdateTime: at });
}

/** Applies one action event to the model (see the module comment). */
function recordActionEvent(
  target: ActionTarget,
  detail: Record<string, unknown>,
  at: Date,
): RecordedEvent {
  const { pipeline, execution, executionId } = target;
  const status = ACTION_STATUS[String(detail.state)];
  const stage = text(detail.stage);
  const name = text(detail.action);
  if (!status || !stage || !name) return {};
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
    if (run.status === status) return {};
    const ended = run.status === "InProgress";
    updateRun(action, run, { status, lastUpdateTime: at, ...outcome });
    // The run's end frees the stage: an execution waiting for it enters (QUEUED / SUPERSEDED).
    if (ended) admitWaiting(target.state, target.name, stage, at);
    return {};
  }
  if (status !== "InProgress" && execution.waitingAt === stage) {
    return {
      notRecorded:
        `execution ${executionId} waits to enter stage ${stage} (a stage runs one execution at a ` +
        `time): it has no run of ${name} there that could have ended`,
    };
  }
  if (status === "InProgress") endEarlierAttempt(action, executionId, attempt, at);
  if (status === "InProgress" && modeOf(pipeline) !== "PARALLEL") {
    const blocked = newRunBlocked(target, stage, action, attempt);
    if (blocked.notRecorded || blocked.waiting) return blocked;
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
  return category === "Approval" && status === "InProgress" ? { token: started.token } : {};
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

/** Execution statuses after which none of its action runs can still be in progress. */
const FINISHED: readonly ExecutionStatus[] = [
  "Succeeded",
  "Failed",
  "Stopped",
  "Cancelled",
  "Superseded",
];

/**
 * An execution a posted Pipeline event says has finished has no run in progress any more: a run
 * the model still holds in progress for it ended without its own event being posted, so it is
 * `Abandoned` (API_ActionExecution.html status; how it ended is unknown), its token no longer
 * decides, and a waiting execution may enter the stages it held (executions.ts `admitWaiting`).
 */
function endRunsOf(target: Omit<ActionTarget, "execution">, at: Date): void {
  const { pipeline, executionId } = target;
  const execution = pipeline.executions[executionId];
  if (!execution || !FINISHED.includes(execution.status)) return;
  execution.waitingAt = undefined;
  const freed = new Set<string>();
  for (const stage of pipeline.stages) {
    for (const action of stage.actions) {
      const run = latestRunOf(action, executionId);
      if (run?.status !== "InProgress") continue;
      updateRun(action, run, { status: "Abandoned", lastUpdateTime: at });
      freed.add(stage.name);
    }
  }
  for (const stage of freed) admitWaiting(target.state, target.name, stage, at);
}

/**
 * Makes the model consistent with a CodePipeline state-change event, as if CodePipeline had
 * emitted it (see the module comment). Details a test or scenario set up before (a failed
 * action's summary, revisions, the token of that same run) are kept. Events of another `source`
 * are ignored; an event CodePipeline could not have emitted (shape.ts) is not recorded. The
 * pipeline is the one of the event's `account` and `region` (accounts.ts: the home one when they
 * name the stand-ins' own). May emit events: a run's end lets a waiting execution enter its stage.
 * @returns the approval token issued for the event, or why it was not recorded or waits.
 */
export function recordEvent(state: AwsState, event: Record<string, unknown>): RecordedEvent {
  if (event.source !== "aws.codepipeline") return {};
  const home = homeScope(rootState(state));
  const stamped = {
    ...event,
    account: event.account ?? home.account,
    region: event.region ?? home.region,
  };
  const invalid = notCodePipelines(stamped);
  if (invalid) return { notRecorded: `CodePipeline could not have emitted it: ${invalid}` };
  const detail = event.detail as Record<string, unknown>;
  const pipelineName = String(detail.pipeline);
  const executionId = String(detail["execution-id"]);
  const at = dateOf(event.time) ?? new Date();
  // The pipeline of the event's account and region (accounts.ts).
  const scopeState = codePipelineScope(state, {
    account: String(stamped.account),
    region: String(stamped.region),
  });
  const pipeline = ensurePipeline(scopeState, pipelineName);
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
  const stopping = detail.state === "STOPPING" || detail.state === "STOPPED";
  if (level.includes("Pipeline Execution") && stopping)
    recordStop(pipeline, executionId, text(detail["stop-execution-comments"]), at);
  recordExecution(execution, detail, level.includes("Pipeline Execution"));
  const target = { state: scopeState, name: pipelineName, pipeline, execution, executionId };
  if (level.includes("Pipeline Execution")) endRunsOf(target, at);
  const stage = text(detail.stage);
  if (level.includes("Stage Execution") && stage) ensureStage(pipeline, stage);
  if (!level.includes("Action Execution")) return {};
  return recordActionEvent(target, detail, at);
}
