/**
 * `npm start`'s command line: the stack is resolved (and refused with the list of stacks) before
 * anything starts, `--no-scenario` needs no scenario, `--config-file` runs any stack file, a
 * fault for a receiver the stack never calls and a port clash are refused before the (slow)
 * evaluation, and no run leaves its `/tmp/dn-*` directory behind, Ctrl-C included. A replay asked
 * for on the page prints the summary a run prints; Ctrl-C prints what was done so far and exits
 * 130 (128 + SIGINT's 2, as a shell reports it).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { startSandbox } from "../../sandbox/sandbox";
import { main, parseCliArgs, parseFault, USAGE } from "../../sandbox/start";

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * Runs `act` and resolves with the evaluation directories it created: the program's evaluation
 * starts by making its `dn-<stack>-*` directory (sandbox/wiring.ts), which an error removes again,
 * so what is counted is the calls (observed on node:fs itself, not replaced), not what is left.
 * "Refused before the evaluation" is then an empty list, whatever the machine's speed.
 */
async function evaluationDirsMadeBy(act: () => Promise<unknown>): Promise<string[]> {
  const mkdtemp = jest.spyOn(require("node:fs") as typeof fs, "mkdtempSync");
  try {
    await act();
    return mkdtemp.mock.calls
      .map(([prefix]) => String(prefix))
      .filter((prefix) => path.basename(prefix).startsWith("dn-"));
  } finally {
    mkdtemp.mockRestore();
  }
}

/** Children still running, stopped after each test (a test that failed before its Ctrl-C). */
const children: ChildProcess[] = [];

afterEach(async () => {
  const running = children.splice(0).filter((c) => c.exitCode === null && c.signalCode === null);
  for (const child of running) child.kill("SIGTERM");
  await Promise.all(running.map((c) => new Promise((r) => c.once("close", r))));
});

/** Spawns the CLI the way `npm start` does, with its own TMPDIR so its files can be counted. */
function spawnStart(args: string[], tmp: string): { child: ChildProcess; output: () => string } {
  const child = spawn(
    process.execPath,
    [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "sandbox/start.ts", ...args],
    {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: "0", TMPDIR: tmp },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.push(child);
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));

