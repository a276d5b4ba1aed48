/**
 * Enrichment: what the event does not say, asked of the CodePipeline API. A pipeline-level
 * FAILED says neither which action failed nor why (nor whether an approval was rejected or
 * expired); no event carries the commit, the execution mode or the rollback target. Every call is
 * time-bounded: on a timeout or an error, people get what is known and a note that says so.
 */
import type * as CodePipelineSdk from "@aws-sdk/client-codepipeline";
import type { ActionExecutionDetail, PipelineExecution } from "@aws-sdk/client-codepipeline";
// The pipeline's own account and region: an assumed role outside home (issue 14).
import { codepipelineFor } from "./aws";
import { DEFAULT_APPROVAL_TIMEOUT_MINUTES } from "./channels/lifecycle";
import {
  commitMessageOf,
  describeTrigger,
  callerName,
  failedApprovalKind,
  isRejectionSummary,
  rejectedBy,
  rollbackOf,
} from "./events";
import { wellFormInPlace } from "./events/fields";
import type { ExecutionMode, Notification, SourceRevision } from "./types";
import { roundTripTimeoutMs } from "./http";
import { safeHttpUrl } from "./url";

/**
 * The CodePipeline SDK's commands, required on first use, not at the top: an import at the top of
 * the archive loads the client on every cold start (about 10 ms and its share of memory), even
 * for a batch that never enriches (a success with nothing to resolve, a duplicate, a collapsed
 * failure). Type-only imports above are erased at compile time.
 */
function sdk(): typeof CodePipelineSdk {
  return require("@aws-sdk/client-codepipeline") as typeof CodePipelineSdk;
}

/**
 * How long enrichment may take in all, by default (ms of AWS time; `enrich` divides it by the
 * sandbox's `TIME_SCALE`, at least 1 s of real time: `roundTripTimeoutMs`, http.ts).
 */
export const ENRICH_TIMEOUT_MS = 2500;

/**
 * Errors that mean "CodePipeline does not know this execution/pipeline" rather than "the lookup
 * failed": an event posted by hand to the sandbox, or a pipeline deleted since. People get what
 * the event says, without an error note (API reference, GetPipelineExecution / GetPipeline /
 * ListActionExecutions errors).
 */
const NOT_KNOWN: readonly string[] = [
  "PipelineExecutionNotFoundException",
  "PipelineNotFoundException",
  "ActionNotFoundException",
  "StageNotFoundException",
];

/** The note for a failed lookup; undefined when CodePipeline simply does not know the execution. */
function errorText(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "name" in err) {
    const name = String((err as { name: unknown }).name);
    if (NOT_KNOWN.includes(name)) return undefined;
    if (name === "AbortError" || name === "TimeoutError") return "CodePipeline API timed out";
    return `CodePipeline API error ${name}`;
  }
  return "CodePipeline API error";
}

/**
 * Completes `n` from the failed action that ListActionExecutions reported (pure; mutates `n`).
 * The action decides what the FAILED execution was: a Failed Approval action is a `rejection`
 * when it has a summary (every decision has one), else `approval-expired` (no decision within its timeout:
 * user guide, "Manage approval actions"); any other failed action makes it a `failure`, even if
 * an approval of this execution was rejected in Slack earlier (a retried stage that fails again
 * is a failure: REFERENCE.md, CodePipeline's lifecycle).
 */
export function applyFailedAction(n: Notification, failed: ActionExecutionDetail): void {
  const result = failed.output?.executionResult as
    | {
        externalExecutionSummary?: string;
        externalExecutionUrl?: string;
        errorDetails?: { code?: string; message?: string };
      }
    | undefined;
  n.stage ??= failed.stageName;
  n.action ??= failed.actionName;
  n.actionCategory ??= failed.input?.actionTypeId?.category;
  n.actionProvider ??= failed.input?.actionTypeId?.provider;
  // An empty summary or error message says nothing (the event parser drops empty strings too).
  const summary = result?.externalExecutionSummary || result?.errorDetails?.message || undefined;
  n.summary ??= summary;
  n.errorCode ??= result?.errorDetails?.code;
  n.externalUrl ??= safeHttpUrl(result?.externalExecutionUrl);
  if (failed.input?.actionTypeId?.category === "Approval") {
    // PutApprovalResult's summary, or its caller when the comment was empty, tells a decision
    // from a timeout; the error message does not (events/classify.ts failedApprovalKind).
    n.kind = failedApprovalKind(result?.externalExecutionSummary, failed.updatedBy);
  } else if (isRejectionSummary(summary)) {
    n.kind = "rejection";
  } else {
    n.kind = "failure";
    delete n.decidedBy;
  }
  if (n.kind === "rejection") {
    const caller = failed.updatedBy ? callerName(failed.updatedBy) : undefined;
    n.decidedBy ??= rejectedBy(summary) ?? caller;
  }
  if (n.kind === "approval-expired") {
    delete n.decidedBy;
    n.approval ??= { approvers: [] };
  }
}

