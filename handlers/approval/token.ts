/**
 * Finds the approval token of exactly the run a decision was claimed for, or why there is none.
 *
 * - `GetPipelineState` shows each action's `latestExecution` (its `actionExecutionId`, `status`
 *   and, while `InProgress`, the approval `token`): enough when the claimed run is that one
 *   (API reference, GetPipelineState / ActionExecution).
 * - In `PARALLEL` execution mode GetPipelineState does not show the token of every execution;
 *   AWS says to use `output.executionResult.externalExecutionId` from `ListActionExecutions` as
 *   the token instead (API reference, PutApprovalResult, `token`). The same list, filtered by the
 *   pipeline execution, tells a run that was replaced by a newer one (a retried stage runs the
 *   action again with a new action execution id and token: REFERENCE.md, CodePipeline's
 *   lifecycle).
 *
 * SDK errors are thrown (work.ts sorts them into final and transient).
 */
import type * as CodePipelineSdk from "@aws-sdk/client-codepipeline";
import { listActionRuns } from "../action-runs";
import { codepipelineFor } from "../aws";
import { approvalPipelineRef } from "../contracts/slack-approval";
import type { ApprovalTarget } from "./types";
import {
  endedReason,
  endOf,
  executionStatus,
  snapshotOfDetail,
  snapshotOfState,
  type RunSnapshot,
} from "./ended";
import type { RunEnd } from "./ended";
import { REPLACED } from "./messages";

/** What the lookup found for the claimed run. */
export type RunToken =
  | {
      status: "pending";
      token: string;
      /**
       * The claimed execution is stopping (stop and wait: GetPipelineState's stage
       * `latestExecution.status` `Stopping`; user guide, "Stop a pipeline execution": in-progress
       * actions complete, then the execution is Stopped): the run can still be decided, but the
       * execution goes no further.
       */
      stopping?: boolean;
    }
  | { status: "superseded"; reason: string; decided?: Decided }
  | { status: "final"; reason: string; decided?: Decided; end?: RunEnd };

/**
 * How the claimed run was decided by a PutApprovalResult: its status (`Succeeded` for Approved,
 * `Failed` for Rejected) and summary (GetPipelineState `latestExecution.summary`, or
 * ListActionExecutions `output.executionResult.externalExecutionSummary`).
 */
export interface Decided {
  status: string;
  summary: string;
}

/** {@link Decided} of a run that has a decision status and a summary, else undefined. */
function decidedOf(status: string | undefined, summary: string | undefined): Decided | undefined {
  return (status === "Succeeded" || status === "Failed") && summary
    ? { status, summary }
    : undefined;
}

const NOT_PENDING = "this approval is no longer pending";
const NO_TOKEN = "this approval has expired or was already handled";
const SUPERSEDED = `this request was ${REPLACED}`;

type Sdk = typeof CodePipelineSdk;
type ActionRun = CodePipelineSdk.ActionExecutionDetail;

/** The runs of the claimed stage and action within the claimed pipeline execution. */
async function runsOf(target: ApprovalTarget): Promise<ActionRun[]> {
  const runs = await listActionRuns(approvalPipelineRef(target), target.executionId);
  return runs.filter((r) => r.stageName === target.stage && r.actionName === target.action);
}

/**
 * Why a run that is no longer InProgress (or, `run` undefined, was not found) cannot be decided,
 * as ended.ts words it: already approved / rejected in CodePipeline (by whom, when, its summary:
 * e.g. the console, or an earlier work of ours that decided and then died), expired, or its
 * execution stopped / superseded / cancelled; "no longer pending" when CodePipeline does not say.
 * `decided` carries a decision's status and summary (work.ts tells its own lost-reply decision).
 * A run read from GetPipelineState is classified by its ListActionExecutions details
 * ({@link resultOf}).
 */
