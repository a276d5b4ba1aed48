/**
 * Manual approvals in the CodePipeline model: pending approval runs, PutApprovalResult against
 * the run a token belongs to, and approval timeouts.
 *
 * Sources: API_PutApprovalResult.html (errors; `token`: "The token for each open approval request
 * can be obtained using the GetPipelineState action … For a pipeline where the execution mode is
 * set to PARALLEL, the token … is not available. Instead, use the externalExecutionId in the
 * response output from the ListActionExecutions action as the token"); userguide
 * approvals-approve-or-reject.html ("If the approver rejects the action, or if no approval
 * response is received within seven days of the pipeline stopping for the approval action, the
 * pipeline status is Failed"); ActionDeclaration `timeoutInMinutes` ("available only to the
 * manual approval ActionType"); REFERENCE.md "CodePipeline's lifecycle" (a rejection fails the
 * action, then the execution, with the same error code as a real failure; a token of an earlier
 * run answers InvalidApprovalTokenException).
 */
import { STANDIN_ACCOUNT, serviceError, type AwsState } from "../core";
import { admitWaiting, failExecution, reachStage, stageBusy } from "./executions";
import {
  actionsOf,
  ensureAction,
  ensureExecution,
  ensurePipeline,
  latestRunOf,
  modeOf,
  pipelineOf,
  runsOf,
  stageOf,
  startRun,
  updateRun,
  type ActionRun,
  type ModelAction,
  type ModelArtifactRevision,
  type ModelPipeline,
  type ModelTrigger,
} from "./model";
import { emitActionEvent, emitStageEvent } from "./outbox";
import { settleStop } from "./stops";

/** Who PutApprovalResult calls come from, as `lastUpdatedBy` reports it. */
const APPROVER_ARN = `arn:aws:iam::${STANDIN_ACCOUNT}:role/approver`;

/** Input of {@link addPendingApproval}. */
export interface PendingApprovalInput {
  pipeline: string;
  stage: string;
  action: string;
  executionId: string;
  /** Defaults to a random UUID, like CodePipeline's tokens. */
  token?: string;
  /** Default: start + the action's timeout (7 days unless `timeoutInMinutes`). */
  expiresAt?: Date;
  customData?: string;
  externalEntityLink?: string;
  /** Source revision of the execution (GetPipelineExecution). */
  revision?: ModelArtifactRevision;
  trigger?: ModelTrigger;
  /** The approval action's timeout in minutes (ActionDeclaration `timeoutInMinutes`). */
  timeoutInMinutes?: number;
  /** The run's id (default: a random UUID, which the first matching event may replace). */
  actionExecutionId?: string;
  /** When the run started (default: now). */
  at?: Date;
}

/**
 * Adds a pending manual approval run to the model (creating pipeline, stage and execution as
 * needed) and returns its token. No event is emitted: a setup helper, which does not look at the
 * stage lock (a run of another execution in progress stays, but is no longer the action's
 * latest); {@link admitPendingApproval} goes through it, as CodePipeline would.
 */
export function addPendingApproval(state: AwsState, input: PendingApprovalInput): string {
  const { action, execution, at } = declareApproval(state, input);
  const run = startRun(action, {
    executionId: input.executionId,
    attempt: execution.attempt ?? 1,
    at,
    token: input.token,
    actionExecutionId: input.actionExecutionId,
    adoptable: input.actionExecutionId === undefined,
  });
  if (input.expiresAt) updateRun(action, run, { expiresAt: input.expiresAt });
  return run.token ?? "";
}

/**
 * {@link addPendingApproval} through the stage lock, as a scenario's setup needs it: in QUEUED and
 * SUPERSEDED mode a stage runs one execution at a time (user guide, "How pipeline executions
 * work"), so while another execution is in the stage the execution waits there instead
 * (executions.ts `reachStage`: in SUPERSEDED mode it supersedes an older execution waiting there,
 * never the one in the stage) and enters, with a run and token of its own, when the stage frees.
 * @returns the new run's token, or why the execution waits.
 * @throws as {@link addPendingApproval}.
 */
export function admitPendingApproval(
  state: AwsState,
  input: PendingApprovalInput,
): { token: string } | { waiting: string } {
  const { pipeline, execution, at } = declareApproval(state, input);
  const stage = stageOf(pipeline, input.stage);
  if (!stageBusy(pipeline, stage, input.executionId))
    return { token: addPendingApproval(state, input) };
  const holder = stage.actions.find((a) => a.status === "InProgress")?.executionId;
  if (execution.waitingAt !== stage.name) reachStage(state, { ...input, at });
  return {
    waiting:
      `execution ${holder} is in stage ${stage.name} (${modeOf(pipeline)} mode: a stage runs ` +
      `one execution at a time); ${input.executionId} waits and enters when the stage is free`,
  };
}

