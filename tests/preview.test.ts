/**
 * `npm run preview`: the command runs as a child process, as a user runs it, for both stacks, a
 * broken stack file and encrypted secrets. The usage and config errors that stop before any
 * evaluation run in this process (tests/support/in-process.ts): a child would load every import
 * under ts-node to print one line; the processes above cover the script's exit code and stdout.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfig } from "../config";
import { buildRulePattern, EVENT_PATTERN_MAX_CHARS } from "../infra/patterns";
import { placeholderSecrets, readStackConfig } from "../testing";
import { preview as previewMain } from "../scripts/preview";
import { runInProcess } from "./support/in-process";
import { runScript, type ScriptRun as Run } from "./support/scripts";

jest.setTimeout(120_000);

/** A fixed "now" so that the next downtime occurrences are known: Wednesday 2024-11-20 00:00 UTC. */
const NOW = "2024-11-20T00:00:00Z";

const preview = (args: string[]) => runScript("preview", args);
/** `preview(argv)` of scripts/preview.ts in this process, its output captured. */
const previewInProcess = (args: string[]) => runInProcess(previewMain, args);

/** The rule pattern the stack's config yields, computed in-process by the program's own code. */
function expectedPattern(stack: string): string {
  const { raw } = readStackConfig(stack);
  const config = parseConfig({ ...raw, secrets: placeholderSecrets(raw) }, { stack });
  return buildRulePattern(config.runtime).pattern;
}

const BROKEN_STACK_FILE = `config:
  aws:region: us-east-1
  deploy-notifier:pipelines:
    - name: main-app-staging-v3
      tier: gold
  deploy-notifier:channels:
    slack-staging:
      type: slack
  deploy-notifier:routing:
    standard: [slack-staging, nope]
  deploy-notifier:opsEmail: not-an-email
`;

/** Secrets as `pulumi config set --secret --path` stores them; a channel no tier routes to. */
const ENCRYPTED_STACK_FILE = `config:
  aws:region: us-east-1
  deploy-notifier:pipelines:
    - name: main-app-staging-v3
      tier: standard
    - prefix: main-app-
      tier: standard
  deploy-notifier:channels:
    slack-staging:
      type: slack
    pd:
      type: pagerduty
    unrouted:
      type: slack
  deploy-notifier:routing:
    standard: [slack-staging, pd]
  deploy-notifier:opsEmail: platform-team@example.com
  deploy-notifier:secrets:
    slack-staging:
      webhookUrl:
        secure: v1:K2tCn7PlhWbgfnRR:8xq0cG3b0vT2xYm0Yb1s1XxZ2s3Y4Q==
    pd:
      routingKey:
        secure: v1:Qm9vcmtleTEyMzQ1:Zm9vYmFyYmF6cXV4
`;

/** A webhook URL written in plain text: a leaked secret. */
const PLAIN_TEXT_STACK_FILE = `config:
  deploy-notifier:pipelines:
    - name: main-app-staging-v3
      tier: standard
  deploy-notifier:channels:
    slack-staging:
      type: slack
  deploy-notifier:routing:
    standard: [slack-staging]
  deploy-notifier:opsEmail: platform-team@example.com
  deploy-notifier:secrets:
    slack-staging:
      webhookUrl: https://hooks.slack.com/services/T0/B0/plaintext
`;

