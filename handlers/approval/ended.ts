/**
 * Why the claimed approval run can no longer be decided, in the product's words (token.ts asks
 * once the run is not InProgress):
 * - decided by a PutApprovalResult (in the console, the CLI, or an earlier work of ours): the run
 *   `Succeeded` (Approved) or `Failed` with the reviewer's summary (Rejected; PutApprovalResult
 *   requires `result.summary`, API_ApprovalResult.html), who (`lastUpdatedBy` of GetPipelineState's
 *   ActionExecution, `updatedBy` of ListActionExecutions' ActionExecutionDetail: an ARN) and when
 *   (`lastStatusChange` / `lastUpdateTime`). Neither API returns an approval result of its own:
 *   the run's status and summary are all CodePipeline says of the decision;
 * - expired: `Failed` with no caller and no summary, or one that speaks of a timeout
 *   (REFERENCE.md, CodePipeline's lifecycle; a rejection's summary may be empty or speak of
 *   expiry, its caller is still named: `endOfRun`). The summary is
 *   the result's (ListActionExecutions `externalExecutionSummary`; token.ts reads a run that
 *   GetPipelineState showed ended there): GetPipelineState's own `summary` already holds the
 *   request's comments while the run waits;
 * - otherwise (`Abandoned`, or no run of the execution to read): the execution's status from
 *   GetPipelineExecution (API_PipelineExecution.html: Stopped, Stopping, Superseded, Cancelled,
 *   Failed, Succeeded), worded by reminders/messages.ts `approvalEndedText`, with a stop's reason
 *   from ListPipelineExecutions ({@link stopReason}).
 * A CodePipeline error while learning why only loses the why ("no longer pending").
 */
import type * as CodePipelineSdk from "@aws-sdk/client-codepipeline";
import { codepipelineFor } from "../aws";
import { approvalPipelineRef } from "../contracts/slack-approval";
import { callerName, failedApprovalKind } from "../events";
import { wellFormed } from "../events/fields";
import { redactAndCut } from "../redact";
import { approvalEndedText, type ApprovalEnd } from "../reminders/messages";
import { escapeSlackText, fitLine, humanTime, slackTime, type LinePiece } from "../slack-text";
import { HEADER_MAX_CHARS, mentionOf, type RequestEnding } from "./messages";
import type { ApprovalClaim, ApprovalTarget } from "./types";

/** How the claimed run ended: decided by someone (who and when, when CodePipeline says), or not. */
export type RunEnd =
  | { kind: "decided"; status: "Succeeded" | "Failed"; summary: string; by?: string; at?: Date }
  | ApprovalEnd;

/** What is known of the claimed run when it is no longer InProgress. */
export interface RunSnapshot {
  /** The run's action execution id. */
  id?: string;
  status?: string;
  summary?: string;
  /** The ARN of who last changed the run. */
  by?: string;
  /** When the run last changed (ended). */
  at?: Date;
  /** When the run started (ListActionExecutions only). */
  startedAt?: Date;
}

/** What a CodePipeline answer says of a run (GetPipelineState's ActionExecution). */
export function snapshotOfState(run: CodePipelineSdk.ActionExecution): RunSnapshot {
  return {
    id: run.actionExecutionId,
    status: run.status,
    summary: run.summary,
    by: run.lastUpdatedBy,
    at: run.lastStatusChange,
  };
}

/** What a CodePipeline answer says of a run (ListActionExecutions' ActionExecutionDetail). */
export function snapshotOfDetail(run: CodePipelineSdk.ActionExecutionDetail): RunSnapshot {
  return {
    id: run.actionExecutionId,
    status: run.status,
    summary: run.output?.executionResult?.externalExecutionSummary,
    by: run.updatedBy,
    at: run.lastUpdateTime,
    startedAt: run.startTime,
  };
}

