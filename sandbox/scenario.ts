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
import { checkExpectations, countBy, expectationNotes } from "./expectations";
import {
  DEFAULT_CLICKER,
  actionIdOf,
  actionProblem,
  describeAction,
  isClick,
  newRun,
  rememberStep,
  requestMessageId,
  type DecideInConsoleAction,
  type IssuedToken,
  type RetryStageAction,
  type ScenarioAction,
  type ScenarioRun,
  type ScenarioSlackMessage,
} from "./scenario-actions";
import {
  buildEvent,
  notEmittedProblem,
  substitute,
  type ApprovalRef,
  type ApprovalRunState,
} from "./scenario-events";
import { describeWait, nextFreshWindow, waitUntil } from "./scenario-window";

export type {
  AdvanceClockAction,
  ClickAction,
  DecideInConsoleAction,
  RetryStageAction,
  ScenarioAction,
} from "./scenario-actions";

export { buildEvent, timeInWindow, timeOutsideWindows } from "./scenario-events";
export type { ApprovalRef, ApprovalRunState } from "./scenario-events";

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
  /** The event's account (issue 14: a source account's pipeline); default the stand-ins' own. */
  account?: string;
  /** The event's region; default us-east-1, the stand-ins' own. */
  region?: string;
  time?: EventTime;
  detail: Record<string, unknown>;
  /**
   * CodePipeline emits this event itself in answer to the step's `do` (a Reject click makes
   * PutApprovalResult fail the approval action, and CodePipeline then emits the action's and the
   * pipeline's FAILED events). The runner never posts it: only what reached the CodePipeline
   * stand-in decides. When the stand-in emitted no events of its own during the step's `do`
   * ({@link ScenarioHost.emittedCount}), nobody decided (under `--fault slack=500` nobody could
   * click), and the step says so: the approval still waits and expires at the end of its
   * timeout (scenario-events.ts `notEmittedProblem`). It does not count for `matched`.
   */
  emitted?: boolean;
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
  /** An execution CodePipeline knows about (for enrichment of successes and rollbacks). */
  execution?: {
    pipeline: string;
    executionId: string;
    status: "InProgress" | "Succeeded" | "Failed";
    revision?: ModelArtifactRevision;
    trigger?: { triggerType: string; triggerDetail?: string };
    /** `ROLLBACK` for a rollback execution (GetPipelineExecution `executionType`). */
    executionType?: "STANDARD" | "ROLLBACK";
    /** A rollback's `rollbackMetadata.rollbackTargetPipelineExecutionId`. */
    rollbackTargetExecutionId?: string;
  };
  fault?: StepFault;
}

/** What a step expects. Every listed expectation is checked; unlisted ones are not. */
export interface StepExpectation {
  /**
   * Whether the rule pattern matches the step's events (default true: every one), or how many
   * of them it matches (a CodePipeline sequence has events the rule does not ask for).
   */
  matched?: boolean | number;
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
  /**
   * The PagerDuty incidents of this pipeline the step opened or changed, their expected status
   * and, optionally, how many trigger events each has received (a retried execution that fails
   * again pages with the same `dedup_key`: one incident, two triggers).
   */
  incident?: {
    pipeline: string;
    status: "triggered" | "acknowledged" | "resolved";
    triggers?: number;
  };
  /** Events the central bus refused during the step (issue 14), exact. */
  refused?: number;
  /** Accepted deliveries per channel during the step, at most (a storm: what a person sees). */
  atMost?: Record<string, number>;
  /**
   * Digests delivered per channel during the step, exact (issue 11: "37 pipelines failed in the
   * last 2 minutes"; SMS "N more … - see <channel>"; traffic.ts `isDigest`).
   */
  digests?: Record<string, number>;
  /** Requests the receivers answered 429 during the step (issue 11: paced sends get none). */
  http429?: number;
  /** PagerDuty incidents the step opened, exact (issue 11: one per failing pipeline). */
  pagesOpened?: number;
  /** Audit actions that must appear during the step. */
  audit?: string[];
  /** Per audit action, text that one record of it written during the step contains (its JSON). */
  auditSays?: Record<string, string>;
  /** Audit actions that must not appear during the step. */
  noAudit?: string[];
  /**
   * Per channel, text (or texts) that a message delivered to it during the step reads
   * (case-insensitive, mrkdwn emphasis ignored).
   */
  says?: Record<string, string | string[]>;
  /** Per channel, text that no message delivered to it during the step reads. */
  saysNot?: Record<string, string | string[]>;
  /** Text of the ephemeral reply the step's click got, visible only to the clicker. */
  reply?: string;
  /**
   * The approval request posted in the step whose `id` is `of`, as it reads after this step:
   * text it says, and whether it still has Approve / Reject buttons.
   */
  request?: { of: string; says?: string; buttons?: boolean };
  /**
   * PutApprovalResult calls CodePipeline received during the step: how many, and (when there
   * were any) the status they carried and that they carried the token CodePipeline issued for the
   * approval run requested in the step whose `id` is `tokenOf`.
   */
  putApprovalResult?: { calls: number; status?: "Approved" | "Rejected"; tokenOf?: string };
}

