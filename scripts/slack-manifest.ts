/**
 * `npm run slack-manifest -- --stack <name>`: prints the Slack app manifest (JSON) that matches a
 * stack: only the scopes its Slack features need, and interactivity pointed at the approval
 * Lambda when a pipeline has approvals (config/slack-manifest.ts says what needs what).
 *
 * Options:
 *   --stack <name>         a stack with a `Pulumi.<name>.yaml` in the project root
 *   --config-file <path>   read this stack file instead
 *   --url <https URL>      the interactivity request URL; default: the deployed stack's
 *                          `slackInteractivityUrl` output (`pulumi stack output`), when the Pulumi
 *                          CLI is installed and the stack is deployed
 *   --help                 print the usage
 *
 * After `pulumi up` the same manifest is the stack output `slackAppManifest`
 * (`pulumi stack output slackAppManifest --json`).
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { slackManifest } from "../config/slack-manifest";
import { urlProblem } from "../config/schema";
import { ROOT } from "../testing";
import { errorMessage } from "./lib/format";
import {
  availableStacks,
  offlineSecrets,
  readStackFileForCli,
  stackOfFile,
  validateOffline,
} from "./lib/stacks";

/** The command's usage text. */
export const USAGE =
  "usage: npm run slack-manifest -- --stack <name> [--config-file <path>] [--url <interactivity URL>]";

/** Shown in place of the URL when neither --url nor a deployed stack gives it. */
export const URL_PLACEHOLDER = "https://REPLACE-WITH-slackInteractivityUrl.invalid/";

/** Asks the Pulumi CLI for the deployed stack's output; undefined when that is not possible. */
function deployedUrl(stack: string): string | undefined {
  try {
    const out = execFileSync(
      "pulumi",
      ["stack", "output", "slackInteractivityUrl", "--stack", stack],
      {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 30_000,
      },
    );
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Runs the command; resolves with the exit code. `lookUp` finds a deployed stack's URL. */
export function main(
  argv: string[],
  io: { out: (s: string) => void; err: (s: string) => void } = {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
  },
  lookUp: (stack: string) => string | undefined = deployedUrl,
): number {
  let values: { stack?: string; "config-file"?: string; url?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stack: { type: "string", short: "s" },
        "config-file": { type: "string" },
        url: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err: unknown) {
    io.err(`error: ${errorMessage(err)}\n${USAGE}\n`);
    return 1;
  }
  if (values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  const configFile = values["config-file"] ? path.resolve(values["config-file"]) : undefined;
  const stack = values.stack ?? (configFile ? stackOfFile(configFile) : undefined);
  if (!stack || (!configFile && !availableStacks().includes(stack))) {
    io.err(
      `error: ${stack ? `no stack named "${stack}"` : "no stack selected"}; available stacks: ${availableStacks().join(", ")}\n${USAGE}\n`,
    );
    return 1;
  }
  if (values.url !== undefined && urlProblem(values.url)) {
    io.err(`error: --url ${values.url}: ${urlProblem(values.url)}\n`);
    return 1;
  }
  try {
    const file = configFile ?? path.join(ROOT, `Pulumi.${stack}.yaml`);
    const raw = readStackFileForCli(file).raw;
    const config = validateOffline(offlineSecrets(raw), stack);
    const secrets = (raw.secrets ?? {}) as Record<string, Record<string, unknown> | undefined>;
    const approvals = config.runtime.pipelines.some((p) => p.approvals);
    let url = values.url ?? (approvals ? lookUp(stack) : undefined);
    if (approvals && !url) {
      url = URL_PLACEHOLDER;
      io.err(
        `note: stack ${stack} is not deployed here (or the Pulumi CLI is missing): replace ${URL_PLACEHOLDER} with the slackInteractivityUrl output, or pass --url\n`,
      );
    }
    const manifest = slackManifest({
      runtime: { ...config.runtime, stack },
      interactivityUrl: url,
      rejectReasonModal: secrets.slackApp?.botToken !== undefined,
    });
    if (!manifest) {
      io.err(`error: stack ${stack} has no Slack channel and no approvals: no Slack app needed\n`);
      return 1;
    }
    io.out(`${JSON.stringify(manifest, null, 2)}\n`);
    return 0;
  } catch (err: unknown) {
    io.err(`error: ${errorMessage(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