/** Fills the failing stage and action of a FAILED execution, and what kind of FAILED it was. */
async function failedAction(n: Notification, signal: AbortSignal): Promise<void> {
  const out = await codepipelineFor(n).send(
    new (sdk().ListActionExecutionsCommand)({
      pipelineName: n.pipeline,
      filter: { pipelineExecutionId: n.executionId },
      maxResults: 100,
    }),
    { abortSignal: signal },
  );
  const failed = (out.actionExecutionDetails ?? [])
    .filter((d) => d.status === "Failed" && (!n.stage || d.stageName === n.stage))
    .filter((d) => !n.action || d.actionName === n.action)
    .sort((a, b) => (b.lastUpdateTime?.getTime() ?? 0) - (a.lastUpdateTime?.getTime() ?? 0))[0];
  if (failed) applyFailedAction(n, failed);
}

const EXECUTION_MODES: readonly string[] = ["SUPERSEDED", "QUEUED", "PARALLEL"];

/**
 * Completes `n` from GetPipelineExecution's `pipelineExecution` (pure; mutates `n`): the source
 * revision, the trigger, the execution mode, and for an execution of type `ROLLBACK` what it
 * rolled back to (`rollbackMetadata.rollbackTargetPipelineExecutionId`; API reference,
 * `PipelineExecution` and `PipelineRollbackMetadata`; user guide, "View rollback status details").
 */
export function applyExecution(n: Notification, exec: PipelineExecution | undefined): void {
  if (!exec) return;
  const rev = exec.artifactRevisions?.[0];
  if (rev && !n.revision?.id) {
    const revision: SourceRevision = {
      id: rev.revisionId,
      // An empty summary is no message (the event parser drops empty strings the same way).
      message: commitMessageOf(rev.revisionSummary || undefined),
      url: safeHttpUrl(rev.revisionUrl),
    };
    n.revision = { ...revision, ...(n.revision ?? {}) };
  }
  const trigger = { type: exec.trigger?.triggerType, detail: exec.trigger?.triggerDetail };
  if (trigger.type && !n.trigger) n.trigger = describeTrigger(trigger);
  if (exec.executionMode && EXECUTION_MODES.includes(exec.executionMode)) {
    n.executionMode = exec.executionMode as ExecutionMode;
  }
  const fromTrigger = rollbackOf(trigger);
  const kind = fromTrigger?.trigger ?? n.rollback?.trigger;
  if (kind && (exec.executionType === "ROLLBACK" || fromTrigger || n.rollback)) {
    const target = exec.rollbackMetadata?.rollbackTargetPipelineExecutionId;
    n.rollback = {
      ...n.rollback,
      ...fromTrigger,
      trigger: kind,
      ...(target && { targetExecutionId: target }),
    };
  }
}

/** Fills the source revision, trigger, execution mode and rollback of the execution. */
async function execution(n: Notification, signal: AbortSignal): Promise<void> {
  const out = await codepipelineFor(n).send(
    new (sdk().GetPipelineExecutionCommand)({
      pipelineName: n.pipeline,
      pipelineExecutionId: n.executionId,
    }),
    { abortSignal: signal },
  );
  applyExecution(n, out.pipelineExecution);
}

