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
import { fanoutDlq, slackMessages, type ViewSources } from "./views";
import type { Log } from "./wiring";

/** The scenario being played and how far it got, for the page. */
export interface ScenarioProgress {
  scenario?: string;
  steps: Array<{ name: string; say?: string; status: string; problems: string[] }>;
}

/** The running sandbox as the scenario runner sees it. */
export function createScenarioHost(
  sources: Pick<ViewSources, "world" | "events" | "faults" | "audit">,
): ScenarioHost {
  const { world, events, faults, audit } = sources;
  const { aws, receivers } = world.standins;
  return {
    runtime: world.runtime,
    postEvent: async (event) => (await events.postEvent(event))[0],
    settle: events.settle,
    message: (id) => events.queue.messages.find((m) => m.messageId === id),
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
      })),
    slackMessagesSince: (channel, since) =>
      slackMessages(world)
        .filter((m) => m.channel === channel && Date.parse(m.at) >= since)
        .map((m) => m.payload),
    setFault: (fault) => (fault ? faults.set(fault.receiver, fault) : undefined),
    addPendingApproval: (input) => void aws.addPendingApproval(input),
    addFailedExecution: (input) => aws.addFailedExecution(input),
    addExecution(input) {
      const pipelines = aws.state.codepipeline.pipelines;
      pipelines[input.pipeline] ??= { stages: [], executions: {} };
      pipelines[input.pipeline].executions[input.executionId] = {
        status: input.status,
        startTime: new Date(),
        trigger: input.trigger,
        artifactRevisions: input.revision ? [input.revision] : undefined,
      };
    },
  };
}

/** The terminal line that ends a step. */
function stepLine(report: StepReport): string {
  const delivered =
    Object.entries(report.observed.delivered)
      .map(([c, n]) => `${c} ${n}`)
      .join(", ") || "nothing";
  return `  ${report.ok ? "✓" : "✗"} delivered: ${delivered}; retried ${report.observed.retried}; DLQ ${report.observed.dlq}; ${report.ms} ms`;
}

/**
 * Returns a function that plays a scenario on the host, keeping `progress` current and logging
 * each step; a scenario written for another stack plays with a warning.
 */
export function createPlayer(options: {
  host: ScenarioHost;
  stack: string;
  progress: ScenarioProgress;
  log: Log;
}): (scenario: Scenario) => Promise<ScenarioReport> {
  const { host, stack, progress, log } = options;
  return async (scenario) => {
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
    return runScenario(host, scenario, {
      onStepStart(step, i) {
        progress.steps[i].status = "running";
        log(
          `\n▶ ${i + 1}/${scenario.steps.length} ${step.name}${step.say ? ` — ${step.say}` : ""}`,
        );
      },
      onStep(report, i) {
        progress.steps[i].status = report.ok ? "ok" : "failed";
        progress.steps[i].problems = report.problems;
        log(stepLine(report));
        for (const problem of report.problems) log(`    ✗ ${problem}`);
      },
    });
  };
}