async function notPending(
  sdk: Sdk,
  target: ApprovalTarget,
  run: RunSnapshot | undefined,
  fromState = false,
): Promise<RunToken> {
  const decided = decidedOf(run?.status, run?.summary);
  const read = fromState ? await resultOf(target, run) : run;
  const end = read === null ? undefined : await endOf(sdk, target, read);
  if (!end) return { status: "final", reason: NOT_PENDING, ...(decided && { decided }) };
  return { status: "final", reason: endedReason(target, end), end, ...(decided && { decided }) };
}

/**
 * A run GetPipelineState showed ended, as ListActionExecutions details it: its result's summary
 * (`output.executionResult.externalExecutionSummary`) and its start (how long an expired run
 * waited). GetPipelineState's `summary` is no approval result: a waiting approval's run already
 * shows one, the request's comments (user guide, "Approve or reject an approval action in
 * CodePipeline", CLI step 2), so a run that expired with it would read as rejected. Null when
 * the listing fails or does not hold a run that Failed (rejected or expired: not known); a run
 * that Succeeded keeps its status, who and when, without that summary. Other runs unchanged.
 */
async function resultOf(
  target: ApprovalTarget,
  run: RunSnapshot | undefined,
): Promise<RunSnapshot | undefined | null> {
  if (!run?.id || (run.status !== "Failed" && run.status !== "Succeeded")) return run;
  const runs = await runsOf(target).catch(() => []);
  const detail = runs.find((r) => r.actionExecutionId === run.id);
  if (detail) return snapshotOfDetail(detail);
  return run.status === "Succeeded" ? { ...run, summary: undefined } : null;
}

/**
 * The latest run of the claimed action in the claimed execution (ListActionExecutions), for a
 * button posted without a run while the stage shows another execution; undefined when there is
 * none or CodePipeline does not list the execution. An InProgress run is read as not pending
 * (the stage shows another execution's run: nothing tells this run was the one asked for).
 */
async function latestRunOf(target: ApprovalTarget): Promise<RunSnapshot | undefined> {
  const runs = await runsOf(target).catch(() => []);
  const latest = runs.sort(
    (a, b) => (b.startTime?.getTime() ?? 0) - (a.startTime?.getTime() ?? 0),
  )[0];
  return latest && snapshotOfDetail(latest);
}

/** The token of an InProgress run in ListActionExecutions (PARALLEL mode), or why there is none. */
function tokenOfRun(run: ActionRun): RunToken {
  const token = run.output?.executionResult?.externalExecutionId;
  return token ? { status: "pending", token } : { status: "final", reason: NO_TOKEN };
}

/** Whether `other` started after `run` (a later run of the same action). */
function startedAfter(other: ActionRun, run: ActionRun | undefined): boolean {
  if (!run?.startTime || !other.startTime) return run === undefined;
  return other.startTime.getTime() > run.startTime.getTime();
}

/**
 * The claimed run named by its action execution id (buttons posted with a run). The run must
 * belong to the claimed execution: GetPipelineState's action run is taken only while the stage
 * shows that execution (`stage.latestExecution.pipelineExecutionId`); otherwise the run is looked
 * up among the claimed execution's own runs (ListActionExecutions filtered by it), so a value
 * that pairs one execution with another execution's run decides nothing.
 */
