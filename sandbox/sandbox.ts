/**
 * The local sandbox behind `npm start`, as a function: evaluates the Pulumi program for a stack
 * under the mock engine, takes the Lambda archives exactly as `pulumi up` would upload them, runs
 * them in Node as Lambda would, wires them to local stand-ins (dynalite, SNS/SQS/Secrets
 * Manager/CodePipeline/Lambda endpoints, channel receivers), routes events by the rule pattern
 * the program declared through the queue semantics it declared, plays scenarios and serves the
 * live page. Tests and the benchmark use it directly; `start.ts` is its command line.
 */
import { codePipelineViewOfScopes, type AllStandins, type SandboxQueue } from "../testing";
import { createAuditReader } from "./audit-trail";
import { announceSandbox } from "./discovery";
import { startEventSource, type PostedEvent } from "./event-source";
import { createFaultSwitch, faultOf, FaultInputError, parseFault } from "./faults";
import { callApprovalUrl } from "./function-url";
import { createPlayer, createScenarioHost, type PlayedRecord, type ScenarioProgress } from "./run";
import { builtInScenario, type Scenario, type ScenarioHost, type ScenarioReport } from "./scenario";
import {
  assertPortFree,
  SCENARIO_BUSY,
  startSandboxServer,
  type SandboxCore,
  type SandboxServer,
} from "./server";
import { checkFaultReceivers, resolveStack, unusedReceiver } from "./stacks";
import { formatSummary, summarizeChannels, type ChannelSummary } from "./summary";
import {
  alarms,
  deliveriesByReceiver,
  dlqCount,
  pageState,
  sandboxInfo,
  traffic,
  type ViewSources,
} from "./views";
import { createCleanups, startWorld, type Declared, type ScaledTimes } from "./wiring";
import type { RuntimeConfig } from "../handlers/types";