/**
 * The run's end when the run itself says it: decided or expired; undefined otherwise. A Failed
 * run is a rejection when CodePipeline names who ended it (the caller of PutApprovalResult:
 * `lastUpdatedBy` / `updatedBy`), whatever its summary says, or when its summary says so:
 * `result.summary` may be empty (API_ApprovalResult.html: "Minimum length of 0"), so
 * `put-approval-result --result status=Rejected,summary=` rejects with no summary at all, and a
 * reviewer's comment may speak of expiry ("cert expired"). CodePipeline documents no caller for
 * a timeout (events/classify.ts `failedApprovalKind`).
 */
function endOfRun(run: RunSnapshot): RunEnd | undefined {
  const summary = run.summary ?? "";
  const rejected = run.status === "Failed" && failedApprovalKind(summary, run.by) === "rejection";
  if (run.status === "Succeeded" || rejected) {
    const status = run.status === "Succeeded" ? "Succeeded" : "Failed";
    return { kind: "decided", status, summary, by: run.by, at: run.at };
  }
  if (run.status !== "Failed") return undefined;
  const waitedMs = run.at && run.startedAt ? run.at.getTime() - run.startedAt.getTime() : undefined;
  return { kind: "expired", waitedMs };
}

/** The claimed execution's status (GetPipelineExecution), or undefined when it cannot be read. */
export async function executionStatus(
  sdk: typeof CodePipelineSdk,
  target: ApprovalTarget,
): Promise<string | undefined> {
  try {
    const out = await codepipelineFor(approvalPipelineRef(target)).send(
      new sdk.GetPipelineExecutionCommand({
        pipelineName: target.pipeline,
        pipelineExecutionId: target.executionId,
      }),
    );
    return out.pipelineExecution?.status;
  } catch {
    return undefined;
  }
}

/**
 * How many of the pipeline's latest executions are searched for the stop's reason: one page of
 * ListPipelineExecutions at its largest (`maxResults` 1–100, default 100,
 * API_ListPipelineExecutions.html). Still one call; a busy pipeline may start dozens of
 * executions while a request waits (a request's run lasts up to 7 days).
 */
const STOP_REASON_SEARCH = 100;

/**
 * Why the claimed execution was stopped, as whoever stopped it wrote it: ListPipelineExecutions'
 * `stopTrigger.reason` (API_PipelineExecutionSummary.html, API_StopExecutionTrigger.html;
 * GetPipelineExecution returns none), among the pipeline's {@link STOP_REASON_SEARCH} latest
 * executions (newest first: the one a click names is recent), made well-formed (a lone UTF-16
 * surrogate, which a JSON escape can carry, becomes U+FFFD: events/fields.ts `wellFormed`; no
 * Slack post, claim or audit record gets text that is not Unicode), redacted and cut to
 * StopPipelineExecution's 200 characters. Undefined when none was given, the execution is not
 * among them, or the call fails (only the reason is lost).
 */
