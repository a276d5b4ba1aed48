/**
 * Playing scenarios in the sandbox: the scenario runner's view of the running world (its
 * {@link ScenarioHost}), and a player that records progress for the page and prints each step
 * to the terminal. `npm start` plays the stack's built-in scenario; the page's "Replay" button
 * plays it again.
 */
import {
  runScenario,
  type Scenario,
  type ScenarioHost,
  type ScenarioReport,
  type StepReport,
} from "./scenario";
import { expireApprovals, retryStageExecution, stopExecution } from "../testing";
import {
  approvalRunOf,
  approvalTokens,
  clickSlackButton,
  decideInConsole,
  emittedCount,
  endRefusal,
} from "./scenario-host";
import { fanoutDlq, slackMessages, type ViewSources } from "./views";
import type { Log } from "./wiring";

/** The scenario being played and how far it got, for the page. */
export interface ScenarioProgress {
  scenario?: string;
  steps: Array<{
    name: string;
    say?: string;
    status: string;
    problems: string[];
    notes?: string[];
  }>;
}

/**
 * The scenario run in progress or played last, for what Ctrl-C prints: its name, how many steps
 * it has and the reports of those played so far.
 */
export interface PlayedRun {
  name: string;
  total: number;
  steps: StepReport[];
}

/** The run a player is on (`current`), kept apart from the page's {@link ScenarioProgress}. */
export interface PlayedRecord {
  current?: PlayedRun;
}

/** The running sandbox as the scenario runner sees it. */
export function createScenarioHost(
  sources: Pick<ViewSources, "world" | "events" | "faults" | "audit">,
): ScenarioHost {
  const { world, events, faults, audit } = sources;
  const { aws, receivers } = world.standins;
  return {
    runtime: world.runtime,
    timeScale: world.times.scale,
    postEvent: async (event) => (await events.postEvent(event))[0],
    settle: events.settle,
    message: (id) => events.queue.messages.find((m) => m.messageId === id),
    redeliveriesSince: (since) =>
      events.queue.messages
        .filter((m) => m.sentAt.getTime() >= since)
        .reduce((n, m) => n + Math.max(0, m.receiveCount - 1), 0),
    onReceive: events.onReceive,
    deliveriesSince(since) {
      const fromReceivers = receivers.attempts
        .filter(
          (a) =>
            a.at.getTime() >= since &&
            a.receiver !== "slack-response" &&
            a.receiver !== "slack-api",
        )
        .map((a) => ({
          channel: world.channels.ofDelivery(a),
          delivered: a.outcome === "delivered",
          body: a.body,
          status: a.status,
        }));
      const fromSns = aws.state.sns.published
        .filter((p) => p.at.getTime() >= since)
        .map((p) => ({
          channel: world.channels.ofTopic(p.topicArn) ?? "sns",
          delivered: true,
          body: p.message,
        }));
      return [...fromReceivers, ...fromSns];
    },
    auditSince: async (since) =>
      (await audit.read()).filter((a) => Date.parse(String(a.at)) >= since - 1),
    dlqSince: (since) =>
      events.queue.messages.filter(
        (m) => m.state === "dlq" && (m.settledAt?.getTime() ?? 0) >= since,
      ).length + fanoutDlq(world).filter((m) => m.at.getTime() >= since).length,
    incidents: () =>
      receivers.incidents.map((i) => ({
        channel: world.channels.ofRoutingKey(i.routingKey),
        dedupKey: i.dedupKey,
        summary: i.summary,
        status: i.status,
        updatedAt: i.updatedAt.getTime(),
        openedAt: i.openedAt.getTime(),
        triggers: i.triggers,
      })),
    slackMessagesSince: (channel, since) =>
      slackMessages(world)
        .filter((m) => m.channel === channel && Date.parse(m.at) >= since)
        .map((m) => m.payload),
    slackMessages: () => slackMessages(world),
    async click(messageId, actionId, user) {
      const answer = await clickSlackButton(world, messageId, actionId, user);
      return { statusCode: answer.statusCode };
    },
    codePipelineCallsSince: (since) =>
      aws.state.codepipeline.calls.filter((c) => c.at.getTime() >= since),
    approvalTokens: () => approvalTokens(world),
    approvalRun: (ref) => approvalRunOf(world, ref),
    retryStage: (input) =>
      void retryStageExecution(aws.state, {
        pipelineName: input.pipeline,
        stageName: input.stage,
        pipelineExecutionId: input.executionId,
        retryMode: input.retryMode ?? "FAILED_ACTIONS",
      }),
    decideInConsole: (input) => decideInConsole(world, input),
    advanceClock: (ms) => expireApprovals(aws.state, new Date(Date.now() + ms)).length,
    emittedCount: () => emittedCount(world),
    setFault: (fault) => (fault ? faults.set(fault.receiver, fault, "scenario") : undefined),
    addPendingApproval: (input) => void aws.admitPendingApproval(input),
    addFailedExecution: (input) => aws.addFailedExecution(input),
    addExecution(input) {
      const refusal = endRefusal(world, input);
      if (refusal) return refusal;
      const pipelines = aws.state.codepipeline.pipelines;
      pipelines[input.pipeline] ??= { stages: [], executions: {} };
      pipelines[input.pipeline].executions[input.executionId] = {
        status: input.status,
        startTime: new Date(),
        trigger: input.trigger,
        artifactRevisions: input.revision ? [input.revision] : undefined,
        ...(input.executionType && { executionType: input.executionType }),
        ...(input.rollbackTargetExecutionId && {
          rollbackTargetExecutionId: input.rollbackTargetExecutionId,
        }),
      };
      return undefined;
    },
  };
}