/** Options of {@link startSandbox}. */
export interface SandboxOptions {
  /**
   * The stack: "demo" (default: `sandbox/stacks/Pulumi.demo.yaml`, every channel type) or one
   * with a `Pulumi.<stack>.yaml` in the project root; with `configFile`, the name it runs under.
   */
  stack?: string;
  /** A stack file to evaluate instead (`Pulumi.<stack>.yaml` format). */
  configFile?: string;
  /** Port of the page and API on 127.0.0.1 (default 8787; 0 = any free port). */
  port?: number;
  /** Serve the page and the HTTP API (default true). */
  serve?: boolean;
  /**
   * Write the discovery file that `npm run audit` reads (default false; `npm start` sets it).
   * There is one such file per machine: a sandbox started by a test must not replace, and then
   * remove, the announcement of the `npm start` a user is running.
   */
  announce?: boolean;
  /**
   * How many times faster than AWS the sandbox's clock runs (default `DEFAULT_TIME_SCALE`, 50):
   * the queue's visibility, the fan-out's function timeout and its HTTP timeout, deadline margin
   * and retry backoff are all divided by it, so their ratios stay AWS's (wiring.ts `scaleTimes`).
   */
  timeScale?: number;
  /** Receiver faults, as on the command line: `slack=500`, `slack=503x2`, `pagerduty=timeout`. */
  faults?: string[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Also log the Lambdas' own log lines. */
  verbose?: boolean;
}

/** How long each start-up phase took, in ms. */
export interface SandboxTimings {
  programMs: number;
  standinsMs: number;
  lambdasMs: number;
  serverMs: number;
  /** From the call to the page (or, without serving, the event path) being ready. */
  readyMs: number;
}

/** A running sandbox. */
export interface Sandbox {
  stack: string;
  /** The page, when serving. */
  url?: string;
  port?: number;
  timings: SandboxTimings;
  /** What the program declared (queue, function timeouts) for this stack. */
  declared: Declared;
  /** The fan-out's runtime config for this stack (channels, routing, downtime windows). */
  runtime: RuntimeConfig;
  /** The declared durations on the sandbox's clock (wiring.ts `scaleTimes`). */
  times: ScaledTimes;
  /** Routes an EventBridge event (or a PutEvents `{Entries}` body) like the rule would. */
  postEvent(input: unknown): Promise<PostedEvent[]>;
  /** Waits until the queue and the asynchronous invocations are idle. */
  settle(): Promise<void>;
  /**
   * Plays a scenario (the stack's built-in one by default).
   * @throws (rejects) {@link SCENARIO_BUSY} while another scenario plays.
   */
  runScenario(scenario?: Scenario): Promise<ScenarioReport>;
  /** Totals per channel instance. */
  summary(): Promise<ChannelSummary[]>;
  /**
   * The summary a run prints (summary.ts `formatSummary`): totals per channel, the queue's
   * redeliveries and DLQ, and how `report`'s steps ended; counted from `sinceMs` (epoch ms,
   * default 0: everything since the sandbox started).
   */
  summaryOf(report: ScenarioReport, sinceMs?: number): Promise<string>;
  /**
   * What was done so far (Ctrl-C): the totals since the sandbox started, and the steps of the
   * scenario run in progress (how many of how many were played) or played last, if any.
   */
  summarySoFar(): Promise<string>;
  /** Queue messages that ended in the DLQ plus the fan-out's own DLQ sends. */
  dlqCount(): number;
  /** Approval actions waiting for a decision in the CodePipeline stand-in. */
  pendingApprovals(): number;
  /** The running pieces, for tests and benchmarks. */
  standins: AllStandins;
  queue: SandboxQueue;
  core: SandboxCore;
  close(): Promise<void>;
}

/**
 * Plays one scenario at a time: two runs interleave their steps and each sees the other's
 * deliveries (a "Replay scenario" click while the first run played failed every step). Also
 * remembers the last scenario played, for a replay.
 */
function oneAtATime(playScenario: (scenario: Scenario) => Promise<ScenarioReport>) {
  let playing: Promise<ScenarioReport> | undefined;
  let last: Scenario | undefined;
  return {
    /** @throws (rejects) {@link SCENARIO_BUSY} while another scenario plays. */
    play(scenario: Scenario): Promise<ScenarioReport> {
      if (playing) return Promise.reject(new Error(SCENARIO_BUSY));
      last = scenario;
      const run = playScenario(scenario);
      playing = run;
      const done = () => {
        if (playing === run) playing = undefined;
      };
      run.then(done, done);
      return run;
    },
    playing: () => playing !== undefined,
    last: () => last,
  };
}

/**
 * The summaries a run prints (summary.ts `formatSummary`): `of` a report, counted from `since`
 * (epoch ms; 0: since the sandbox started); `soFar`, the totals since the start with the steps of
 * the run in progress or played last (`played`), how many of how many.
 */
function runSummaries(
  host: ScenarioHost,
  audit: { read(): Promise<Array<Record<string, unknown>>> },
  runtime: RuntimeConfig,
  played: PlayedRecord,
) {
  const of = async (report: ScenarioReport | undefined, since: number, total?: number) => {
    const items = since === 0 ? await audit.read() : await host.auditSince(since);
    const rows = summarizeChannels(runtime, host.deliveriesSince(since), items);
    const queue = { retried: host.redeliveriesSince(since), dlq: host.dlqSince(since) };
    return formatSummary(rows, report, queue, total);
  };
  const soFar = () => {
    const run = played.current;
    const report = run && {
      name: run.name,
      ok: run.steps.every((r) => r.ok || r.explainedBy !== undefined),
      steps: [...run.steps],
    };
    return of(report, 0, run?.total);
  };
  return { of, soFar };
}

/**
 * Starts everything and resolves when the page (or, without serving, the event path) is ready.
 * The stack, the faults and the port are checked first, before the (slow) evaluation.
 * @throws for an unknown stack or a missing config file, a fault that does not parse or names a
 *   receiver the stack never calls, a port in use; when a piece cannot start (the stand-ins, the
 *   program as `pulumi preview` would report it, an archive); whatever had started is closed
 *   again first.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const t0 = performance.now();
  // The SDK's Node version notice is noise here (the Lambda processes set the same variable).
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= "1";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const resolved = resolveStack(options);
  const stack = resolved.name;
  const userFaults = (options.faults ?? []).map((spec) => ({ spec, fault: parseFault(spec) }));
  checkFaultReceivers(resolved, userFaults);
  if (options.serve ?? true) await assertPortFree(options.port ?? 8787);
  const log = options.log ?? (() => undefined);
  const cleanups = createCleanups(log);

  try {
    const world = await startWorld({
      stack,
      stackFile: resolved.file,
      cleanups,
      log,
      verbose: options.verbose ?? false,
      timeScale: options.timeScale,
    });
    const { visibilityTimeoutMs } = world.times;
    const events = startEventSource({ world, visibilityTimeoutMs, cleanups, log });
    const audit = createAuditReader(world.standins.dynamo.endpoint, world.declared.tables);
    cleanups.add(() => audit.close());
    const faults = createFaultSwitch(world.standins, log);
    for (const { spec, fault } of userFaults) faults.set(spec.split("=")[0], fault);

    let server: SandboxServer | undefined;
    const progress: ScenarioProgress = { steps: [] };
    const sources: ViewSources = {
      world,
      events,
      faults,
      audit,
      progress,
      visibilityTimeoutMs,
      server: () => server,
    };
    const host = createScenarioHost(sources);
    const played: PlayedRecord = {};
    const playScenario = createPlayer({ host, stack, progress, log, sources, played });
    const summaries = runSummaries(host, audit, world.runtime, played);
    const player = oneAtATime(playScenario);
    const play = player.play;
    const core: SandboxCore = {
      info: () => sandboxInfo(sources),
      state: () => pageState(sources),
      deliveries: () => deliveriesByReceiver(world),
      audit: () => audit.read(),
      codepipeline: () => codePipelineViewOfScopes(world.standins.aws.state),
      traffic: () => traffic(sources),
      alarms: () => alarms(sources),
      postEvent: events.postEvent,
      interact: (rawBody, headers) => callApprovalUrl(world, rawBody, headers),
      setFault(receiver, spec) {
        // Worded for POST /api/faults: its JSON field and the value (`--fault` says it its way).
        const fault = faultOf(receiver, spec ?? "off");
        // As --fault: a receiver the stack never calls would change nothing (stacks.ts).
        const unused = unusedReceiver(resolved, receiver);
        if (unused) throw new FaultInputError("receiver", receiver, unused);
        faults.set(receiver, fault);
      },
      scenarioPlaying: player.playing,
      async replay() {
        try {
          const since = Date.now();
          const report = await play(player.last() ?? builtInScenario(stack));
          await events.settle();
          // The summary a run prints, of this replay's own deliveries (start.ts prints the first's).
          log(await summaries.of(report, since));
        } catch (err: unknown) {
          log(`sandbox: replay: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
    };

    const tServer = performance.now();
    if (options.serve ?? true) {
      server = await startSandboxServer(core, options.port ?? 8787);
      cleanups.add(() => server?.close());
      // `npm run audit` finds this sandbox's table through the discovery file.
      if (options.announce) cleanups.add(announceSandbox(world, server.url, log));
    }
    const serverMs = performance.now() - tServer;
    const readyMs = performance.now() - t0;

    return {
      stack,
      url: server?.url,
      port: server?.port,
      timings: { ...world.timings, serverMs, readyMs },
      declared: world.declared,
      runtime: world.runtime,
      times: world.times,
      postEvent: events.postEvent,
      settle: events.settle,
      runScenario: (scenario) => play(scenario ?? builtInScenario(stack)),
      summary: async () =>
        summarizeChannels(world.runtime, host.deliveriesSince(0), await audit.read()),
      summaryOf: (report, sinceMs = 0) => summaries.of(report, sinceMs),
      summarySoFar: summaries.soFar,
      dlqCount: () => dlqCount(world, events),
      pendingApprovals: () =>
        Object.values(world.standins.aws.state.codepipeline.pipelines)
          .flatMap((p) => p.stages.flatMap((st) => st.actions))
          .filter((a) => a.category === "Approval" && a.status === "InProgress").length,
      standins: world.standins,
      queue: events.queue,
      core,
      close: () => cleanups.closeAll(),
    };
  } catch (err: unknown) {
    await cleanups.closeAll();
    throw err;
  }
}