async function stopReason(
  sdk: typeof CodePipelineSdk,
  target: ApprovalTarget,
): Promise<string | undefined> {
  try {
    const out = await codepipelineFor(approvalPipelineRef(target)).send(
      new sdk.ListPipelineExecutionsCommand({
        pipelineName: target.pipeline,
        maxResults: STOP_REASON_SEARCH,
      }),
    );
    const mine = out.pipelineExecutionSummaries?.find(
      (e) => e.pipelineExecutionId === target.executionId,
    );
    const reason = mine?.stopTrigger?.reason?.trim();
    return reason ? redactAndCut(wellFormed(reason), [], 200) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How the claimed run ended (see the module comment), from what was read of it (`run`; undefined
 * when no run of the claimed execution was found); undefined when CodePipeline does not say.
 * Both callers may read a stop's reason: the approval Lambda (its `Approvals` statement) and the
 * fan-out, which rewrites a request that ended without a click (its `Enrichment` statement;
 * infra/grants.ts).
 */
export async function endOf(
  sdk: typeof CodePipelineSdk,
  target: ApprovalTarget,
  run: RunSnapshot | undefined,
): Promise<RunEnd | undefined> {
  if (run?.status === "InProgress") return undefined;
  const own = run && endOfRun(run);
  if (own) return own;
  const status = await executionStatus(sdk, target);
  if (!status || status === "InProgress") return undefined;
  const stopped = status === "Stopped" || status === "Stopping";
  const reason = stopped ? await stopReason(sdk, target) : undefined;
  return { kind: "execution", status, executionId: target.executionId, endedAt: run?.at, reason };
}

/** "approved" / "rejected" for a decided run's status. */
export function decidedVerb(end: Extract<RunEnd, { kind: "decided" }>): string {
  return end.status === "Succeeded" ? "approved" : "rejected";
}

/** How a reason writes a time and someone else's text: for Slack mrkdwn, plain text, the audit. */
export interface Writing {
  time: (iso: string) => string;
  text: (text: string) => string;
}

/** mrkdwn: Slack's `<!date>` (slack-text.ts `slackTime`), others' text escaped. */
export const MRKDWN: Writing = { time: slackTime, text: escapeSlackText };
/** Plain text ("2026-12-01 14:02 UTC", slack-text.ts `humanTime`), e.g. a claim's outcome. */
export const PLAIN: Writing = { time: humanTime, text: (text) => text };
/** The audit record: ISO 8601 times, as every audit field. */
export const AUDIT: Writing = { time: (iso) => iso, text: (text) => text };

/**
 * Why the run of an ended request can no longer be decided, written as `w` says ({@link PLAIN}
 * by default; pipeline names cannot hold mrkdwn): "Already approved in CodePipeline by
 * role/approver at 2026-12-01 14:02 UTC: <summary>" ("Already approved through Slack at …:
 * Approved by Jane Doe (U012ABC) via Slack" for a decision of ours whose work stopped before it
 * reported), or reminders/messages.ts `approvalEndedText` for an undecided end.
 */
export function endedReason(target: ApprovalTarget, end: RunEnd, w: Writing = PLAIN): string {
  if (end.kind !== "decided") return approvalEndedText(target, end, w.time, w.text);
  const at = end.at ? ` at ${w.time(end.at.toISOString())}` : "";
  const summary = end.summary ? `: ${w.text(redactAndCut(wellFormed(end.summary), [], 200))}` : "";
  if (decidedViaSlack(end)) return `Already ${decidedVerb(end)} through Slack${at}${summary}`;
  const by = end.by ? ` by ${w.text(callerName(end.by))}` : "";
  return `Already ${decidedVerb(end)} in CodePipeline${by}${at}${summary}`;
}

/**
 * What the clicker of an ended run can do next, in CodePipeline's console words (plain text):
 * - rejected or expired: the approval action failed, and so did its stage (user guide, "Manage
 *   approval actions": rejected or unanswered within the timeout, "the result is the same as an
 *   action failing"); a failed stage can be retried, which triggers its failed actions again
 *   (user guide, "Configuring stage retry for a failed stage or failed actions": the console's
 *   "Retry failed actions", API RetryStageExecution `FAILED_ACTIONS`): a new action execution
 *   of the approval, whose own request is posted;
 * - its execution stopped: "For a pipeline execution in a Stopped state, the actions in the stage
 *   where the execution stopped can be retried" (user guide, "Stop a pipeline execution"): retry
 *   the stage, as above, which asks again for the same revision ("Release change" would start
 *   the latest source revision instead);
 * - its execution cancelled (the pipeline was updated): nothing of it can be resumed; "Release
 *   change" (StartPipelineExecution) starts a new execution with the latest source revision (user
 *   guide, "Start a pipeline manually");
 * - superseded: the newer execution asks for its own approval when it reaches the stage;
 * - its execution failed elsewhere: retry the failed stage, as above;
 * - approved, or the execution succeeded: nothing.
 */
export function nextStep(target: ApprovalTarget, end: RunEnd): string {
  const retry = `To release it, retry stage ${target.stage} in CodePipeline ("Retry failed actions"); it asks again.`;
  const release = 'To deploy, start a new execution ("Release change" in CodePipeline).';
  if (end.kind === "decided") {
    return end.status === "Succeeded" ? "Nothing to do: the execution goes on." : retry;
  }
  if (end.kind === "expired") return retry;
  switch (end.status) {
    case "Superseded":
      return `The newer execution asks again when it reaches stage ${target.stage}.`;
    case "Stopped":
    case "Stopping":
      return retry;
    case "Failed":
      return 'To release it, retry the failed stage in CodePipeline ("Retry failed actions").';
    case "Succeeded":
      return "Nothing to do.";
    default:
      return release;
  }
}

/**
 * The run was decided by this product for a Slack click (its summary is one messages.ts
 * `approvalSummary` writes: "Approved by Jane Doe (U012ABC) via Slack[: reason]"), whose work
 * stopped before it reported (a Lambda timeout after PutApprovalResult): CodePipeline's caller is
 * then the approval Lambda's own role, which says nothing to the clicker, so the summary, which
 * names who clicked, is what is shown. A console reviewer who types the same words is shown the
 * same way; what they decided is shown right either way.
 */
function decidedViaSlack(end: Extract<RunEnd, { kind: "decided" }>): boolean {
  return /^(Approved|Rejected) by .+ via Slack(: |$)/s.test(end.summary);
}

/**
 * How a request whose run ended reads once its buttons are gone (messages.ts `replaceButtons`):
 * decided: "✅ main-app: approved in CodePipeline by role/approver at 2026-12-01 14:02 UTC" (plain
 * text, names cut to fit Slack's header, never the rest: slack-text.ts `fitLine`; or "approved
 * through Slack at …" for a decision of ours whose work stopped before it reported), the
 * Decision field likewise with Slack's `<!date>`; undecided: "🚫 main-app: ended without a
 * decision", the State field the reason (`reason`: mrkdwn, {@link MRKDWN}). With
 * `next` ({@link nextStep}, plain text), the field also says what to do next, so that everyone in
 * the channel reads it, not only the clicker (the new-user pass).
 */
export function endedEnding(
  target: ApprovalTarget,
  end: RunEnd,
  reason: string,
  next?: string,
): RequestEnding {
  const then = next ? `\n➡️ ${escapeSlackText(next)}` : "";
  const pipeline = { cut: target.pipeline };
  if (end.kind !== "decided") {
    return {
      header: fitLine(["🚫 ", pipeline, ": ended without a decision"], HEADER_MAX_CHARS),
      state: `*State*\n🚫 ${reason}${then}`,
    };
  }
  const icon = end.status === "Succeeded" ? "✅" : "❌";
  const by = end.by ? ` by ${callerName(end.by)}` : "";
  const where = decidedViaSlack(end) ? " through Slack" : ` in CodePipeline${by}`;
  const iso = end.at?.toISOString();
  const verb = decidedVerb(end);
  const at = iso ? ` at ${humanTime(iso)}` : "";
  const who: LinePiece[] = decidedViaSlack(end)
    ? [" through Slack"]
    : [" in CodePipeline", ...(end.by ? [" by ", { cut: callerName(end.by), path: true }] : [])];
  return {
    header: fitLine([`${icon} `, pipeline, `: ${verb}`, ...who, at], HEADER_MAX_CHARS),
    state:
      `*Decision*\n${icon} ${verb[0].toUpperCase()}${verb.slice(1)}${escapeSlackText(where)}` +
      (iso ? ` at ${slackTime(iso)}` : "") +
      then,
  };
}

/** The context line under an ended request: its reason (mrkdwn) and who clicked when. */
export function endedLine(claim: ApprovalClaim, end: RunEnd, reason: string): string {
  const icon = end.kind !== "decided" ? "🚫" : end.status === "Succeeded" ? "✅" : "❌";
  const clicked = `clicked by ${mentionOf(claim.user.id)} at ${slackTime(claim.at)}`;
  return `${icon} ${reason} (${clicked}).`;
}