/** Resolves once the output matches `pattern`; rejects with the output after 150 s. */
async function waitFor(output: () => string, pattern: RegExp): Promise<void> {
  for (let waited = 0; !pattern.test(output()); waited += 200) {
    if (waited > 150_000) throw new Error(`never printed ${pattern}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const dnDirs = (tmp: string) => fs.readdirSync(tmp).filter((f) => f.startsWith("dn-"));

describe("npm start: arguments", () => {
  test("--no-scenario alone plays nothing and demands no --scenario", () => {
    const args = parseCliArgs(["--no-scenario"]);
    expect(args.play).toBe(false);
    expect(args.scenario).toBeUndefined();
  });

  test("--config-file is an option; no --stack means the demo stack", () => {
    expect(parseCliArgs(["--config-file", "x/Pulumi.mine.yaml"])).toMatchObject({
      configFile: "x/Pulumi.mine.yaml",
      stack: undefined,
    });
  });

  test("--stack dev is refused as an unknown stack, naming the available ones", async () => {
    const made = await evaluationDirsMadeBy(() =>
      expect(main(["--stack", "dev", "--no-serve"])).rejects.toThrow(
        // The sandbox's own stacks first (demo, multi-account since issue 14, storm since issue
        // 11), then the project's.
        /^no stack named "dev"; available stacks: demo, multi-account, storm, prod, staging/,
      ),
    );
    expect(made).toEqual([]);
  });

  test("--help lists the stacks and every fault receiver", () => {
    for (const receiver of ["slack", "slack-api", "slack-response", "pagerduty", "teams"])
      expect(USAGE).toContain(receiver);
    expect(USAGE).toMatch(/discord, webhook, sns/);
    expect(USAGE).toContain("--config-file <path>");
    expect(USAGE).toMatch(/demo, multi-account, storm, prod, staging/);
  });
});

describe("npm start: refused before the evaluation", () => {
  test("--fault teams=500 on a stack without Teams names the receivers the stack has", async () => {
    const made = await evaluationDirsMadeBy(() =>
      expect(startSandbox({ stack: "prod", serve: false, faults: ["teams=500"] })).rejects.toThrow(
        "--fault teams=500: stack prod has no channel that uses the teams receiver; its receivers: slack, pagerduty, sns, slack-response",
      ),
    );
    expect(made).toEqual([]);
  });

  test("a --fault that does not parse is refused in the flag's own words", () => {
    // POST /api/faults words the same refusals with its JSON fields (api.test.ts).
    expect(() => parseFault("slack=bogus")).toThrow(
      "--fault slack=bogus: expected <receiver>=<status 400-599|timeout|reset|off>[x<times 1+>]",
    );
    expect(() => parseFault("slack")).toThrow(
      "--fault slack: expected <receiver>=<status 400-599|timeout|reset|off>[x<times 1+>]",
    );
    expect(() => parseFault("bogus=500")).toThrow(
      /^--fault bogus=500: unknown receiver bogus \(one of slack, .*sns\)$/,
    );
    expect(parseFault("slack=503x2")).toEqual({ receiver: "slack", status: 503, times: 2 });
    // No HTTP status (RFC 9110 §15: 100–599) nor a failure (< 400), and a count that never applies.
    for (const spec of ["slack=600", "slack=200", "slack=503x0"]) {
      expect(() => parseFault(spec)).toThrow(
        `--fault ${spec}: expected <receiver>=<status 400-599|`,
      );
    }
  });

  test("a port in use is reported at once, with one prefix", async () => {
    // Prepare
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as net.AddressInfo).port;

    // Act / Assess
    try {
      const made = await evaluationDirsMadeBy(() =>
        expect(startSandbox({ stack: "staging", port })).rejects.toThrow(
          new RegExp(`^port ${port} is in use; pass --port <another>$`),
        ),
      );
      expect(made).toEqual([]);
    } finally {
      blocker.close();
    }
  });
});

describe("npm start: files", () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cli-test-"));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("--config-file with --no-scenario runs a stack that has no built-in scenario, and removes its files", async () => {
    // Prepare: a stack file outside the project, named after its stack.
    const file = path.join(tmp, "Pulumi.mine.yaml");
    fs.copyFileSync(path.join(ROOT, "Pulumi.staging.yaml"), file);

    // Act
    const run = spawnStart(["--config-file", file, "--no-scenario", "--no-serve"], tmp);
    const code = await exited(run.child);

    // Assess
    expect(run.output()).toContain("stack mine");
    expect(run.output()).toMatch(/program evaluated for stack mine/);
    expect(code).toBe(0);
    expect(dnDirs(tmp)).toEqual([]);
  }, 120_000);

  test("--config-file of a broken stack file reports the file's problem, not a missing scenario", async () => {
    // Prepare: the user's own stack (no built-in scenario) with a YAML syntax error on line 2.
    const file = path.join(tmp, "Pulumi.broken.yaml");
    fs.writeFileSync(file, "config:\n  deploy-notifier:pipelines: [unclosed\n");

    // Act: no --no-scenario, as a user would first try it.
    const run = spawnStart(["--config-file", file, "--no-serve"], tmp);
    const code = await exited(run.child);

    // Assess
    expect(run.output()).not.toContain("no built-in scenario");
    expect(run.output()).toContain("Pulumi.broken.yaml");
    expect(code).toBe(1);
    expect(dnDirs(tmp)).toEqual([]);
  }, 120_000);

  test("a replay from the page prints the summary; Ctrl-C then prints what was done, removes the files, exits 130", async () => {
    // Prepare: the page served, no scenario played yet.
    const run = spawnStart(["--stack", "staging", "--no-scenario", "--port", "0"], tmp);
    await waitFor(run.output, /Ctrl-C to stop/);
    expect(dnDirs(tmp)).toHaveLength(1); // the archives, while running
    const url = /the page is live at (http:\/\/127\.0\.0\.1:\d+)/.exec(run.output())?.[1];

    // Act: the page's "Replay scenario" (POST /api/scenario), then Ctrl-C once it has ended.
    const replay = await fetch(`${url}/api/scenario`, { method: "POST" });
    expect(replay.status).toBe(202);
    await waitFor(run.output, /^steps: \d+\/5 ended as expected/m);
    const replayed = run.output();
    run.child.kill("SIGINT");
    const code = await exited(run.child);

    // Assess: the replay's summary is the one a run prints (the staging scenario: 5 steps).
    expect(replayed).toMatch(/^summary — staging: /m);
    expect(replayed).toMatch(/^channel\s+type\s+delivered\s+suppressed\s+failed attempts$/m);
    expect(replayed).toMatch(/^steps: 5\/5 ended as expected$/m);
    // Ctrl-C: what was done so far (the same summary again, of the session), then 130.
    const after = run.output().slice(replayed.length);
    expect(after).toMatch(/^summary — staging: /m);
    expect(after).toMatch(/^steps: 5\/5 ended as expected$/m);
    expect(after).toContain("sandbox: interrupted (SIGINT)");
    expect(code).toBe(130);
    expect(dnDirs(tmp)).toEqual([]);
  }, 240_000);

  test("Ctrl-C while the scenario plays prints the steps played so far and exits 130", async () => {
    // Prepare: the staging scenario's first 3 steps, the second pausing an hour of AWS time (the
    // most `pauseSeconds` allows; 72 s at the sandbox's 1/50) before it begins. The Ctrl-C below
    // then lands while step 2 plays however loaded the machine is: with the built-in scenario, a
    // run could play on to its end between the line and the signal, and how far it got varied.
    const staging = JSON.parse(
      fs.readFileSync(path.join(ROOT, "sandbox", "scenarios", "staging.json"), "utf8"),
    ) as { steps: Array<Record<string, unknown>> };
    const [first, second, third] = staging.steps;
    const file = path.join(tmp, "staging-paused.json");
    const steps = [first, { ...second, pauseSeconds: 3600 }, third];
    fs.writeFileSync(file, JSON.stringify({ ...staging, steps }));

    // Act: Ctrl-C once step 2 of 3 has started.
    const run = spawnStart(["--stack", "staging", "--scenario", file, "--no-serve"], tmp);
    await waitFor(run.output, /^▶ 2\/3 /m);
    run.child.kill("SIGINT");
    const code = await exited(run.child);

    // Assess: the summary says how far the run got (step 1 ended, step 2 was cut short, step 3
    // never began); nothing was left behind.
    const output = run.output();
    const summaryAt = output.indexOf("\nsummary — ");
    expect(output.slice(0, summaryAt).match(/^ {2}[✓~✗] delivered: /gm)).toHaveLength(1);
    expect(output.slice(summaryAt)).toMatch(
      /^summary — staging: .* \(interrupted after 1 of 3 steps\)$/m,
    );
    expect(output).toMatch(/^steps: 1\/1 ended as expected; 2 not played$/m);
    expect(output).toContain("sandbox: interrupted (SIGINT)");
    expect(code).toBe(130);
    expect(dnDirs(tmp)).toEqual([]);
  }, 180_000);
});
