/**
 * Where an execution is in CodePipeline's lifecycle, in words every channel shares (issue 10):
 * the attempt of a retried stage, how long an expired approval waited, what a rollback did and
 * what the execution mode meant for a superseded or stopped execution. Pure; no escaping (each
 * channel escapes for its medium).
 */
import type { Notification } from "../types";

/** `pipeline-execution-attempt` when it is a retry (2, 3, …); undefined for the first run. */
export function retryAttempt(n: Notification): number | undefined {
  return n.attempt !== undefined && Number.isInteger(n.attempt) && n.attempt > 1
    ? n.attempt
    : undefined;
}

/** CodePipeline's default approval timeout: 7 days (user guide, "Manage approval actions"). */
export const DEFAULT_APPROVAL_TIMEOUT_MINUTES = 7 * 24 * 60;

/**
 * How long an approval waited before it expired, in words: the approval action's
 * `timeoutInMinutes` when known, else CodePipeline's default, "7 days".
 */
export function approvalTimeoutWords(n: Notification): string {
  const minutes = n.approval?.timeoutMinutes ?? DEFAULT_APPROVAL_TIMEOUT_MINUTES;
  const unit = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  if (minutes % 1440 === 0) return unit(minutes / 1440, "day");
  if (minutes % 60 === 0) return unit(minutes / 60, "hour");
  return unit(minutes, "minute");
}

/** The first 8 characters of an execution id, enough to tell executions apart in a title. */
export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

/**
 * What a rollback did, in one sentence: "rolled back to execution <target>, after <failed>
 * failed" (user guide, "View rollback status details"); parts CodePipeline did not say are left
 * out. `short` uses the first 8 characters of each id (titles).
 */
export function rollbackWords(n: Notification, short = false): string | undefined {
  const r = n.rollback;
  if (!r) return undefined;
  const id = (value: string) => (short ? shortId(value) : value);
  const how = r.trigger === "ManualRollback" ? "manual rollback" : "automatic rollback";
  const to = r.targetExecutionId ? ` to execution ${id(r.targetExecutionId)}` : "";
  const after = r.failedExecutionId ? `, after ${id(r.failedExecutionId)} failed` : "";
  return `${how}${to}${after}`;
}

/**
 * What the execution mode meant for this execution (API reference, `PipelineExecution.status`
 * and `executionMode`): a superseded execution was replaced by a newer one while it waited for
 * the next stage; a stopped one was stopped by someone. Undefined when there is nothing to add.
 */
export function executionModeWords(n: Notification): string | undefined {
  const mode = n.executionMode;
  if (n.kind === "superseded") {
    return "a newer execution advanced and continued through the pipeline instead of this one";
  }
  if (!mode || mode === "SUPERSEDED") return undefined;
  if (n.kind === "stopped" || n.kind === "canceled") {
    // Stopping: the stage unlocks only once the stop is done (userguide pipelines-stop.html).
    const when = n.state === "STOPPING" ? "once this one has stopped" : "now";
    return mode === "QUEUED"
      ? `executions queue in this pipeline (QUEUED mode): the next one in the queue runs ${when}`
      : "executions run side by side in this pipeline (PARALLEL mode): the others go on";
  }
  return undefined;
}

/**
 * Facts about where this execution is in CodePipeline's lifecycle, for the detail section of
 * each medium: the attempt of a retried stage, the execution mode, and what a rollback did.
 */
export function lifecycleFacts(n: Notification): { title: string; value: string }[] {
  const facts: { title: string; value: string }[] = [];
  const attempt = retryAttempt(n);
  if (attempt) facts.push({ title: "Attempt", value: String(attempt) });
  if (n.executionMode) facts.push({ title: "Execution mode", value: n.executionMode });
  const rollback = rollbackWords(n);
  if (rollback) facts.push({ title: "Rollback", value: rollback });
  const mode = executionModeWords(n);
  if (mode) facts.push({ title: "What happened", value: mode });
  return facts;
}