/** One step of a scenario. */
export interface ScenarioStep {
  /** How later steps refer to this one (`"on"` of a click, `"of"` / `"tokenOf"` of expectations). */
  id?: string;
  name: string;
  /** One sentence shown in the terminal and on the page. */
  say?: string;
  /**
   * Seconds of AWS time that pass before the step begins (0–3600), divided by the sandbox's time
   * scale like every other wait ({@link ScenarioHost.timeScale}): a retried stage fails again
   * minutes after the first failure, not milliseconds, so the grouping windows (issue 11: SMS 1
   * text per 120 s, chat 3 messages per 60 s) see the real gap.
   */
  pauseSeconds?: number;
  /**
   * Channels whose grouping windows the step starts at the beginning of (scenario-window.ts): after
   * any pause, the runner waits on the sandbox's clock until a fresh window of each has begun, so
   * a storm is grouped in one window, not split across two by when the step happened to start.
   */
  freshWindow?: string[];
  setup?: StepSetup;
  /** What people do, in order, after the setup and before the events are sent. */
  do?: ScenarioAction[];
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
  /** AWS time / sandbox time (wiring.ts `ScaledTimes.scale`); 1 when absent. */
  timeScale?: number;
  /**
   * Routes one event like EventBridge; resolves with what happened once it is queued. `held`: the
   * CodePipeline stand-in holds it (its execution waits for a stage), so it was not queued.
   */
  postEvent(
    event: Record<string, unknown>,
  ): Promise<{ matched: boolean; messageId?: string; refused?: string; held?: string }>;
  /** Waits until the queue and the asynchronous invocations are idle. */
  settle(): Promise<void>;
  /** Receive count, final state and time queued of a queue message. */
  message(messageId: string): { receiveCount: number; state: string; sentAt: Date } | undefined;
  /**
   * Queue redeliveries (receives after the first) of the messages queued since a time: a step's
   * own events and those the stand-ins emitted for its actions (a rejection's or an expiry's
   * FAILED events).
   */
  redeliveriesSince(sinceMs: number): number;
  /** Called (with the message id and its receive count) each time the queue hands a message to the fan-out. */
  onReceive(listener: (messageId: string, receiveCount: number) => void): () => void;
  /** Deliveries (accepted or not) since a time, attributed to channel instances. */
  deliveriesSince(
    sinceMs: number,
  ): Array<{ channel: string; delivered: boolean; body: unknown; status?: number }>;
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
    /** When its first trigger opened it, epoch ms. */
    openedAt: number;
    /** Trigger events folded into the incident. */
    triggers: number;
  }>;
  /** Slack messages of a channel since a time (current payloads). */
  slackMessagesSince(channel: string, sinceMs: number): unknown[];
  /** Every Slack message posted so far, any channel, as it reads now, with its ephemeral replies. */
  slackMessages(): ScenarioSlackMessage[];
  /**
   * Clicks the button `actionId` of Slack message `messageId` as Slack user `user`: the
   * `block_actions` payload Slack would send, signed with the app's signing secret, to the
   * approval function's URL. Resolves with its HTTP status.
   * @throws when the message has no such button (any more).
   */
  click(messageId: string, actionId: string, user: string): Promise<{ statusCode: number }>;
  /**
   * RetryStageExecution on the CodePipeline stand-in, which emits the retry's events.
   * @throws CodePipeline's error (StageNotRetryableException, …).
   */
  retryStage(input: RetryStageAction["retryStage"]): void;
  /**
   * PutApprovalResult on the CodePipeline stand-in for the pending approval run of the execution,
   * as the caller `by` (someone in the console); the stand-in emits the decision's events.
   * @throws when no run of the execution waits there, or CodePipeline's error.
   */
  decideInConsole(input: DecideInConsoleAction["decideInConsole"]): void;
  /**
   * Lets `ms` pass for CodePipeline: pending approvals whose timeout ends within it fail, and
   * the stand-in emits their events. Resolves with how many expired.
   */
  advanceClock(ms: number): number;
  /** CodePipeline API calls (operation and input) since a time. */
  codePipelineCallsSince(
    sinceMs: number,
  ): Array<{ operation: string; input: Record<string, unknown> }>;
  /** Every approval token the CodePipeline stand-in has issued that it still knows. */
  approvalTokens(): IssuedToken[];
  /** The latest run of an approval action for an execution, as the CodePipeline stand-in has it. */
  approvalRun(ref: ApprovalRef): ApprovalRunState | undefined;
  /**
   * How many events the CodePipeline stand-in has emitted itself (into the sandbox's event path)
   * in answer to what was done to it (a rejection's FAILED events). When it emitted any during a
   * step's `do`, the runner does not post the step's `emitted` events.
   */
  emittedCount(): number;
  setFault(fault: StepFault | null): void;
  /**
   * A pending approval run, through the stage lock as CodePipeline admits one: while another
   * execution is in the stage (QUEUED / SUPERSEDED), the execution waits there instead, and the
   * step's approval STARTED event is held (`postEvent`'s `held` says why).
   */
  addPendingApproval(input: PendingApprovalInput): void;
  addFailedExecution(input: FailedExecutionInput): void;
  /**
   * Sets an execution's status and details; returns why it did not (an execution CodePipeline
   * could not have ended so: scenario-host.ts `endRefusal`), undefined when it did.
   */
  addExecution(input: NonNullable<StepSetup["execution"]>): string | undefined;
}

