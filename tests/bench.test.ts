/**
 * `npm run bench -- --json --quick`: the report's shape, not its numbers (no timed tests: the
 * values belong to the benchmark, which prints PASS/FAIL against its targets).
 *
 * The run of every section is in this process, on the smallest sizes that still exercise each
 * section's code (2 and 3 generated pipelines instead of 2 and 500, one latency event per variant
 * instead of 5): the sizes change the numbers, not the keys or the code path, and the numbers are
 * the benchmark's. `--chaos` and `--storm` run as real processes, so a stray line on stdout (the
 * report must be the whole of it) is still caught where nothing stands between.
 */

import { runInProcess } from "./support/in-process";
import { runScript, type ScriptRun } from "./support/scripts";
import * as benchScript from "../scripts/bench";
import * as latencyScript from "../scripts/lib/latency";

const { bench: runBench, sectionsFor } = benchScript;

// Each run evaluates the program and starts archives in fresh processes: minutes on a busy 2-core machine.
jest.setTimeout(420_000);

const bench = (args: string[]) => runScript("bench", args);

const positive = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n > 0;
const positiveInteger = (n: unknown) => positive(n) && Number.isInteger(n);

/**
 * The `latency` fragment (issue 12, scripts/lib/latency.ts): every key, a finite positive number.
 * Shape only: the values are the benchmark's, judged by its PASS/FAIL lines, not by a timed test.
 */
function expectLatencyShape(latency: Record<string, unknown>): void {
  expect(Object.keys(latency).sort()).toEqual([
    "coldStartMs",
    "handlerRatio",
    "lastReceiverRatio",
    "lastReceiverRatioProdLike",
    "lastRequestMs",
    "lastRequestMsProdLike",
    "sdkFloorColdStartMs",
    "slowestMs",
  ]);
  for (const [key, value] of Object.entries(latency)) {
    expect({ key, positive: positive(value) }).toEqual({ key, positive: true });
  }
  // A ratio is (time to the last request + slowest) / slowest: never below 1 by definition.
  for (const key of ["lastReceiverRatio", "lastReceiverRatioProdLike", "handlerRatio"]) {
    expect({ key, atLeastOne: (latency[key] as number) >= 1 }).toEqual({ key, atLeastOne: true });
  }
  expect(latency.slowestMs).toBe(300);
}

/**
 * Runs the bench in this process: `bench` resolves with the exit code that scripts/bench.ts sets
 * and writes what it prints to process.stdout / stderr, captured here (tests/support/in-process.ts).
 */
const benchInProcess = (args: string[]) => runInProcess(runBench, args);