/**
 * Frees the stages where `scenario` sets up or starts an approval of what an earlier run (or a
 * hand-posted event) left there. In QUEUED and SUPERSEDED mode a stage runs one execution at a
 * time (user guide, "How pipeline executions work"), so a request still waiting for a decision,
 * as the demo leaves one for the page, would hold the scenario's executions back and fail its
 * approval steps on a replay. Each such execution, and any execution waiting behind it, is
 * stopped as StopPipelineExecution with `abandon` would stop it (testing `stopExecution`, which
 * emits CodePipeline's STOPPING, ABANDONED and STOPPED events; they are routed like any event):
 * its request's token no longer decides. @returns one terminal line per stopped execution.
 */
function stopLeftOvers(world: ViewSources["world"], scenario: Scenario): string[] {
  const stages = approvalStagesOf(scenario);
  const state = world.standins.aws.state;
  const lines: string[] = [];
  for (const [name, pipeline] of Object.entries(state.codepipeline.pipelines)) {
    if (pipeline.executionMode === "PARALLEL") continue;
    for (const stage of pipeline.stages) {
      if (!stages.has(`${name}/${stage.name}`)) continue;
      const waiters = Object.entries(pipeline.executions)
        .filter(([, e]) => e.waitingAt === stage.name && e.status === "InProgress")
        .map(([id]) => id);
      for (const id of waiters) {
        if (stopExecution(state, name, id))
          lines.push(`execution ${id} (${name}) waited to enter ${stage.name}: stopped`);
      }
      const holder = stage.actions.find(
        (a) => a.category === "Approval" && a.status === "InProgress",
      );
      if (holder?.executionId && stopExecution(state, name, holder.executionId)) {
        lines.push(
          `the request of execution ${holder.executionId} (${name} ${stage.name}) still waited ` +
            "for a decision: the execution is stopped, abandoning the approval (as " +
            "StopPipelineExecution with abandon does), so that this run's executions can enter " +
            "the stage; its buttons in Slack no longer decide",
        );
      }
    }
  }
  return lines;
}

/** `<pipeline>/<stage>` of every approval `scenario` sets up or starts. */
function approvalStagesOf(scenario: Scenario): Set<string> {
  const stages = new Set<string>();
  for (const step of scenario.steps) {
    const setup = step.setup?.pendingApproval;
    if (setup) stages.add(`${setup.pipeline}/${setup.stage}`);
    for (const event of step.events) {
      const d = event.detail as Record<string, unknown>;
      if (d.action !== undefined && d.state === "STARTED") stages.add(`${d.pipeline}/${d.stage}`);
    }
  }
  return stages;
}

/** The terminal line that ends a step. */
function stepLine(report: StepReport): string {
  const delivered =
    Object.entries(report.observed.delivered)
      .map(([c, n]) => `${c} ${n}`)
      .join(", ") || "nothing";
  const mark = report.ok ? "✓" : report.explainedBy ? "~" : "✗";
  return `  ${mark} delivered: ${delivered}; retried ${report.observed.retried}; DLQ ${report.observed.dlq}; ${report.ms} ms`;
}

/**
 * The lines a step adds after the live ones (receivers, SNS publishes, the fan-out's DLQ sends;
 * sandbox/wiring.ts, sandbox/event-source.ts): the SMS and email publishes SNS refused, from the
 * fan-out's audit trail (the stand-in logs only what it accepted).
 */
async function stepDetails(
  sources: Pick<ViewSources, "world" | "audit">,
  since: number,
): Promise<string[]> {
  const { world } = sources;
  const snsChannels = Object.entries(world.runtime.channels)
    .filter(([, c]) => c.type === "sms" || c.type === "email")
    .map(([name]) => name);
  const lines: string[] = [];
  if (snsChannels.length > 0) {
    for (const a of await sources.audit.read()) {
      if (Date.parse(String(a.at)) < since - 1 || !snsChannels.includes(String(a.channel)))
        continue;
      if (a.action === "failed" || a.action === "retried")
        lines.push(`    → sns ${String(a.channel)}: ${a.action} (${String(a.result ?? "")})`);
    }
  }
  return lines;
}