/** Outcome of one step. */
export interface StepReport {
  name: string;
  ok: boolean;
  /** One line per failed expectation. */
  problems: string[];
  /** What the step saw that is allowed but worth saying (expectations.ts `expectationNotes`). */
  notes: string[];
  /** What was observed, for the terminal and the page. */
  observed: {
    matched: number;
    delivered: Record<string, number>;
    failedAttempts: Record<string, number>;
    retried: number;
    dlq: number;
    suppressed: string[];
    /** Events the central bus refused (issue 14: an account its policy does not admit). */
    refused: number;
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
  const ids = new Set<string>();
  scenario.steps.forEach((step, i) => {
    if (
      typeof step?.name !== "string" ||
      !Array.isArray(step.events) ||
      typeof step.expect !== "object"
    ) {
      throw new Error(`scenario ${file}: step ${i + 1} needs "name", "events" and "expect"`);
    }
    for (const action of step.do ?? []) {
      const problem = actionProblem(action, ids);
      if (problem) throw new Error(`scenario ${file}: step ${i + 1}: "do" takes ${problem}`);
    }
    const pause = step.pauseSeconds;
    if (pause !== undefined && !(typeof pause === "number" && pause >= 0 && pause <= 3600))
      throw new Error(`scenario ${file}: step ${i + 1}: "pauseSeconds" must be 0 to 3600 seconds`);
    const fresh = step.freshWindow;
    if (fresh !== undefined && !(Array.isArray(fresh) && fresh.every((c) => typeof c === "string")))
      throw new Error(`scenario ${file}: step ${i + 1}: "freshWindow" must be a list of channels`);
    if (step.id !== undefined) {
      if (typeof step.id !== "string" || ids.has(step.id))
        throw new Error(`scenario ${file}: step ${i + 1}: "id" must be a string no other step has`);
      ids.add(step.id);
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

/**
 * Applies a step's setup: its data, then its fault. Returns why its execution could not be set
 * (`addExecution`'s refusal: the step's events are then not posted), if so.
 */
function applyData(host: ScenarioHost, setup: StepSetup): string | undefined {
  if (setup.pendingApproval) host.addPendingApproval(setup.pendingApproval);
  if (setup.failedExecution) host.addFailedExecution(setup.failedExecution);
  return setup.execution ? host.addExecution(setup.execution) : undefined;
}

/** Applies a step's fault; returns how to end it (a no-op without one). */
function applyFault(host: ScenarioHost, setup: StepSetup, started: number): () => void {
  if (!setup.fault) return () => undefined;
  const fault = setup.fault;
  host.setFault(fault);
  let unsubscribe = (): void => undefined;
  if (fault.untilReceive !== undefined) {
    const until = fault.untilReceive;
    // The outage ends when the queue redelivers one of the step's messages (its own events, or
    // those the stand-ins emitted for its actions): the retry finds the receiver back up.
    unsubscribe = host.onReceive((id, count) => {
      const queuedAt = host.message(id)?.sentAt.getTime() ?? Number.NaN;
      if (queuedAt >= started && count >= until)
        host.setFault({ ...fault, status: undefined, kind: undefined });
    });
  }
  return () => {
    unsubscribe();
    host.setFault({ ...fault, status: undefined, kind: undefined });
  };
}

/**
 * Does what people do in a step (clicks), each after the previous one settled. A click that
 * cannot be made (no such step, no button) is a problem of the step, not an error of the run.
 */
async function doActions(
  host: ScenarioHost,
  step: ScenarioStep,
  run: ScenarioRun,
): Promise<string[]> {
  const problems: string[] = [];
  for (const raw of step.do ?? []) {
    const action = substitute(raw, run.ids) as ScenarioAction;
    try {
      if (isClick(action)) {
        const messageId = requestMessageId(run, action);
        const answer = await host.click(
          messageId,
          actionIdOf(action),
          action.as ?? DEFAULT_CLICKER,
        );
        if (answer.statusCode !== 200)
          problems.push(
            `${describeAction(action)}: the approval URL answered ${answer.statusCode}`,
          );
      } else if ("retryStage" in action) host.retryStage(action.retryStage);
      else if ("decideInConsole" in action) host.decideInConsole(action.decideInConsole);
      else {
        const expired = host.advanceClock(action.advanceClock.days * 86_400_000);
        if (expired === 0) problems.push(`${describeAction(action)}: no approval expired`);
      }
      await host.settle();
    } catch (err: unknown) {
      problems.push(`${describeAction(action)}: ${describeError(err)}`);
    }
  }
  return problems;
}

/**
 * A thrown value as text: an Error's message, a stand-in's service error (`{ code, message }`, as
 * AWS names it: testing/aws/core.ts `serviceError`) as "code: message", anything else as text.
 */
function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === "string" && typeof e.message === "string")
    return `${e.code}: ${e.message}`;
  return String(err);
}

/** What a step observed once it settled. */
async function observe(
  host: ScenarioHost,
  started: number,
  routed: { matched: number; refused: number },
) {
  const { matched, refused } = routed;
  const deliveries = host.deliveriesSince(started);
  const delivered = countBy(
    deliveries.filter((d) => d.delivered),
    (d) => d.channel,
  );
  const failedAttempts = countBy(
    deliveries.filter((d) => !d.delivered),
    (d) => d.channel,
  );
  const retried = host.redeliveriesSince(started);
  const dlq = host.dlqSince(started);
  const audit = await host.auditSince(started);
  const suppressed = audit
    .filter((a) => a.action === "suppressed")
    .map((a) => `${String(a.result ?? "")} ${JSON.stringify(a.detail ?? {})}`);
  const observed = { matched, delivered, failedAttempts, retried, dlq, suppressed, refused };
  return { observed, deliveries, audit };
}

/**
 * Waits for the step's `pauseSeconds`, then for a fresh grouping window of its `freshWindow`
 * channels, telling `say` how long. Returns the problem that prevented the wait, if one did.
 */
async function waitToStart(
  host: ScenarioHost,
  step: ScenarioStep,
  say: (line: string) => void,
): Promise<string[]> {
  const scale = host.timeScale ?? 1;
  if (step.pauseSeconds)
    await new Promise((r) => setTimeout(r, (step.pauseSeconds! * 1000) / scale));
  if (!step.freshWindow?.length) return [];
  try {
    const fresh = nextFreshWindow(host.runtime, step.freshWindow, scale, Date.now());
    say(describeWait(fresh, fresh.startsAt - Date.now(), scale));
    await waitUntil(fresh.startsAt);
    return [];
  } catch (err: unknown) {
    return [`freshWindow: ${err instanceof Error ? err.message : String(err)}`];
  }
}

/**
 * Plays one step (setup, what people do, the events) and checks its expectations. `run` carries
 * the execution ids and what earlier steps posted; a bare id map is accepted for callers that
 * play single steps. `say` gets the lines worth showing before the step's own report (a wait for
 * a fresh grouping window).
 */
export async function runStep(
  host: ScenarioHost,
  step: ScenarioStep,
  runOrIds: ScenarioRun | Record<string, string>,
  say: (line: string) => void = () => undefined,
): Promise<StepReport> {
  const run: ScenarioRun =
    "seenTokens" in runOrIds ? (runOrIds as ScenarioRun) : { ...newRun(), ids: runOrIds };
  const problems: string[] = await waitToStart(host, step, say);
  const started = Date.now();
  const setup = (substitute(step.setup ?? {}, run.ids) ?? {}) as StepSetup;
  const setupRefused = applyData(host, setup);
  if (setupRefused) problems.push(`not played: ${setupRefused}, so its events were not posted`);
  const endFault = applyFault(host, setup, started);
  let matched = 0;
  let refused = 0;
  try {
    const emittedBefore = host.emittedCount();
    problems.push(...(await doActions(host, step, run)));
    const emittedByStandin = host.emittedCount() > emittedBefore;
    // CodePipeline's own events come from the stand-in only: a scripted one would be a decision
    // (an approval SUCCEEDED) that nobody made.
    const notEmitted = emittedByStandin ? [] : step.events.filter((e) => e.emitted);
    if (notEmitted.length > 0) problems.push(notEmittedProblem(host, notEmitted, run.ids));
    for (const event of step.events) {
      if (event.emitted || setupRefused) continue;
      const routed = await host.postEvent(buildEvent(host.runtime, event, run.ids));
      if (routed.matched && !event.emitted) matched += 1;
      // Not queued: CodePipeline emits it when its execution enters the stage, if ever.
      if (routed.held) {
        const what = `${event.detailType.replace("CodePipeline ", "")} ${String(event.detail.state)}`;
        problems.push(`CodePipeline has not emitted the ${what} event: ${routed.held}`);
      }
      if (routed.refused) refused += 1;
    }
    await host.settle();
  } finally {
    endFault();
  }
  const seen = await observe(host, started, { matched, refused });
  const posted = host.slackMessages().filter((m) => Date.parse(m.at) >= started);
  rememberStep(run, step.id, posted, host.approvalTokens());
  problems.push(...checkExpectations(host, step, { ...seen, started, run }));
  return {
    name: step.name,
    ok: problems.length === 0,
    problems,
    notes: expectationNotes(step, { ...seen, started, run }),
    observed: seen.observed,
    ms: Date.now() - started,
  };
}

/** Plays a scenario step by step; `onStep` sees each report as it completes. */
export async function runScenario(
  host: ScenarioHost,
  scenario: Scenario,
  hooks: {
    onStepStart?(step: ScenarioStep, index: number): void;
    /** A line worth showing while the step waits to start (a fresh grouping window). */
    onSay?(line: string, index: number): void;
    /** Names the user's fault that explains a step that did not end as expected, if one does. */
    explain?(report: StepReport): string | undefined;
    /** Awaited before the next step starts. */
    onStep?(report: StepReport, index: number): void | Promise<void>;
  } = {},
): Promise<ScenarioReport> {
  const run = newRun();
  // Tokens of earlier runs (a replay) are not this run's.
  rememberStep(run, undefined, [], host.approvalTokens());
  const steps: StepReport[] = [];
  for (const [index, step] of scenario.steps.entries()) {
    hooks.onStepStart?.(step, index);
    const report = await runStep(host, step, run, (line) => hooks.onSay?.(line, index));
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
