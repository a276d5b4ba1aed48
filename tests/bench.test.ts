/**
 * `npm run bench -- --json --quick`: the report's shape, not its numbers (no timed tests: the
 * values belong to the benchmark, which prints PASS/FAIL against its targets).
 */

import { runScript } from "./support/scripts";

jest.setTimeout(180_000);

const bench = (args: string[]) => runScript("bench", args);

const positive = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n > 0;
const positiveInteger = (n: unknown) => positive(n) && Number.isInteger(n);

describe("npm run bench", () => {
  test("--json --quick prints exactly one JSON object with every section", async () => {
    // Act
    const run = await bench(["--json", "--quick"]);

    // Assess
    expect(run.code === 0 ? 0 : run.stderr).toBe(0); // on failure, show why
    const report = JSON.parse(run.stdout); // the whole stdout: nothing else is printed there
    expect(Object.keys(report).sort()).toEqual([
      "artifacts",
      "baseline",
      "fanout",
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
    for (const key of ["pipelines2", "pipelines500"]) {
      expect(positiveInteger(report.program[key].resources)).toBe(true);
      expect(positive(report.program[key].evalMs)).toBe(true);
    }
    expect(positive(report.fanout.ratio)).toBe(true);
    expect(report.fanout.slowestMs).toBe(300);
    expect(report.fanout.wallMs).toBeGreaterThanOrEqual(report.fanout.slowestMs);
    expect(positive(report.throughput.eventsPerSec)).toBe(true);
    expect(positive(report.throughput.cpuMsPerNotification)).toBe(true);
    expect(positive(report.sandbox.startToReadyMs)).toBe(true);
    expect(positive(report.sandbox.eventToLastDeliveryMs)).toBe(true);
    // The first invocations really ran against the stand-ins (no "invocation failed" warnings).
    expect(run.stderr).not.toMatch(/^warning: /m);
  });

  test("an unknown option is a usage error, exit 1", async () => {
    // Act
    const run = await bench(["--fast"]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^error: .*--fast/);
    expect(run.stderr).toContain("usage: npm run bench -- [--json] [--quick]");
  });
});
