/**
 * `npm start -- --no-serve` for both stacks, as a newcomer would run it: a real process that
 * evaluates the program, runs the archives and plays the built-in scenario; exit status 0 only
 * when every scenario event ended where it should.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

/** Runs the CLI the way `npm start` does (ts-node --transpile-only sandbox/start.ts). */
function runStart(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "sandbox/start.ts", ...args],
      { cwd: ROOT, env: { ...process.env, FORCE_COLOR: "0" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

describe("npm start -- --no-serve", () => {
  test.each([
    ["staging", 5, ["slack-staging"]],
    ["prod", 6, ["slack-eng", "slack-releases", "pagerduty-oncall", "sms-oncall"]],
  ])(
    "stack %s: every scenario event ends as expected and the summary lists each channel",
    async (stack, steps, channels) => {
      // Prepare / Act
      const { code, output } = await runStart(["--stack", stack as string, "--no-serve"]);

      // Assess
      expect(output).toContain(`steps: ${steps}/${steps} ended as expected`);
      expect(output).not.toMatch(/✗/);
      for (const channel of channels as string[])
        expect(output).toMatch(new RegExp(`^${channel}\\s`, "m"));
      expect(output).toMatch(/queue: [1-9]\d* redeliveries \(retries\), 0 in the DLQ/);
      expect(code).toBe(0);
    },
    90_000,
  );

  test("a scenario whose expectation does not hold exits 1 and names the problem", async () => {
    // Prepare
    const scenario = path.join(ROOT, "tests", "events", "sandbox", "wrong-expectation.json");

    // Act
    const { code, output } = await runStart([
      "--stack",
      "staging",
      "--no-serve",
      "--scenario",
      scenario,
    ]);

    // Assess
    expect(output).toContain("slack-staging: expected 2 delivered, got 1");
    expect(output).toContain("steps: 0/1 ended as expected");
    expect(code).toBe(1);
  }, 90_000);
});