describe("npm run bench", () => {
  afterEach(() => jest.restoreAllMocks()); // the replaced sizes too (jest 29.4+)

  // `--chaos` and `--storm` are real processes that spend most of their minute waiting on their
  // scaled clock (the storm's events arrive 10 s apart, the queues wait out visibility timeouts):
  // both start with the file and run while the in-process run below works; their tests await them.
  let chaosRun: Promise<ScriptRun>;
  let stormRun: Promise<ScriptRun>;
  beforeAll(() => {
    // A handful of events (the figures belong to the benchmark; these tests check the shape).
    chaosRun = bench(["--chaos", "--json", "--quick", "--events", "4"]);
    // Two events carry every key of the storm report; six also filled grouping windows whose
    // flushes the run waited for (measured standalone: 95 s against 50 s).
    stormRun = bench(["--storm", "--json", "--events", "2"]);
  });
  afterAll(() => Promise.all([chaosRun, stormRun]), 400_000); // also when their tests are skipped

  test("--json --quick prints exactly one JSON object with every section", async () => {
    // Prepare: what `npm run bench` evaluates (2 and 500 pipelines; the multi-account row), then
    // the smallest sizes of the same code path (scripts/bench.ts reads them at run time).
    expect(benchScript.PROGRAM_SIZES).toEqual([2, 500]);
    jest.replaceProperty(benchScript, "PROGRAM_SIZES", [2, 3] as unknown as [2, 500]);
    const accountsRow = { pipelines: 6, accounts: 2, regions: 3 };
    jest.replaceProperty(
      benchScript,
      "ACCOUNTS_ROW",
      accountsRow as unknown as typeof benchScript.ACCOUNTS_ROW,
    );
    // One batch of 10 events instead of 6 (the figures are the benchmark's: 60 events took 26 s).
    expect(benchScript.THROUGHPUT_EVENTS).toBe(60);
    jest.replaceProperty(benchScript, "THROUGHPUT_EVENTS", 10 as 60);
    const oneRun = { ...latencyScript.LATENCY, runs: 1 };
    jest.replaceProperty(
      latencyScript,
      "LATENCY",
      oneRun as unknown as typeof latencyScript.LATENCY,
    );

    // Act
    const run = await benchInProcess(["--json", "--quick"]);

    // Assess
    expect(run.code === 0 ? 0 : run.stderr).toBe(0); // on failure, show why
    expect(run.console).toEqual([]); // console.log & co. would print on the report's stdout
    const report = JSON.parse(run.stdout); // the whole stdout: nothing else is printed there
    expect(Object.keys(report).sort()).toEqual([
      "artifacts",
      "baseline",
      "fanout",
      "latency",
      "program",
      "sandbox",
      "throughput",
    ]);

    expect(report.artifacts.map((a: { name: string }) => a.name).sort()).toEqual([
      "approval",
      "fanout",
    ]);
    for (const artifact of report.artifacts) {
      expect(Object.keys(artifact).sort()).toEqual([
        "bytes",
        "coldStartMs",
        "files",
        "loadMs",
        "name",
      ]);
      expect(positiveInteger(artifact.bytes)).toBe(true);
      expect(positiveInteger(artifact.files)).toBe(true);
      expect(positive(artifact.coldStartMs)).toBe(true);
      expect(positive(artifact.loadMs)).toBe(true);
      // A cold start includes the load: a report where it does not is measuring something else.
      expect(artifact.coldStartMs).toBeGreaterThanOrEqual(artifact.loadMs);
    }
    expect(positiveInteger(report.baseline.bytes)).toBe(true);
    expect(positive(report.baseline.coldStartMs)).toBe(true);
    const accountsKey = `accounts${accountsRow.accounts * accountsRow.regions}`;
    expect(Object.keys(report.program).sort()).toEqual([accountsKey, "pipelines2", "pipelines3"]);
    for (const key of Object.keys(report.program)) {
      expect(positiveInteger(report.program[key].resources)).toBe(true);
      expect(positive(report.program[key].evalMs)).toBe(true);
    }
    expect(positiveInteger(report.program[accountsKey].patternChars)).toBe(true);
    expect(positive(report.fanout.ratio)).toBe(true);
    expect(report.fanout.slowestMs).toBe(300);
    expect(report.fanout.wallMs).toBeGreaterThanOrEqual(report.fanout.slowestMs);
    expectLatencyShape(report.latency);
    expect(positive(report.throughput.eventsPerSec)).toBe(true);
    expect(positive(report.throughput.cpuMsPerNotification)).toBe(true);
    expect(positive(report.sandbox.startToReadyMs)).toBe(true);
    expect(positive(report.sandbox.eventToLastDeliveryMs)).toBe(true);
    // The first invocations really ran against the stand-ins (no "invocation failed" warnings).
    expect(run.stderr).not.toMatch(/^warning: /m);
  }, 900_000);

  test("--chaos --json prints the chaos report: per channel, cost (shape only)", async () => {
    // Act: the run started with the file (beforeAll), on 4 events.
    const run = await chaosRun;

    // Assess
    expect(run.code === 0 ? 0 : run.stderr).toBe(0);
    const { chaos, ...rest } = JSON.parse(run.stdout);
    expect(rest).toEqual({}); // --chaos runs the chaos benchmark only
    expect(chaos.events).toBe(4);
    // The prod critical route, plus the generic webhook the run adds.
    expect(Object.keys(chaos.channels).sort()).toEqual([
      "pagerduty-oncall",
      "slack-eng",
      "sms-oncall",
      "webhook-ops",
    ]);
    for (const tally of Object.values<Record<string, number>>(chaos.channels)) {
      expect(Object.keys(tally).sort()).toEqual([
        "ambiguousSends",
        "dlqWithReason",
        "dlqWithoutReason",
        "duplicates",
        "lost",
        "lostReplies",
        "once",
        "unattributed",
      ]);
      for (const n of Object.values(tally)) expect(Number.isInteger(n) && n >= 0).toBe(true);
      // Every (event, channel) ends somewhere: once, duplicated (also delivered), DLQ or lost.
      const delivered = tally.once + (tally.duplicates > 0 ? 1 : 0);
      expect(
        delivered + tally.lost + tally.dlqWithReason + tally.dlqWithoutReason,
      ).toBeGreaterThanOrEqual(1);
    }
    // Receivers with idempotency never count a lost reply as ambiguous.
    expect(chaos.channels["pagerduty-oncall"].ambiguousSends).toBe(0);
    expect(chaos.channels["webhook-ops"].ambiguousSends).toBe(0);
    expect(positive(chaos.cost.ddbCallsPerNotification)).toBe(true);
    expect(positive(chaos.cost.ddbWritesPerEvent)).toBe(true);
    expect(positive(chaos.cost.usdPerMillionEvents)).toBe(true);
    // The targets, PASS/FAIL (scripts/lib/chaos-targets.ts; their verdicts: tests/bench/chaos-targets.test.ts).
    expect(Object.keys(chaos.targets).sort()).toEqual([
      "chaosDdbCallsPerEvent",
      "dlqWithoutReason",
      "duplicatesBeyondAmbiguous",
      "lost",
    ]);
    const ddb = chaos.cost.chaosDdbCallsPerEvent;
    expect(chaos.targets.chaosDdbCallsPerEvent).toEqual({ value: ddb, max: 22, pass: ddb <= 22 });
  }, 400_000);

  test("--storm --json prints the storm report: every key with its type (shape, not targets)", async () => {
    // Act: the short storm started with the file (beforeAll). The targets belong to the
    // benchmark; this checks the keys and types, which do not depend on the event count (the
    // channels come from the prod route).
    const run = await stormRun;

    // Assess
    expect(run.code === 0 ? 0 : run.stderr).toBe(0);
    const { storm, ...rest } = JSON.parse(run.stdout);
    expect(rest).toEqual({}); // --storm runs the storm benchmark only, like --chaos
    expect(storm.events).toBe(2);
    const counts = [
      "lost",
      "duplicates",
      "dlq",
      "slackAttemptsPerSecMax",
      "http429",
      "pages",
      "sms",
    ];
    for (const key of counts) {
      expect([key, Number.isInteger(storm[key]) && storm[key] >= 0]).toEqual([key, true]);
    }
    expect(storm.attempts).toBeGreaterThanOrEqual(storm.http429);
    // What a person sees, per channel of the prod critical route.
    expect(Object.keys(storm.messagesPerChannel).sort()).toEqual([
      "pagerduty-oncall",
      "slack-eng",
      "sms-oncall",
    ]);
    for (const n of Object.values(storm.messagesPerChannel)) expect(Number.isInteger(n)).toBe(true);
    expect(positive(storm.drainSeconds)).toBe(true);
    expect(positive(storm.ddbCallsPerEvent)).toBe(true);
    expect(storm.attemptsPerSecMax.slack).toEqual({
      max: expect.any(Number),
      limitPerSec: 1,
      burst: 3,
    });
  }, 400_000);

  // `--latency` alone: which sections a run takes, without running the latency section a second
  // time (the full `--json --quick` run above already checks every key of its fragment).
  test("--latency (like --chaos and --storm) runs its section only; no option runs every section", () => {
    const names = (options: Parameters<typeof sectionsFor>[0]) =>
      sectionsFor(options).map((s) => s.name);
    expect(names({ latency: true })).toEqual(["latency"]);
    expect(names({ storm: true })).toEqual(["storm"]);
    expect(names({ chaos: true })).toEqual(["chaos"]);
    expect(names({})).toEqual([
      "baseline",
      "artifacts",
      "program",
      "fanout",
      "latency",
      "throughput",
      "sandbox",
    ]);
  });

  // The usage errors, in this process: a spawned run loads every section's imports under ts-node
  // first (45 s each on a busy 2-core machine) to print one line.

  test("--events without --chaos is a usage error naming the option", async () => {
    const run = await benchInProcess(["--events", "5"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: --events/);
  });

  test("--help prints every option on stdout and exits 0, without running a section", async () => {
    // Act: a new user's first try was "error: Unknown option '--help'", exit 1.
    const run = await benchInProcess(["--help"]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^usage: npm run bench -- /);
    for (const option of ["--json", "--quick", "--chaos", "--storm", "--events", "--latency"])
      expect(run.stdout).toContain(`  ${option}`);
  });

  test("an unknown option is a usage error, exit 1", async () => {
    // Act
    const run = await benchInProcess(["--fast"]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^error: .*--fast/);
    expect(run.stderr).toContain("usage: npm run bench -- [--json] [--quick]");
  });
});