async function findNamedRun(
  sdk: Sdk,
  target: ApprovalTarget & { actionExecutionId: string },
  stage: CodePipelineSdk.StageState,
  latest: CodePipelineSdk.ActionExecution | undefined,
): Promise<RunToken> {
  const id = target.actionExecutionId;
  const inStage = stage.latestExecution?.pipelineExecutionId === target.executionId;
  if (inStage && latest?.actionExecutionId === id) {
    if (latest.status !== "InProgress") {
      return notPending(sdk, target, snapshotOfState(latest), true);
    }
    if (latest.token) return { status: "pending", token: latest.token };
    // InProgress without a token: PARALLEL mode, read it from the run's details below.
  }
  const runs = await runsOf(target);
  const run = runs.find((r) => r.actionExecutionId === id);
  if (run?.status === "InProgress") return tokenOfRun(run);
  // Replaced only by a newer run of the same execution (a retried stage). The stage showing
  // another execution's run says nothing about this one: that is the next release waiting at the
  // approval, after this run expired or was decided (new-user pass, round 10).
  const newer =
    (inStage && latest?.actionExecutionId !== undefined && latest.actionExecutionId !== id) ||
    runs.some((r) => r.actionExecutionId !== id && startedAfter(r, run));
  // A decided run says how (work.ts tells its own lost-reply decision from someone else's).
  const decided = decidedOf(run?.status, run?.output?.executionResult?.externalExecutionSummary);
  if (newer) return { status: "superseded", reason: SUPERSEDED, ...(decided && { decided }) };
  return notPending(sdk, target, run && snapshotOfDetail(run));
}

/**
 * The pending run of a button posted before runs were told apart: only while GetPipelineState
 * shows its execution in the stage with the action InProgress (the current run). Without a run
 * id nothing tells which run the button was posted for, so a stage showing another execution is
 * "no longer pending"; a token hidden by PARALLEL mode is read from the execution's one
 * InProgress run in ListActionExecutions.
 */
async function findCurrentRun(
  sdk: Sdk,
  target: ApprovalTarget,
  stage: CodePipelineSdk.StageState,
  latest: CodePipelineSdk.ActionExecution | undefined,
): Promise<RunToken> {
  if (stage.latestExecution?.pipelineExecutionId !== target.executionId || !latest) {
    return notPending(sdk, target, await latestRunOf(target));
  }
  if (latest.status !== "InProgress") {
    return notPending(sdk, target, snapshotOfState(latest), true);
  }
  if (latest.token) return { status: "pending", token: latest.token };
  const pending = (await runsOf(target)).filter((r) => r.status === "InProgress");
  return pending.length === 1 ? tokenOfRun(pending[0]) : { status: "final", reason: NO_TOKEN };
}

/**
 * The approval token of the run `target` names (its `actionExecutionId`), or of its execution's
 * current run for a target without one; else whether the run was superseded or is final, with
 * why in words. Throws CodePipeline's errors.
 */
export async function findRunToken(sdk: Sdk, target: ApprovalTarget): Promise<RunToken> {
  const { GetPipelineStateCommand } = sdk;
  const state = await codepipelineFor(approvalPipelineRef(target)).send(
    new GetPipelineStateCommand({ name: target.pipeline }),
  );
  const stage = state.stageStates?.find((s) => s.stageName === target.stage);
  if (!stage) return { status: "final", reason: "stage not found" };
  const action = stage.actionStates?.find((a) => a.actionName === target.action);
  if (!action) return { status: "final", reason: "action not found" };
  const { actionExecutionId } = target;
  const found = await (actionExecutionId
    ? findNamedRun(sdk, { ...target, actionExecutionId }, stage, action.latestExecution)
    : findCurrentRun(sdk, target, stage, action.latestExecution));
  if (found.status !== "pending") return found;
  return (await isStopping(sdk, target, stage)) ? { ...found, stopping: true } : found;
}

/**
 * Whether the claimed execution is stopping (stop and wait): the stage's `latestExecution.status`
 * when the stage shows that execution (no extra call), else its own status from
 * GetPipelineExecution (API_PipelineExecution.html `status` Stopping): in PARALLEL mode the stage
 * may show a newer execution while the claimed one is stopped and waited for. A failed read
 * says not stopping (only the note is lost; the decision stands).
 */
async function isStopping(
  sdk: Sdk,
  target: ApprovalTarget,
  stage: CodePipelineSdk.StageState,
): Promise<boolean> {
  const shown = stage.latestExecution;
  if (shown?.pipelineExecutionId === target.executionId) return shown.status === "Stopping";
  return (await executionStatus(sdk, target)) === "Stopping";
}
