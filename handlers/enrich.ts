/**
 * Enrichment: what the event does not say, asked of the CodePipeline API. A pipeline-level
 * FAILED says neither which action failed nor why; no event carries the commit. Every call is
 * time-bounded: on a timeout or an error, people get what is known and a note that says so.
 */
import {
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
} from "@aws-sdk/client-codepipeline";
import { codepipeline } from "./aws";
import { commitMessageOf, describeTrigger, isRejectionSummary, rejectedBy } from "./events";
import type { Notification, SourceRevision } from "./types";
import { safeHttpUrl } from "./url";

/** How long enrichment may take in all, by default (ms). */
export const ENRICH_TIMEOUT_MS = 2500;
/** CodePipeline's default approval timeout (REFERENCE.md: approvals time out after 7 days). */
const APPROVAL_TIMEOUT_MS = 7 * 86400 * 1000;

function errorText(err: unknown): string {
  if (typeof err === "object" && err !== null && "name" in err) {
    const name = String((err as { name: unknown }).name);
    if (name === "AbortError" || name === "TimeoutError") return "CodePipeline API timed out";
    return `CodePipeline API error ${name}`;
  }
  return "CodePipeline API error";
}

/** Fills the failing stage and action of a FAILED execution, and detects rejections. */
async function failedAction(n: Notification, signal: AbortSignal): Promise<void> {
  const out = await codepipeline().send(
    new ListActionExecutionsCommand({
      pipelineName: n.pipeline,
      filter: { pipelineExecutionId: n.executionId },
      maxResults: 100,
    }),
    { abortSignal: signal },
  );
  const failed = (out.actionExecutionDetails ?? [])
    .filter((d) => d.status === "Failed" && (!n.stage || d.stageName === n.stage))
    .sort((a, b) => (b.lastUpdateTime?.getTime() ?? 0) - (a.lastUpdateTime?.getTime() ?? 0))[0];
  if (!failed) return;
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
  n.summary ??= result?.externalExecutionSummary ?? result?.errorDetails?.message;
  n.errorCode ??= result?.errorDetails?.code;
  n.externalUrl ??= safeHttpUrl(result?.externalExecutionUrl);
  if (n.actionCategory === "Approval" || isRejectionSummary(n.summary)) {
    n.kind = "rejection";
    n.decidedBy ??= rejectedBy(n.summary);
  }
}

/** Fills the source revision and the trigger of the execution. */
async function execution(n: Notification, signal: AbortSignal): Promise<void> {
  const out = await codepipeline().send(
    new GetPipelineExecutionCommand({
      pipelineName: n.pipeline,
      pipelineExecutionId: n.executionId,
    }),
    { abortSignal: signal },
  );
  const exec = out.pipelineExecution;
  const rev = exec?.artifactRevisions?.[0];
  if (rev && !n.revision?.id) {
    const revision: SourceRevision = {
      id: rev.revisionId,
      // An empty summary is no message (the event parser drops empty strings the same way).
      message: commitMessageOf(rev.revisionSummary || undefined),
      url: safeHttpUrl(rev.revisionUrl),
    };
    n.revision = { ...revision, ...(n.revision ?? {}) };
  }
  if (exec?.trigger?.triggerType && !n.trigger) {
    n.trigger = describeTrigger({
      type: exec.trigger.triggerType,
      detail: exec.trigger.triggerDetail,
    });
  }
}

/** Fills an approval request's custom data, review link and expiry. */
async function approvalAction(n: Notification, signal: AbortSignal): Promise<void> {
  const out = await codepipeline().send(new GetPipelineCommand({ name: n.pipeline }), {
    abortSignal: signal,
  });
  const action = out.pipeline?.stages
    ?.find((s) => s.name === n.stage)
    ?.actions?.find((a) => a.name === n.action);
  const config = action?.configuration ?? {};
  if (n.approval) {
    n.approval.customData ??= config.CustomData;
    n.approval.reviewUrl ??= safeHttpUrl(config.ExternalEntityLink);
  }
}

/**
 * Completes `n` in place from the CodePipeline API, within `timeoutMs` in all. Never throws: a
 * failed or late look-up adds a note and leaves the rest as it was.
 */
export async function enrich(
  n: Notification,
  timeoutMs = ENRICH_TIMEOUT_MS,
): Promise<Notification> {
  const lookups: Array<(n: Notification, signal: AbortSignal) => Promise<void>> = [];
  const failing = n.kind === "failure" || n.kind === "rejection";
  if (failing && (n.level !== "action" || !n.summary)) lookups.push(failedAction);
  if (failing || n.kind === "approval-request" || n.kind === "success") lookups.push(execution);
  if (n.kind === "approval-request") {
    lookups.push(approvalAction);
    if (n.approval && !n.approval.expiresAt) {
      n.approval.expiresAt = new Date(Date.parse(n.time) + APPROVAL_TIMEOUT_MS).toISOString();
    }
  }
  if (lookups.length === 0) return n;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const results = await Promise.allSettled(lookups.map((lookup) => lookup(n, controller.signal)));
    const reasons = [
      ...new Set(results.flatMap((r) => (r.status === "rejected" ? [errorText(r.reason)] : []))),
    ];
    if (reasons.length > 0) {
      n.notes = [...(n.notes ?? []), `Some details are unavailable: ${reasons.join(", ")}.`];
    }
  } finally {
    clearTimeout(timer);
  }
  return n;
}
