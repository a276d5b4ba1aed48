/**
 * Turns a validated event into the one {@link Notification} model every channel formats.
 */
import { createHash } from "node:crypto";
import { pipelineKeyOf } from "../contracts/pipeline-id";
import type { Notification, RollbackInfo, Severity } from "../types";
import { safeHttpUrl } from "../url";
import { classify, rejectedBy } from "./classify";
import { compact } from "./fields";
import { MAX_TEXT_CHARS, type CodePipelineEvent } from "./model";
import { commitMessageOf, describeTrigger, isSourceAction, revisionOf } from "./revision";

/**
 * CodePipeline console link of an execution (REFERENCE.md, AWS CodePipeline):
 * `https://<region>.console.aws.amazon.com/codesuite/codepipeline/pipelines/<pipeline>/executions/<execution-id>/timeline?region=<region>`.
 * Path segments are percent-encoded; valid CodePipeline names are left unchanged by that.
 */
export function consoleUrl(region: string, pipeline: string, executionId: string): string {
  const r = encodeURIComponent(region);
  return (
    `https://${r}.console.aws.amazon.com/codesuite/codepipeline/pipelines/` +
    `${encodeURIComponent(pipeline)}/executions/${encodeURIComponent(executionId)}/timeline?region=${r}`
  );
}

/**
 * Stable id of the notification an event produces, from its content: pipeline (its key across
 * accounts, contracts/pipeline-id.ts: the bare name at home, else its ARN), execution id,
 * level, stage, action, state, execution attempt and, for Approval action events that carry one,
 * the `action-execution-id`. Not the EventBridge id: CodePipeline events are at-least-once, and a
 * duplicate may carry a different event id (but the same action execution id: it names one run
 * of the action). The attempt is part of it because a retried stage that fails again is a new
 * failure that people must hear about; the action execution id because each run of an approval
 * action is a request of its own, with its own token (REFERENCE.md, CodePipeline's lifecycle).
 * Other events keep the id they always had.
 * 24 hex characters (96 bits) of SHA-256.
 */
export function notificationId(ev: CodePipelineEvent): string {
  const parts: unknown[] = [
    "v1",
    // The pipeline key (issue 14): the bare name at home, so home ids are what they were.
    pipelineKeyOf(ev),
    ev.executionId,
    ev.level,
    ev.stage ?? "",
    ev.action ?? "",
    ev.state,
    ev.attempt ?? 1,
  ];
  const approval = ev.actionType?.category?.toLowerCase() === "approval";
  if (approval && ev.actionExecutionId !== undefined) parts.push(ev.actionExecutionId);
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 24);
}

/**
 * The rollback an execution is, from its trigger (`execution-trigger` of the event, or
 * GetPipelineExecution's `trigger`): `AutomatedRollback` / `ManualRollback` (API reference,
 * `ExecutionTrigger`); undefined for any other trigger. The rollback target is not in the trigger
 * (GetPipelineExecution's `rollbackMetadata` has it: enrich.ts). `triggerDetail` is not read:
 * AWS documents it only as "detail related to the event" (a caller ARN in the ManualRollback
 * sample of the user guide, "View rollback status details") and says nothing of its content for
 * AutomatedRollback, so the failed execution is taken from what we know instead (the incident the
 * rollback resolves: fanout/plan.ts).
 */
export function rollbackOf(
  trigger: { type?: string; detail?: string } | undefined,
): RollbackInfo | undefined {
  const type = trigger?.type;
  if (type !== "AutomatedRollback" && type !== "ManualRollback") return undefined;
  return { trigger: type };
}

/**
 * Turns a validated event into the one {@link Notification} model every channel formats. Fills
 * everything the event itself says; the enrichment step adds what only the CodePipeline API knows.
 */
export function normalize(
  ev: CodePipelineEvent,
  route: { tier: string; severity: Severity },
): Notification {
  const kind = classify(ev);
  const resultSummary = ev.result?.externalExecutionSummary;
  const summary =
    (isSourceAction(ev) ? commitMessageOf(resultSummary) : resultSummary) ?? ev.stopComments;
  const notes: string[] = [];
  const rawUrl = ev.result?.externalExecutionUrl;
  const externalUrl = safeHttpUrl(rawUrl);
  if (rawUrl !== undefined && externalUrl === undefined) {
    notes.push("external link dropped: not a usable http(s) URL");
  }
  for (const path of ev.truncated ?? []) {
    notes.push(`${path} truncated to ${MAX_TEXT_CHARS} characters`);
  }
  return compact({
    id: notificationId(ev),
    eventId: ev.id,
    kind,
    level: ev.level,
    pipeline: ev.pipeline,
    executionId: ev.executionId,
    state: ev.state,
    stage: ev.stage,
    action: ev.action,
    actionCategory: ev.actionType?.category,
    actionProvider: ev.actionType?.provider,
    errorCode: ev.result?.errorCode,
    summary,
    externalUrl,
    account: ev.account,
    region: ev.region,
    time: ev.time,
    consoleUrl: consoleUrl(ev.region, ev.pipeline, ev.executionId),
    tier: route.tier,
    severity: route.severity,
    decidedBy: kind === "rejection" ? rejectedBy(summary) : undefined,
    revision: revisionOf(ev),
    trigger: describeTrigger(ev.trigger),
    attempt: ev.attempt,
    actionExecutionId: ev.actionExecutionId,
    rollback: rollbackOf(ev.trigger),
    notes: notes.length > 0 ? notes : undefined,
  });
}