/** Declares the approval action and the execution of `input` (no run yet). */
function declareApproval(state: AwsState, input: PendingApprovalInput) {
  const pipeline = ensurePipeline(state, input.pipeline);
  const at = input.at ?? new Date();
  const action = ensureAction(pipeline, input.stage, input.action, "Approval");
  Object.assign(action, {
    category: "Approval",
    provider: "Manual",
    customData: input.customData,
    externalEntityLink: input.externalEntityLink,
  } satisfies Partial<ModelAction>);
  if (input.timeoutInMinutes !== undefined) action.timeoutInMinutes = input.timeoutInMinutes;
  const execution = ensureExecution(pipeline, input.executionId, at);
  execution.trigger ??= input.trigger;
  if (input.revision && !execution.artifactRevisions)
    execution.artifactRevisions = [input.revision];
  return { pipeline, action, execution, at };
}

/**
 * The run a PutApprovalResult token decides. Only the latest run of an execution is decidable
 * (in PARALLEL mode: of each execution; otherwise: of the action) — an earlier run's token is
 * invalid; a decided run answers ApprovalAlreadyCompletedException.
 */
function runForToken(pipeline: ModelPipeline, action: ModelAction, token: unknown): ActionRun {
  const runs = runsOf(action);
  const run = runs.find((r) => r.token !== undefined && r.token === token);
  const parallel = modeOf(pipeline) === "PARALLEL";
  const pending = runs.filter((r) => r.status === "InProgress");
  const completed = () =>
    serviceError(
      "ApprovalAlreadyCompletedException",
      `Approval for ${action.name} is already completed`,
    );
  const invalid = () =>
    serviceError("InvalidApprovalTokenException", "The approval token is not valid");
  if (!run) {
    const open = parallel ? pending.length > 0 : action.status === "InProgress";
    throw open ? invalid() : completed();
  }
  const latest = parallel
    ? runs.filter((r) => r.pipelineExecutionId === run.pipelineExecutionId).at(-1)
    : runs.at(-1);
  if (latest !== run) throw invalid();
  if (run.status !== "InProgress") throw completed();
  return run;
}

/** API_PutApprovalResult.html / API_ApprovalResult.html request constraints. */
const NAME = /^[A-Za-z0-9.@\-_]{1,100}$/;
const TOKEN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** ApprovalResult `summary`: required, 0–512 characters (counted as UTF-16 units, the stricter). */
const SUMMARY_MAX = 512;

/**
 * The request's shape as the API reference constrains it, checked before any lookup as AWS
 * validates a request: names of 1–100 `[A-Za-z0-9.@\-_]`, a `token` of the documented UUID
 * pattern, `result.status` Approved | Rejected and a `result.summary` of at most 512 characters.
 * @throws ValidationException naming the first field that breaks its constraint.
 */