/** Fills an approval's custom data, review link and timeout (`timeoutInMinutes`). */
async function approvalAction(n: Notification, signal: AbortSignal): Promise<void> {
  if (!n.stage || !n.action) return;
  const out = await codepipelineFor(n).send(new (sdk().GetPipelineCommand)({ name: n.pipeline }), {
    abortSignal: signal,
  });
  const action = out.pipeline?.stages
    ?.find((s) => s.name === n.stage)
    ?.actions?.find((a) => a.name === n.action);
  const config = action?.configuration ?? {};
  if (!n.approval) return;
  n.approval.customData ??= config.CustomData;
  n.approval.reviewUrl ??= safeHttpUrl(config.ExternalEntityLink);
  const minutes = action?.timeoutInMinutes;
  if (typeof minutes === "number" && minutes > 0) {
    n.approval.timeoutMinutes = minutes;
    if (n.kind === "approval-request") {
      n.approval.expiresAt = new Date(Date.parse(n.time) + minutes * 60_000).toISOString();
    }
  }
}

type Lookup = (n: Notification, signal: AbortSignal) => Promise<void>;

/** The first round of look-ups `n` needs (all run at once). */
function lookupsFor(n: Notification): Lookup[] {
  const lookups: Lookup[] = [];
  const failing = n.kind === "failure" || n.kind === "rejection" || n.kind === "approval-expired";
  // An Approval FAILED event read as expired although it has a summary (one that speaks of a
  // timeout): the event names no caller, ListActionExecutions does (`updatedBy`, a rejection's:
  // events/classify.ts failedApprovalKind), so "cert expired, do not ship" is told as rejected.
  const unsure = n.kind === "approval-expired" && n.level === "action" && !!n.summary;
  // A rejection whose summary names no one (a comment typed in the console, not "Rejected by
  // …"): who rejected it is the caller CodePipeline recorded (`updatedBy`), not "an approver".
  const nameless = n.kind === "rejection" && !n.decidedBy;
  if (failing && (n.level !== "action" || !n.summary || unsure || nameless)) {
    lookups.push(failedAction);
  }
  const told = ["approval-request", "success", "superseded", "stopped", "canceled"];
  if (failing || told.includes(n.kind)) lookups.push(execution);
  if (n.kind === "approval-request" || (n.kind === "approval-expired" && n.level === "action")) {
    lookups.push(approvalAction);
  }
  return lookups;
}

/** Runs `lookups` at once; the notes of those that failed. */
async function run(n: Notification, lookups: Lookup[], signal: AbortSignal): Promise<string[]> {
  const results = await Promise.allSettled(lookups.map((lookup) => lookup(n, signal)));
  return results.flatMap((r) => {
    const text = r.status === "rejected" ? errorText(r.reason) : undefined;
    return text ? [text] : [];
  });
}

/**
 * Completes `n` in place from the CodePipeline API, within `timeoutMs` in all. Never throws: a
 * failed or late look-up adds a note and leaves the rest as it was; a look-up CodePipeline
 * answers with "not found" (a hand-posted event) adds nothing.
 */
export async function enrich(
  n: Notification,
  timeoutMs = roundTripTimeoutMs(ENRICH_TIMEOUT_MS, 1000),
): Promise<Notification> {
  if (n.kind === "approval-request" && n.approval && !n.approval.expiresAt) {
    const ms = DEFAULT_APPROVAL_TIMEOUT_MINUTES * 60_000;
    n.approval.expiresAt = new Date(Date.parse(n.time) + ms).toISOString();
  }
  const first = lookupsFor(n);
  if (first.length === 0) return n;
  const expiredBefore = n.kind === "approval-expired" && n.level === "action";
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const reasons = await run(n, first, controller.signal);
    // A pipeline-level FAILED found to be an expired approval: its timeout, in the same budget.
    if (n.kind === "approval-expired" && !expiredBefore && !controller.signal.aborted) {
      reasons.push(...(await run(n, [approvalAction], controller.signal)));
    }
    const unique = [...new Set(reasons)];
    if (unique.length > 0) {
      n.notes = [...(n.notes ?? []), `Some details are unavailable: ${unique.join(", ")}.`];
    }
  } finally {
    clearTimeout(timer);
  }
  // The API's text is as untrusted as the event's: no lone surrogate reaches a channel (issue 12).
  return wellFormInPlace(n);
}
