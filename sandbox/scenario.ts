/**
 * Sandbox scenarios: a list of steps, each with some setup (CodePipeline model, receiver faults),
 * the EventBridge events it sends, and what it expects (delivered per channel, suppressed by a
 * window, retried, nothing in the DLQ, no duplicates, the PagerDuty incident resolved). The
 * runner plays the steps in order, waits for each to settle, and checks its expectations against
 * what the receivers, the queue and the audit trail actually recorded.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { RuntimeConfig } from "../handlers/types";
import type { ModelArtifactRevision, PendingApprovalInput, FailedExecutionInput } from "../testing";
import { checkExpectations, countBy } from "./expectations";
import { buildEvent, substitute } from "./scenario-events";

export { buildEvent, timeInWindow, timeOutsideWindows } from "./scenario-events";

/** Where the built-in scenarios live (`<stack>.json`). */
export const SCENARIO_DIR = path.join(__dirname, "scenarios");

/** When an event happened: now (the default), or inside a downtime window of the stack config. */
export type EventTime = "now" | { window: string } | { iso: string };

/**
 * One event of a step. `detail` values may use `$exec:<name>`: replaced by one random execution
 * id per name and run, so a replayed scenario is never deduplicated against an earlier run.
 */
export interface ScenarioEvent {
  detailType: string;
  source?: string;
  time?: EventTime;
  detail: Record<string, unknown>;
}

/** A receiver fault for one step; `untilReceive` lifts it when the queue receives a step message that often. */
export interface StepFault {
  receiver: string;
  status?: number;
  kind?: "timeout" | "reset";
  untilReceive?: number;
}

/** Setup of one step, applied before its events are sent. */
export interface StepSetup {
  pendingApproval?: PendingApprovalInput;
  failedExecution?: FailedExecutionInput;
  /** An execution CodePipeline knows about (for enrichment of successes). */
  execution?: {
    pipeline: string;
    executionId: string;
    status: "InProgress" | "Succeeded" | "Failed";
    revision?: ModelArtifactRevision;
    trigger?: { triggerType: string; triggerDetail?: string };
  };
  fault?: StepFault;
}

/** What a step expects. Every listed expectation is checked; unlisted ones are not. */
export interface StepExpectation {
  /** Whether the rule pattern matches the events (default true). */
  matched?: boolean;
  /** Accepted deliveries per channel during the step (exact). */
  delivered?: Record<string, number>;
  /** Name of the downtime window that suppressed the step's notifications (from the audit trail). */
  suppressed?: string;
  /** Queue redeliveries of the step's messages. */
  retried?: number | { min: number };
  /** Messages that ended in a DLQ (the queue's redrive DLQ and the fan-out's own). */
  dlq?: number;
  /** Identical payloads delivered twice to one channel. */
  duplicates?: number;
  /** The channel whose message must carry Approve/Reject buttons. */
  approvalButtons?: string;
  /** A PagerDuty incident of this pipeline and its expected status. */
  incident?: { pipeline: string; status: "triggered" | "acknowledged" | "resolved" };
  /** Audit actions that must appear during the step. */
  audit?: string[];
}

/** One step of a scenario. */
export interface ScenarioStep {
  name: string;
  /** One sentence shown in the terminal and on the page. */
  say?: string;
  setup?: StepSetup;
  events: ScenarioEvent[];
  expect: StepExpectation;
}

/** A scenario file. */
export interface Scenario {
  name: string;
  /** The stack the scenario was written for (a warning, not an error, when run on another). */
  stack?: string;
  steps: ScenarioStep[];
}

/** Everything the runner needs from the sandbox. */
export interface ScenarioHost {
  runtime: RuntimeConfig;
  /** Routes one event like EventBridge; resolves with what happened once it is queued. */
  postEvent(event: Record<string, unknown>): Promise<{ matched: boolean; messageId?: string }>;
  /** Waits until the queue and the asynchronous invocations are idle. */
  settle(): Promise<void>;
  /** Receive count and final state of a queue message. */
  message(messageId: string): { receiveCount: number; state: string } | undefined;
  /** Called (with the message id and its receive count) each time the queue hands a message to the fan-out. */
  onReceive(listener: (messageId: string, receiveCount: number) => void): () => void;
  /** Deliveries (accepted or not) since a time, attributed to channel instances. */
  deliveriesSince(sinceMs: number): Array<{ channel: string; delivered: boolean; body: unknown }>;
  /** Audit items written since a time. */
  auditSince(sinceMs: number): Promise<Array<Record<string, unknown>>>;
  /** DLQ entries (redrive and fan-out) since a time. */
  dlqSince(sinceMs: number): number;
  /** PagerDuty incidents, attributed to channels; `updatedAt` in epoch ms. */
  incidents(): Array<{
    channel: string;
    dedupKey: string;
    summary: string;
    status: string;
    updatedAt: number;
  }>;
  /** Slack messages of a channel since a time (current payloads). */
  slackMessagesSince(channel: string, sinceMs: number): unknown[];
  setFault(fault: StepFault | null): void;
  addPendingApproval(input: PendingApprovalInput): void;
  addFailedExecution(input: FailedExecutionInput): void;
  addExecution(input: NonNullable<StepSetup["execution"]>): void;
}