function validatePutApprovalResult(input: Record<string, unknown>): void {
  for (const field of ["pipelineName", "stageName", "actionName"]) {
    if (typeof input[field] !== "string" || !NAME.test(input[field]))
      throw serviceError("ValidationException", `Value at '${field}' failed to satisfy constraint`);
  }
  const result = (input.result ?? {}) as { status?: unknown; summary?: unknown };
  if (result.status !== "Approved" && result.status !== "Rejected") {
    throw serviceError("ValidationException", "result.status must be Approved or Rejected");
  }
  if (typeof result.summary !== "string" || result.summary.length > SUMMARY_MAX) {
    throw serviceError(
      "ValidationException",
      `Value at 'result.summary' failed to satisfy constraint: Member must have length less than or equal to ${SUMMARY_MAX}`,
    );
  }
  if (typeof input.token !== "string" || !TOKEN.test(input.token)) {
    throw serviceError(
      "ValidationException",
      "Value at 'token' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    );
  }
}

/**
 * PutApprovalResult: decides the run the token belongs to. Approved → the run Succeeded and the
 * Action SUCCEEDED event; Rejected → the run Failed (error code JobFailed, the summary as given,
 * e.g. "Rejected by …"), the Action FAILED event, then the execution Failed and the Pipeline
 * FAILED event. Either way, an execution waiting for the stage may then enter it. A run of an
 * execution being stopped and waited for (`Stopping`) ends with the action event only, and when
 * it was the last run in progress the execution is then `Stopped` (stops.ts `settleStop`).
 * `by` is the caller's ARN, which CodePipeline records as the run's `lastUpdatedBy` /
 * `updatedBy` (API_ActionExecution.html, API_ActionExecutionDetail.html): the approver role of
 * the approval function by default; a person deciding in the console is their IAM user or
 * assumed-role session (`arn:aws:sts::<account>:assumed-role/<role>/<session>`).
 * @throws ValidationException (the request's shape: {@link validatePutApprovalResult}),
 *   PipelineNotFoundException, StageNotFoundException, ActionNotFoundException,
 *   InvalidApprovalTokenException, ApprovalAlreadyCompletedException.
 */
export function putApprovalResult(
  state: AwsState,
  input: Record<string, unknown>,
  at: Date = new Date(),
  by: string = APPROVER_ARN,
): { approvedAt: Date } {
  validatePutApprovalResult(input);
  const name = String(input.pipelineName);
  const pipeline = pipelineOf(state, name);
  const stage = stageOf(pipeline, input.stageName);
  const action = stage.actions.find((a) => a.name === input.actionName);
  if (!action) {
    throw serviceError("ActionNotFoundException", `Action ${String(input.actionName)} not found`);
  }
  const result = input.result as { status: "Approved" | "Rejected"; summary: string };
  if (action.category !== "Approval") {
    throw serviceError("InvalidApprovalTokenException", "The approval token is not valid");
  }
  const run = runForToken(pipeline, action, input.token);
  const approved = result.status === "Approved";
  const summary = typeof result.summary === "string" ? result.summary : undefined;
  updateRun(action, run, {
    status: approved ? "Succeeded" : "Failed",
    summary,
    errorCode: approved ? undefined : "JobFailed",
    lastUpdateTime: at,
    lastUpdatedBy: by,
    decision: { outcome: result.status, by, at, summary },
  });
  const execution = ensureExecution(pipeline, run.pipelineExecutionId, at);
  emitActionEvent(
    state,
    {
      pipeline: name,
      execution,
      stage: stage.name,
      action,
      run,
      state: approved ? "SUCCEEDED" : "FAILED",
    },
    at,
  );
  const executionId = run.pipelineExecutionId;
  // Stop and wait: the run's end may be the last one the stop waited for (stops.ts).
  if (execution.status === "Stopping") {
    settleStop(state, name, executionId, at);
    return { approvedAt: at };
  }
  const stageDone = stage.actions.every((a) => latestRunOf(a, executionId)?.status === "Succeeded");
  if (!approved || stageDone) {
    const stageState = approved ? "SUCCEEDED" : "FAILED";
    emitStageEvent(
      state,
      { pipeline: name, executionId, execution, stage: stage.name, state: stageState },
      at,
    );
  }
  if (!approved) failExecution(state, name, executionId, at);
  admitWaiting(state, name, stage.name, at);
  return { approvedAt: at };
}

/** An approval run that {@link expireApprovals} failed. */
export interface ExpiredApproval {
  pipeline: string;
  stage: string;
  action: string;
  executionId: string;
  actionExecutionId: string;
  token?: string;
  expiresAt: Date;
}

function expiredOf(
  pipeline: string,
  stage: string,
  action: string,
  run: ActionRun,
): ExpiredApproval {
  return {
    pipeline,
    stage,
    action,
    executionId: run.pipelineExecutionId,
    actionExecutionId: run.actionExecutionId,
    token: run.token,
    expiresAt: run.expiresAt as Date,
  };
}

/**
 * Advances the model's clock to `now`: every pending approval run whose expiry has passed fails
 * as CodePipeline fails a timed-out approval — the Approval action FAILED with no "Rejected by"
 * summary and no execution-result (issue 10 item 3), then the execution FAILED — and the events
 * are emitted (a `Stopping` execution's run: the action event, then stops.ts `settleStop`). A
 * later PutApprovalResult with its token answers ApprovalAlreadyCompletedException.
 * @returns the expired runs.
 */
export function expireApprovals(state: AwsState, now: Date = new Date()): ExpiredApproval[] {
  const expired: ExpiredApproval[] = [];
  for (const [name, pipeline] of Object.entries(state.codepipeline.pipelines)) {
    for (const { stage, action } of actionsOf(pipeline)) {
      if (action.category !== "Approval") continue;
      for (const run of runsOf(action)) {
        if (run.status !== "InProgress" || !run.expiresAt || run.expiresAt > now) continue;
        updateRun(action, run, {
          status: "Failed",
          summary: undefined,
          errorCode: undefined,
          lastUpdateTime: now,
          decision: { outcome: "Expired", at: now },
        });
        const execution = ensureExecution(pipeline, run.pipelineExecutionId, now);
        emitActionEvent(
          state,
          { pipeline: name, execution, stage: stage.name, action, run, state: "FAILED" },
          now,
        );
        if (execution.status === "Stopping") {
          settleStop(state, name, run.pipelineExecutionId, now);
          expired.push(expiredOf(name, stage.name, action.name, run));
          continue;
        }
        const stageEvent = { pipeline: name, executionId: run.pipelineExecutionId, execution };
        emitStageEvent(state, { ...stageEvent, stage: stage.name, state: "FAILED" }, now);
        failExecution(state, name, run.pipelineExecutionId, now);
        admitWaiting(state, name, stage.name, now);
        expired.push(expiredOf(name, stage.name, action.name, run));
      }
    }
  }
  return expired;
}
