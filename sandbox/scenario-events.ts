/**
 * The EventBridge events a scenario sends: `$exec:<name>` placeholders replaced by one random
 * execution id per name and run, and event times placed now (outside any downtime window that
 * would suppress the pipeline) or inside a named window, checked with the fan-out's own code.
 */
import { randomUUID } from "node:crypto";
import { activeWindow, isInWindow } from "../handlers/downtime";
import type { DowntimeWindow, RuntimeConfig } from "../handlers/types";
import { nextWindows } from "../scripts/lib/downtime-occurrences";
import type { ScenarioEvent, ScenarioHost } from "./scenario";
import { CODEPIPELINE_SOURCE } from "../handlers/contracts/codepipeline";

/**
 * Replaces `$exec:<name>` strings, recursively, with the run's execution ids (one random id per
 * name, added to `ids` on first use).
 */
export function substitute(value: unknown, ids: Record<string, string>): unknown {
  if (typeof value === "string" && value.startsWith("$exec:")) {
    ids[value] ??= randomUUID();
    return ids[value];
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, ids));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, ids)]));
  }
  return value;
}

/**
 * An instant inside the latest past occurrence of a window (30 minutes after it started, or its
 * middle if shorter), checked with the same code the fan-out uses.
 */
export function timeInWindow(window: DowntimeWindow, now: Date = new Date()): Date {
  const periods = nextWindows(window, new Date(now.getTime() - 8 * 86400_000), 20).filter(
    (p) => p.start.getTime() < now.getTime(),
  );
  const last = periods[periods.length - 1];
  if (!last) throw new Error(`downtime window ${window.name}: no occurrence in the last 8 days`);
  const span = last.end.getTime() - last.start.getTime();
  const at = new Date(last.start.getTime() + Math.min(30 * 60_000, Math.floor(span / 2)));
  if (!isInWindow(window, at))
    throw new Error(`downtime window ${window.name}: cannot find an instant inside it`);
  return at;
}

/**
 * "Now", unless now is inside a window that would suppress this pipeline: then just before that
 * window began, so that a scenario means the same whenever it runs.
 */
export function timeOutsideWindows(
  runtime: RuntimeConfig,
  pipeline: string,
  now: Date = new Date(),
): Date {
  let at = now;
  for (let i = 0; i < 10; i++) {
    const window = activeWindow(
      runtime.downtime,
      { pipeline, kind: "status", severity: "info" },
      at,
    );
    if (!window) return at;
    const current = nextWindows(window, at, 1)[0];
    at = new Date((current?.start.getTime() ?? at.getTime()) - 60_000);
  }
  return at;
}

/** Builds the full EventBridge event of a scenario event. */
export function buildEvent(
  runtime: RuntimeConfig,
  event: ScenarioEvent,
  ids: Record<string, string>,
  region = "us-east-1",
  account = "123456789012",
): Record<string, unknown> {
  // A source account's event (issue 14) says where its pipeline lives.
  region = event.region ?? region;
  account = event.account ?? account;
  const detail = substitute(event.detail, ids) as Record<string, unknown>;
  const pipeline = String(detail.pipeline ?? "");
  let time: Date;
  const spec = event.time ?? "now";
  if (spec === "now") time = timeOutsideWindows(runtime, pipeline);
  else if ("iso" in spec) time = new Date(spec.iso);
  else {
    const window = runtime.downtime.find((w) => w.name === spec.window);
    if (!window) throw new Error(`scenario: the stack has no downtime window "${spec.window}"`);
    time = timeInWindow(window);
  }
  const iso = time.toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": event.detailType,
    source: event.source ?? CODEPIPELINE_SOURCE,
    account,
    time: iso,
    region,
    resources: pipeline ? [`arn:aws:codepipeline:${region}:${account}:${pipeline}`] : [],
    detail: { region, version: 1, ...detail },
  };
}

/** One approval action's runs for one execution: where the CodePipeline stand-in keeps them. */
export interface ApprovalRef {
  pipeline: string;
  stage: string;
  action: string;
  executionId: string;
}

/** The latest run of an approval action for an execution (testing/aws/codepipeline/model.ts). */
export interface ApprovalRunState {
  /** ActionExecution status: InProgress (waiting for a decision), Succeeded, Failed, Abandoned. */
  status: string;
  /** When a waiting run times out (epoch ms): its start + the action's timeout. */
  expiresAt?: number;
  /** When it started (epoch ms). */
  startedAt: number;
}

/** "7 days", "90 minutes": a duration in the largest whole unit CodePipeline's timeouts use. */
function describeTimeout(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes % 1440 === 0) return `${minutes / 1440} day${minutes === 1440 ? "" : "s"}`;
  if (minutes % 60 === 0) return `${minutes / 60} hour${minutes === 60 ? "" : "s"}`;
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}

/**
 * The problem of a step whose CodePipeline events (`emitted`) the stand-in did not emit: nothing
 * the step did reached CodePipeline, so nobody decided. For an approval action's event it says
 * how the run stands: still waiting, and when it expires (its start + the action's timeout, 7
 * days by default: userguide approvals-approve-or-reject.html), or how it had already ended.
 */
export function notEmittedProblem(
  host: Pick<ScenarioHost, "approvalRun">,
  events: ScenarioEvent[],
  ids: Record<string, string>,
): string {
  const what = events
    .map((e) => `${e.detailType.replace("CodePipeline ", "")} ${String(e.detail.state)}`)
    .join(", ");
  const lead = `CodePipeline emitted no ${what} event${events.length > 1 ? "s" : ""}`;
  const approval = events
    .map((e) => substitute(e.detail, ids) as Record<string, unknown>)
    .find((d) => (d.type as { category?: unknown } | undefined)?.category === "Approval");
  if (!approval) return `${lead}: nothing this step did reached CodePipeline`;
  const ref: ApprovalRef = {
    pipeline: String(approval.pipeline),
    stage: String(approval.stage),
    action: String(approval.action),
    executionId: String(approval["execution-id"]),
  };
  const name = `${ref.pipeline} ${ref.stage}/${ref.action} (execution ${ref.executionId})`;
  const run = host.approvalRun(ref);
  if (!run) return `${lead}: CodePipeline has no run of the approval ${name}`;
  if (run.status !== "InProgress")
    return `${lead}: nothing this step did reached CodePipeline; the approval ${name} had already ended ${run.status}`;
  const expiry =
    run.expiresAt === undefined
      ? ""
      : `, and expires at ${new Date(run.expiresAt).toISOString()} if nobody decides (its timeout: ${describeTimeout(run.expiresAt - run.startedAt)})`;
  return `${lead}: nobody decided the approval ${name}, it still waits${expiry}`;
}