/**
 * Names the user's faults that explain a step that did not end as expected: the step met a
 * failing receiver (failed attempts, redeliveries or the DLQ) while the user had faults set, or
 * it acts on what an earlier step explained so should have posted (a click on the approval
 * request that step's fault kept from Slack: its problems name that step, `step "<id>"`), or on
 * an execution an explained step's problems name (its approval left waiting because nobody could
 * click: a retry CodePipeline refuses, an execution held behind it in the stage).
 */
export function explainByUserFaults(
  report: StepReport,
  userFaults: Record<string, string>,
  explainedSteps: ReadonlySet<string> = new Set(),
  explainedExecutions: ReadonlySet<string> = new Set(),
): string | undefined {
  const faults = Object.values(userFaults);
  const { failedAttempts, retried, dlq } = report.observed;
  const metFailure = Object.keys(failedAttempts).length > 0 || retried > 0 || dlq > 0;
  const knockOn = report.problems.some(
    (p) =>
      [...explainedSteps].some((id) => p.includes(`step "${id}"`)) ||
      executionIdsIn([p]).some((id) => explainedExecutions.has(id)),
  );
  return faults.length > 0 && (metFailure || knockOn) ? faults.join(", ") : undefined;
}

/** The execution ids (CodePipeline's are UUIDs) that problem lines name. */
export function executionIdsIn(problems: string[]): string[] {
  return problems.flatMap((p) => p.match(/\b[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\b/g) ?? []);
}

/**
 * Returns a function that plays a scenario on the host, keeping `progress` current and logging
 * each step; a scenario written for another stack plays with a warning. A step that fails
 * because of a fault the user set is reported as explained (`~`), not as a failure.
 */
export function createPlayer(options: {
  host: ScenarioHost;
  stack: string;
  progress: ScenarioProgress;
  log: Log;
  sources: Pick<ViewSources, "world" | "audit" | "faults">;
  /** Where the run is recorded step by step, for a summary of what was played so far. */
  played?: PlayedRecord;
}): (scenario: Scenario) => Promise<ScenarioReport> {
  const { host, stack, progress, log, sources } = options;
  return async (scenario) => {
    const run: PlayedRun = {
      name: scenario.name,
      total: scenario.steps.length,
      steps: [],
    };
    if (options.played) options.played.current = run;
    if (scenario.stack && scenario.stack !== stack)
      log(`  (scenario written for stack ${scenario.stack}, running on ${stack})`);
    progress.scenario = scenario.name;
    progress.steps = scenario.steps.map((s) => ({
      name: s.name,
      say: s.say,
      status: "pending",
      problems: [],
    }));
    log(`scenario: ${scenario.name}`);
    for (const line of stopLeftOvers(sources.world, scenario)) log(`  ⚠ ${line}`);
    let stepStarted = Date.now();
    // Ids of the steps a user's fault explained: a later step acting on what they did not post
    // is explained too.
    const explainedSteps = new Set<string>();
    const explainedExecutions = new Set<string>();
    const report = await runScenario(host, scenario, {
      onStepStart(step, i) {
        stepStarted = Date.now();
        progress.steps[i].status = "running";
        log(
          `\n▶ ${i + 1}/${scenario.steps.length} ${step.name}${step.say ? ` — ${step.say}` : ""}`,
        );
      },
      onSay: (line) => log(`    … ${line}`),
      explain: (r) =>
        explainByUserFaults(r, sources.faults.user, explainedSteps, explainedExecutions),
      async onStep(r, i) {
        run.steps.push(r);
        const id = scenario.steps[i].id;
        if (r.explainedBy && id) explainedSteps.add(id);
        if (r.explainedBy) for (const x of executionIdsIn(r.problems)) explainedExecutions.add(x);
        progress.steps[i].status = r.ok ? "ok" : r.explainedBy ? "explained" : "failed";
        progress.steps[i].problems = r.problems;
        progress.steps[i].notes = r.notes;
        for (const line of await stepDetails(sources, stepStarted)) log(line);
        log(stepLine(r));
        for (const note of r.notes) log(`    ⚠ ${note}`);
        if (r.explainedBy) {
          log(`    ~ not as the scenario expects, because of your fault ${r.explainedBy}:`);
          for (const problem of r.problems) log(`      ${problem}`);
        } else for (const problem of r.problems) log(`    ✗ ${problem}`);
      },
    });
    return report;
  };
}