/** Outcome of one step. */
export interface StepReport {
  name: string;
  ok: boolean;
  /** One line per failed expectation. */
  problems: string[];
  /** What was observed, for the terminal and the page. */
  observed: {
    matched: number;
    delivered: Record<string, number>;
    failedAttempts: Record<string, number>;
    retried: number;
    dlq: number;
    suppressed: string[];
  };
  ms: number;
  /**
   * Set when the step did not end as expected but a fault the user set explains it (the
   * receiver that failed was failing on purpose): reported, not counted as a failure.
   */
  explainedBy?: string;
}

/** Outcome of a scenario. */
export interface ScenarioReport {
  name: string;
  /** Every step ended as expected, or a user's fault explains why not. */
  ok: boolean;
  steps: StepReport[];
}

/** Reads a scenario file and checks its shape; errors name the file and the step. */
export function loadScenario(file: string): Scenario {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`scenario ${file}: cannot read: ${message}`, { cause: err });
  }
  const scenario = parsed as Scenario;
  if (typeof scenario?.name !== "string" || !Array.isArray(scenario.steps)) {
    throw new Error(`scenario ${file}: needs "name" and "steps"`);
  }
  scenario.steps.forEach((step, i) => {
    if (
      typeof step?.name !== "string" ||
      !Array.isArray(step.events) ||
      typeof step.expect !== "object"
    ) {
      throw new Error(`scenario ${file}: step ${i + 1} needs "name", "events" and "expect"`);
    }
  });
  return scenario;
}

/** Whether a stack has a built-in scenario. */
export function hasBuiltInScenario(stack: string): boolean {
  return fs.existsSync(path.join(SCENARIO_DIR, `${stack}.json`));
}

/**
 * The built-in scenario of a stack.
 * @throws for a stack without one (`--scenario <file>` or `--no-scenario` then).
 */
export function builtInScenario(stack: string): Scenario {
  const file = path.join(SCENARIO_DIR, `${stack}.json`);
  if (!fs.existsSync(file)) {
    throw new Error(
      `no built-in scenario for stack ${stack}: pass --scenario <file>, or --no-scenario`,
    );
  }
  return loadScenario(file);
}

/** Plays one step and checks its expectations. */
export async function runStep(
  host: ScenarioHost,
  step: ScenarioStep,
  ids: Record<string, string>,
): Promise<StepReport> {
  const started = Date.now();
  const setup = (substitute(step.setup ?? {}, ids) ?? {}) as StepSetup;
  if (setup.pendingApproval) host.addPendingApproval(setup.pendingApproval);
  if (setup.failedExecution) host.addFailedExecution(setup.failedExecution);
  if (setup.execution) host.addExecution(setup.execution);
  const messageIds: string[] = [];
  let unsubscribe = (): void => undefined;
  if (setup.fault) {
    const fault = setup.fault;
    host.setFault(fault);
    if (fault.untilReceive !== undefined) {
      const until = fault.untilReceive;
      // The outage ends when the queue redelivers: the retry finds the receiver back up.
      unsubscribe = host.onReceive((id, count) => {
        if (messageIds.includes(id) && count >= until)
          host.setFault({ ...fault, status: undefined, kind: undefined });
      });
    }
  }
  let matched = 0;
  try {
    for (const event of step.events) {
      const routed = await host.postEvent(buildEvent(host.runtime, event, ids));
      if (routed.matched) matched += 1;
      if (routed.messageId) messageIds.push(routed.messageId);
    }
    await host.settle();
  } finally {
    unsubscribe();
    if (setup.fault) host.setFault({ ...setup.fault, status: undefined, kind: undefined });
  }

  const deliveries = host.deliveriesSince(started);
  const delivered = countBy(
    deliveries.filter((d) => d.delivered),
    (d) => d.channel,
  );
  const failedAttempts = countBy(
    deliveries.filter((d) => !d.delivered),
    (d) => d.channel,
  );
  const retried = messageIds.reduce(
    (n, id) => n + Math.max(0, (host.message(id)?.receiveCount ?? 1) - 1),
    0,
  );
  const dlq = host.dlqSince(started);
  const audit = await host.auditSince(started);
  const suppressed = audit
    .filter((a) => a.action === "suppressed")
    .map((a) => `${String(a.result ?? "")} ${JSON.stringify(a.detail ?? {})}`);
  const observed = { matched, delivered, failedAttempts, retried, dlq, suppressed };
  const problems = checkExpectations(host, step, { observed, deliveries, audit, started });
  return {
    name: step.name,
    ok: problems.length === 0,
    problems,
    observed,
    ms: Date.now() - started,
  };
}

/** Plays a scenario step by step; `onStep` sees each report as it completes. */
export async function runScenario(
  host: ScenarioHost,
  scenario: Scenario,
  hooks: {
    onStepStart?(step: ScenarioStep, index: number): void;
    /** Names the user's fault that explains a step that did not end as expected, if one does. */
    explain?(report: StepReport): string | undefined;
    /** Awaited before the next step starts. */
    onStep?(report: StepReport, index: number): void | Promise<void>;
  } = {},
): Promise<ScenarioReport> {
  const ids: Record<string, string> = {};
  const steps: StepReport[] = [];
  for (const [index, step] of scenario.steps.entries()) {
    hooks.onStepStart?.(step, index);
    const report = await runStep(host, step, ids);
    if (!report.ok) report.explainedBy = hooks.explain?.(report);
    steps.push(report);
    await hooks.onStep?.(report, index);
  }
  return {
    name: scenario.name,
    ok: steps.every((s) => s.ok || s.explainedBy !== undefined),
    steps,
  };
}
