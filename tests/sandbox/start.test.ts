/**
 * `npm start -- --no-serve` for both stacks, as a newcomer would run it: a real process that
 * evaluates the program, runs the archives and plays the built-in scenario (CodePipeline's
 * lifecycle included: a retried stage failing again, a rollback, a rejection in Slack, a retried
 * approval decided from Slack while the old request is refused, an approval that expires); exit
 * status 0 only when every scenario event ended where it should.
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

/** `text` with the characters a regular expression gives meaning to escaped. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("npm start -- --no-serve", () => {
  // `--fault slack=500` on staging spends about a minute waiting: each of the scenario's three
  // Slack steps waits out 3 redeliveries of 7.2 s (360 s visibility at 1/50) before the DLQ. It
  // starts with the file and its test comes last, so the other runs use that wait.
  let slackOutage: Promise<{ code: number; output: string }>;
  beforeAll(() => {
    slackOutage = runStart(["--stack", "staging", "--no-serve", "--fault", "slack=500"]);
  });
  afterAll(() => slackOutage, 300_000); // never leave the run behind, also when its test is skipped

  test("no flags: the demo stack shows every channel type and leaves an approval waiting", async () => {
    // Act: as the README's Quick Start runs it, minus the page.
    const { code, output } = await runStart(["--no-serve"]);

    // Assess: one channel of each type delivered something, and the last step left a request
    // with Approve / Reject buttons in #releases.
    expect(output).toContain("stack demo");
    for (const [channel, type] of [
      ["slack-eng", "slack"],
      ["slack-releases", "slack"],
      ["pagerduty-oncall", "pagerduty"],
      ["sms-oncall", "sms"],
      ["email-platform", "email"],
      ["teams-platform", "teams"],
      ["discord-web", "discord"],
      ["webhook-audit", "webhook"],
    ])
      expect(output).toMatch(new RegExp(`^${channel}\\s+${type}\\s+[1-9]`, "m"));
    expect(output).toMatch(
      /approval request for main-app-production[^\n]*\n[^▶]*✓ delivered: slack-releases 1/,
    );
    // Issue 10: CodePipeline's lifecycle is part of what a newcomer sees, each step ending ✓.
    for (const step of [
      "the retried Deploy stage fails again (attempt 2)",
      "main-app-production rolls back automatically",
      "an approver rejects the release in Slack",
      "Approve on the new request approves the new run",
      // Its expectation: #eng names jordan.lee, the caller CodePipeline recorded (round 17).
      "the hotfix is rejected in the CodePipeline console",
      "Approve on the hotfix's old request is refused: it was replaced",
      "nobody decides within 7 days: the approval expires",
    ])
      expect(output).toMatch(
        new RegExp(`▶ \\d+/\\d+ ${escapeRegExp(step)}[^\\n]*\\n[^▶]*✓ delivered`),
      );
    // The rejection's FAILED events come from the CodePipeline stand-in, as from CodePipeline.
    expect(output).toMatch(/⇢ event CodePipeline emitted main-app-production Action FAILED/);
    expect(output).toContain("steps: 18/18 ended as expected");
    expect(output).not.toMatch(/PipelineExecutionNotFoundException|✗/);
    expect(code).toBe(0);
  }, 300_000);

  test.each([
    ["staging", 5, ["slack-staging"]],
    ["prod", 18, ["slack-eng", "slack-releases", "pagerduty-oncall", "sms-oncall"]],
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
    300_000,
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
  }, 300_000);

  test("a user's --fault slack=500 stays on through the scenario's outage step; what it breaks is explained, exit 0", async () => {
    // Act: the run started with the file (beforeAll).
    const { code, output } = await slackOutage;

    // Assess: the step's own 503 outage did not replace or clear the user's fault.
    expect(output).toContain("your slack=500 stays; the step's own outage is skipped");
    expect(output).not.toContain("fault slack: cleared");
    expect(output).not.toContain("fault slack: 503");
    // Every Slack delivery failed, each parked in the DLQ with its reason, and none is a ✗.
    expect(output).toMatch(/DLQ[^\n]*slack-staging: [^\n]*500/);
    expect(output).toMatch(/did not because of your fault slack=500 \(expected\)/);
    expect(output).toMatch(/^slack-staging\s+slack\s+0\s+\d+\s+[1-9]/m);
    expect(output).not.toMatch(/✗/);
    expect(code).toBe(0);
  }, 300_000);
});