describe("npm run preview", () => {
  // The evaluations are independent child processes: start them together.
  const runs: Record<string, Promise<Run>> = {};
  let brokenDir: string;

  beforeAll(() => {
    brokenDir = fs.mkdtempSync(path.join(os.tmpdir(), "dn-preview-test-"));
    fs.writeFileSync(path.join(brokenDir, "broken.yaml"), BROKEN_STACK_FILE);
    runs.prodJson = preview(["--stack", "prod", "--json", "--now", NOW]);
    runs.stagingText = preview(["--stack", "staging", "--now", NOW]);
    runs.broken = preview([
      "--stack",
      "staging",
      "--config-file",
      path.join(brokenDir, "broken.yaml"),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled(Object.values(runs));
    fs.rmSync(brokenDir, { recursive: true, force: true });
  });

  test("--json for prod: the declared rule pattern, routing, archives, downtime, outputs", async () => {
    // Prepare
    const run = await runs.prodJson;

    // Act
    const result = JSON.parse(run.stdout);

    // Assess
    expect(run.code).toBe(0);
    expect(result.ok).toBe(true);
    expect(result.stack).toBe("prod");
    // By name: the stack also has the approval reminder scan's schedule rule.
    const rule = result.resources.find(
      (r: { type: string; name: string }) =>
        r.type === "aws:cloudwatch/eventRule:EventRule" && r.name === "codepipeline",
    );
    expect(JSON.parse(result.rulePattern.pattern)).toEqual(JSON.parse(rule.inputs.eventPattern));
    expect(result.rulePattern.pattern).toBe(expectedPattern("prod"));
    expect(result.routing).toEqual([
      {
        pipeline: "main-app-production-v3",
        tier: "critical",
        severity: "critical",
        states: ["FAILED"],
        channels: ["pagerduty-oncall", "slack-eng", "sms-oncall"],
        approvals: "slack-releases (U012ABCDEF, U034GHIJKL)",
      },
      {
        pipeline: "api-gateway-prod-cluster",
        tier: "critical",
        severity: "critical",
        states: ["FAILED"],
        channels: ["pagerduty-oncall", "slack-eng", "sms-oncall"],
      },
    ]);
    expect(result.archives.map((a: { name: string }) => a.name).sort()).toEqual([
      "approval",
      "fanout",
    ]);
    for (const archive of result.archives) {
      expect(Number.isInteger(archive.bytes) && archive.bytes > 0).toBe(true);
      expect(Number.isInteger(archive.files) && archive.files > 0).toBe(true);
    }
    // Sunday 02:00-04:00 in Berlin is 01:00-03:00 UTC in winter (CET).
    expect(result.downtime).toHaveLength(1);
    expect(result.downtime[0].name).toBe("sunday-maintenance");
    expect(result.downtime[0].next).toEqual([
      { start: "2024-11-24T01:00:00.000Z", end: "2024-11-24T03:00:00.000Z" },
      { start: "2024-12-01T01:00:00.000Z", end: "2024-12-01T03:00:00.000Z" },
      { start: "2024-12-08T01:00:00.000Z", end: "2024-12-08T03:00:00.000Z" },
    ]);
    expect(result.outputs.approvalFunctionName).toBe("deploy-notifier-prod-approval");
    expect(result.outputs.slackInteractivityUrl).toMatch(/^https:\/\//);
    // The Slack app manifest output: interactivity at that URL, only the scope prod needs.
    expect(result.outputs.slackAppManifest.settings.interactivity).toEqual({
      is_enabled: true,
      request_url: result.outputs.slackInteractivityUrl,
    });
    expect(result.outputs.slackAppManifest.oauth_config.scopes.bot).toEqual(["incoming-webhook"]);
  });

  test("text for staging: every section, readable", async () => {
    // Prepare
    const run = await runs.stagingText;

    // Act
    const lines = run.stdout.split("\n");
    const patternHeader = lines.findIndex((l) => l.startsWith("EventBridge rule pattern:"));
    const patternEnd = lines.findIndex((l, i) => i > patternHeader && l === "  Branches");
    const printedPattern = JSON.parse(lines.slice(patternHeader + 1, patternEnd).join("\n"));
    const section = (title: string) => {
      const start = lines.findIndex((l) => l.startsWith(title));
      const end = lines.findIndex((l, i) => i > start && l === "");
      return lines.slice(start, end === -1 ? undefined : end);
    };

    // Assess
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(lines[0]).toContain("deploy-notifier/staging");
    expect(section("Resources:")[0]).toMatch(/^Resources: \d+ to create$/);
    expect(section("Resources:").join("\n")).toMatch(
      /aws:lambda\/function:Function\s+2\s+approval, fanout$/m,
    );
    const expected = expectedPattern("staging");
    expect(printedPattern).toEqual(JSON.parse(expected));
    expect(lines[patternHeader]).toBe(
      `EventBridge rule pattern: ${expected.length} / ${EVENT_PATTERN_MAX_CHARS} characters (${Math.round((100 * expected.length) / EVENT_PATTERN_MAX_CHARS)}%)`,
    );
    expect(section("EventBridge rule pattern:").join("\n")).toMatch(
      /Pipeline\s+FAILED, SUCCEEDED\s+1\s+exact/,
    );
    const routing = section("Routing");
    expect(routing[3]).toMatch(
      /^\s+main-app-staging-v3\s+standard\s+warning\s+FAILED, SUCCEEDED\s+slack-staging\s+-$/,
    );
    expect(routing[4]).toMatch(/^\s+staging-\*\s+standard\s+warning\s+FAILED\s+slack-staging\s+-$/);
    // 23:00-01:00 New York on weekdays; "now" is Tuesday 19:00 there.
    const downtime = section("Downtime windows").join("\n");
    expect(downtime).toContain("nightly-resets");
    expect(downtime).toContain("Tue 2024-11-19 23:00 -> Wed 2024-11-20 01:00");
    expect(downtime).toContain("Wed 2024-11-20 23:00 -> Thu 2024-11-21 01:00");
    expect(downtime).toContain("Thu 2024-11-21 23:00 -> Fri 2024-11-22 01:00");
    const archives = section("Lambda archives");
    for (const name of ["fanout", "approval"]) {
      const row = archives.find((l) => l.trimStart().startsWith(`${name} `));
      expect(row).toMatch(
        new RegExp(`^\\s+${name}\\s+\\d+\\s+[\\d.]+ (B|KiB|MiB)\\s+\\d+\\s+__index.handler`),
      );
    }
    expect(section("Outputs").join("\n")).toMatch(
      /fanoutFunctionName\s+deploy-notifier-staging-fanout/,
    );
  });

  test("a broken stack file: pulumi-style error listing every problem by key, exit 1", async () => {
    // Prepare
    const run = await runs.broken;

    // Act
    const problems = run.stderr.split("\n").filter((l) => l.startsWith("  - "));

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^error: 3 problems in stack config:\n/);
    expect(problems.sort()).toEqual(
      [
        '  - deploy-notifier:pipelines[0].tier: unknown tier "gold" (routing defines: standard)',
        "  - deploy-notifier:opsEmail: must be an email address",
        '  - deploy-notifier:routing.standard[1]: unknown channel "nope" (defined: slack-staging)',
      ].sort(),
    );
  });

  test("an unknown stack names the available ones, exit 1", async () => {
    // Act
    const run = await previewInProcess(["--stack", "qa"]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.console).toEqual([]);
    expect(run.stderr).toMatch(/^error: no stack named "qa"; available stacks: prod, staging /);
  });

  test("secrets set with --secret --path (secure: leaves) count as set: placeholders, said so", async () => {
    // Prepare: started here, not with the others, so as not to slow the evaluations above.
    fs.writeFileSync(path.join(brokenDir, "Pulumi.enc.yaml"), ENCRYPTED_STACK_FILE);

    // Act
    const run = await preview(["--config-file", path.join(brokenDir, "Pulumi.enc.yaml")]);

    // Assess: no "is required"; the header says which secrets were encrypted.
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      "secrets: 2 encrypted in the stack file (set; not decrypted offline, placeholders used): secrets.slack-staging.webhookUrl, secrets.pd.routingKey",
    );
    // A channel nothing routes to is a warning, printed, not an error; an overlap says who wins.
    expect(run.stdout).toContain(
      "warning: deploy-notifier:channels.unrouted: no tier in deploy-notifier:routing sends to this channel and no approval uses it; it will receive nothing",
    );
    expect(run.stdout).toContain(
      "note: deploy-notifier:pipelines[0] (name main-app-staging-v3) is also matched by deploy-notifier:pipelines[1] (prefix main-app-): the exact name wins, tier standard",
    );
  });

  test("a secret in plain text in the stack file is refused, naming the key, exit 1", async () => {
    // Prepare
    const file = path.join(brokenDir, "Pulumi.plain.yaml");
    fs.writeFileSync(file, PLAIN_TEXT_STACK_FILE);

    // Act
    const run = await previewInProcess(["--config-file", file]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.console).toEqual([]);
    expect(run.stderr).toBe(
      "error: 1 problem in stack config:\n" +
        "  - deploy-notifier:secrets.slack-staging.webhookUrl: is in plain text in the stack file; a secret must be encrypted: pulumi config set --secret --path 'secrets.slack-staging.webhookUrl' …\n",
    );
  });

  test("a YAML syntax error: error: <file>:<line>:<col>: <message>, no stack trace, exit 1", async () => {
    // Prepare: the flow sequence on line 5 is never closed.
    const file = path.join(brokenDir, "Pulumi.bad.yaml");
    fs.writeFileSync(
      file,
      "config:\n  deploy-notifier:pipelines:\n    - name: a\n      tier: [standard\n  deploy-notifier:opsEmail: x\n",
    );

    // Act
    const run = await previewInProcess(["--config-file", file]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: ${file.replace(/[.]/g, "\\.")}:5:3: \\S.*\n$`));
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test("--help prints the usage with every option, exit 0", async () => {
    // Act
    const run = await previewInProcess(["--help"]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.console).toEqual([]);
    expect(run.stdout.split("\n")[0]).toBe(
      "usage: npm run preview -- --stack <name> [--config-file <path>] [--json] [--now <ISO time>]",
    );
  });
});
