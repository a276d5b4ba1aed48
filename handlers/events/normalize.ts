/**
 * Turns a validated event into the one {@link Notification} model every channel formats.
 */
import { createHash } from "node:crypto";
import type { Notification, Severity } from "../types";
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
 * Stable id of the notification an event produces, from its content: pipeline, execution id,
 * level, stage, action, state and execution attempt. Not the EventBridge id: CodePipeline events
 * are at-least-once, and a duplicate may carry a different event id. The attempt is part of it
 * because a retried stage that fails again is a new failure that people must hear about.
 * 24 hex characters (96 bits) of SHA-256.
 */
export function notificationId(ev: CodePipelineEvent): string {
  const content = JSON.stringify([
    "v1",
    ev.pipeline,
    ev.executionId,
    ev.level,
    ev.stage ?? "",
    ev.action ?? "",
    ev.state,
    ev.attempt ?? 1,
  ]);
  return createHash("sha256").update(content).digest("hex").slice(0, 24);
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
    notes: notes.length > 0 ? notes : undefined,
  });
}
