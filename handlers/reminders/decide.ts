/**
 * What a scan does with one pending request, and how the request's approval run stands in
 * CodePipeline. The run's state comes from `ListActionExecutions` filtered by the pipeline
 * execution (API reference, API_ListActionExecutions.html): unlike `GetPipelineState`, which shows
 * only each action's latest execution, it lists every run of every action of the execution, so
 * it answers in all three execution modes (in `PARALLEL` mode GetPipelineState does not show every
 * execution; REFERENCE.md, CodePipeline's lifecycle). The fan-out already may call it
 * (enrichment), so the scan needs no further CodePipeline grant.
 */
// Types only: ../action-runs.ts requires the SDK when a scan asks, not at the archive's top.
import type { ActionExecutionDetail } from "@aws-sdk/client-codepipeline";
import { listActionRuns } from "../action-runs";
import { approvalPipelineRef } from "../contracts/slack-approval";
import { failedApprovalKind } from "../events";
import { isStepTaken, type StoredPending } from "../store/pending";

/** How the approval run of a request stands. */
export type RunStatus =
  /** Still waiting for a decision (`InProgress`). */
  | { kind: "pending" }
  /**
   * Ended as a FAILED approval with no summary and no caller (`updatedBy`): nobody answered
   * within its timeout (REFERENCE.md, CodePipeline's lifecycle: an expired approval has no
   * "Rejected by" summary). A rejection's summary may be empty (API_ApprovalResult.html:
   * "Minimum length of 0"), but its caller is named (events/classify.ts `failedApprovalKind`).
   * `endedAt` is when CodePipeline ended it.
   */
  | { kind: "expired"; endedAt?: Date }
  /** Approved, rejected (in Slack or the console) or abandoned (superseded, stopped). */
  | { kind: "ended"; status: string }
  /** CodePipeline does not list the run (the execution is unknown, or it never recorded it). */
  | { kind: "unknown" };

/** The run of `p` among an execution's action executions: by its id, else its latest. */
export function findRun(
  p: Pick<StoredPending, "stage" | "action" | "actionExecutionId">,
  details: ActionExecutionDetail[],
): ActionExecutionDetail | undefined {
  if (p.actionExecutionId) {
    const exact = details.find((d) => d.actionExecutionId === p.actionExecutionId);
    if (exact) return exact;
  }
  return details
    .filter((d) => d.stageName === p.stage && d.actionName === p.action)
    .sort((a, b) => (b.startTime?.getTime() ?? 0) - (a.startTime?.getTime() ?? 0))[0];
}

/** The {@link RunStatus} of one listed run (undefined: not listed). */
export function runStatus(run: ActionExecutionDetail | undefined): RunStatus {
  if (!run) return { kind: "unknown" };
  if (run.status === "InProgress") return { kind: "pending" };
  const summary = run.output?.executionResult?.externalExecutionSummary;
  if (
    run.status === "Failed" &&
    failedApprovalKind(summary, run.updatedBy) === "approval-expired"
  ) {
    return { kind: "expired", endedAt: run.lastUpdateTime };
  }
  return { kind: "ended", status: String(run.status) };
}

/**
 * CodePipeline's answers that it does not know the execution (API_ListActionExecutions.html,
 * Errors: PipelineExecutionNotFoundException, "cannot be found, or an execution ID does not belong
 * to the specified pipeline"; PipelineNotFoundException: the pipeline was deleted). The run is
 * then `unknown`, as a run the listing leaves out, and forgotten after {@link UNKNOWN_GRACE_MS}.
 */
const NOT_KNOWN = ["PipelineExecutionNotFoundException", "PipelineNotFoundException"];

/**
 * Asks CodePipeline how the approval run of `p` stands; `unknown` when CodePipeline does not know
 * its execution or pipeline ({@link NOT_KNOWN}). Throws the SDK's other errors (throttling, a
 * denied call) for the caller to log; the request stays for the next scan.
 */
export async function lookUpRun(p: StoredPending, signal?: AbortSignal): Promise<RunStatus> {
  try {
    const runs = await listActionRuns(approvalPipelineRef(p), p.executionId, signal);
    return runStatus(findRun(p, runs));
  } catch (err: unknown) {
    if (NOT_KNOWN.includes(String((err as { name?: unknown } | null)?.name))) {
      return { kind: "unknown" };
    }
    throw err;
  }
}

/** What a scan does with one request. */
export type ScanStep = "remind" | "expire" | "forget" | "wait";

/**
 * How long a request CodePipeline does not know is kept after its expiry before it is forgotten
 * (ms): the execution may simply not be listed yet by an eventually consistent read.
 */
export const UNKNOWN_GRACE_MS = 86_400_000;

/**
 * Whether the scan must ask CodePipeline about `p` at all at `now`: only when it may be reminded
 * (lead window open, reminder not taken: store/pending.ts `isStepTaken`) or may have expired
 * (expiry not taken). A reminded request waits for its expiry without calls; a claim whose
 * lease ran out unsettled is free again.
 */
export function needsLookUp(p: StoredPending, now: Date, leadMs: number): boolean {
  if (isStepTaken(p, "expiredAt", now)) return false;
  const expires = Date.parse(p.approvalExpiresAt);
  if (now.getTime() >= expires) return true;
  return leadMs > 0 && !isStepTaken(p, "remindedAt", now) && now.getTime() >= expires - leadMs;
}

/**
 * The step for `p` at `now`, given its run's status and the reminder lead (ms; 0: no reminder):
 * - `remind` once, while the run is pending, within `leadMs` before the expiry and not after it;
 *   "once": while the reminder is not taken (store/pending.ts `isStepTaken`);
 * - `expire` when CodePipeline ended the run as expired and the expiry is not taken;
 * - `forget` when it ended otherwise (decided in Slack or the console, abandoned), or when
 *   CodePipeline has not known it for {@link UNKNOWN_GRACE_MS} after the expiry;
 * - `wait` otherwise (including a run still pending after the expected expiry: a timeout longer
 *   than the default, or CodePipeline's clock; the run's own end decides).
 */
export function decideStep(
  p: StoredPending,
  status: RunStatus,
  now: Date,
  leadMs: number,
): ScanStep {
  const expires = Date.parse(p.approvalExpiresAt);
  const t = now.getTime();
  switch (status.kind) {
    case "pending":
      return leadMs > 0 &&
        !isStepTaken(p, "remindedAt", now) &&
        t >= expires - leadMs &&
        t < expires
        ? "remind"
        : "wait";
    case "expired":
      return isStepTaken(p, "expiredAt", now) ? "wait" : "expire";
    case "ended":
      return "forget";
    case "unknown":
      return t >= expires + UNKNOWN_GRACE_MS ? "forget" : "wait";
    default: {
      const never: never = status;
      return never;
    }
  }
}
