/**
 * `npm start`: the local sandbox's command line. Starts the sandbox for a stack (see
 * `sandbox.ts`), plays the stack's built-in scenario (or a given one), prints a summary, and
 * keeps serving the live page until Ctrl-C.
 *
 *   npm start -- [--stack staging|prod] [--scenario file.json] [--port 8787] [--no-serve]
 *                [--fault slack=500] [--fault pagerduty=timeout] [--no-scenario] [--verbose]
 *
 * Exit status: 0 when every scenario step ended as expected (or none was played), 1 otherwise
 * or on an error.
 */
import { parseArgs } from "node:util";
import { startSandbox } from "./sandbox";
import { builtInScenario, loadScenario } from "./scenario";
import { formatSummary } from "./summary";

// The sandbox's API, for those who import it from here (tests, the benchmark).
export { startSandbox } from "./sandbox";
export type { Sandbox, SandboxOptions, SandboxTimings } from "./sandbox";
export type { PostedEvent } from "./event-source";
export { parseFault } from "./faults";
export { formatSummary, type ChannelSummary } from "./summary";
export { smsFacts, type SandboxUser } from "./views";

/** What `--help` prints. */
export const USAGE =
  "npm start -- [--stack staging|prod] [--scenario file.json] [--port 8787] [--no-serve] [--no-scenario] [--fault receiver=500|timeout|reset[xN]] [--verbose]";

/** The command line, parsed. */
export interface CliArgs {
  stack: string;
  /** A scenario file to play instead of the stack's built-in one. */
  scenario?: string;
  /** 0-65535 (0 = any free port). */
  port: number;
  serve: boolean;
  /** Play a scenario (false with `--no-scenario`). */
  play: boolean;
  /** `--fault` specs, in order (parsed by the sandbox once it runs). */
  faults: string[];
  verbose: boolean;
  /** `--help` / `-h` came before anything wrong: print {@link USAGE} and exit 0. */
  help: boolean;
}

const OPTIONS = {
  stack: { type: "string" },
  scenario: { type: "string" },
  port: { type: "string" },
  "no-serve": { type: "boolean" },
  "no-scenario": { type: "boolean" },
  fault: { type: "string", multiple: true },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Parses the arguments after `npm start --`. Arguments are read in order: `--help` wins over
 * anything wrong after it, but not over anything wrong before it.
 * @throws `unknown argument <arg>` for an unknown option or a positional argument,
 *   `<option> needs a value` for a value option at the end, `--port must be 0-65535`.
 */
export function parseCliArgs(argv: string[]): CliArgs {
  // Not strict: the errors below are the CLI's own, in argument order.
  const { values, tokens } = parseArgs({
    args: argv,
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const args: CliArgs = {
    stack: "staging",
    port: 8787,
    serve: true,
    play: true,
    faults: [],
    verbose: false,
    help: false,
  };
  for (const token of tokens) {
    if (token.kind === "positional") throw new Error(`unknown argument ${token.value}`);
    if (token.kind === "option-terminator") throw new Error("unknown argument --");
    if (!Object.hasOwn(OPTIONS, token.name)) throw new Error(`unknown argument ${token.rawName}`);
    if (token.name === "help") return { ...args, help: true };
    const type = OPTIONS[token.name as keyof typeof OPTIONS].type;
    if (type === "string" && token.value === undefined)
      throw new Error(`${token.rawName} needs a value`);
  }
  const text = (value: unknown): string | undefined =>
    typeof value === "string" ? value : undefined;
  args.stack = text(values.stack) ?? args.stack;
  args.scenario = text(values.scenario);
  args.port = values.port === undefined ? args.port : Number(values.port);
  args.serve = !values["no-serve"];
  args.play = !values["no-scenario"];
  args.faults = (Array.isArray(values.fault) ? values.fault : []).map(String);
  args.verbose = Boolean(values.verbose);
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535)
    throw new Error("--port must be 0-65535");
  return args;
}

/** Runs `npm start` with these arguments; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  // The archives model nodejs22.x; on an older local Node the SDK would warn on every client.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const args = parseCliArgs(argv);
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const scenario = args.scenario ? loadScenario(args.scenario) : builtInScenario(args.stack);
  const log = (line: string) => console.log(line);
  log(
    `deploy-notifier sandbox — stack ${args.stack} (no AWS account, no network: everything runs on 127.0.0.1)`,
  );
  const sandbox = await startSandbox({
    stack: args.stack,
    port: args.port,
    serve: args.serve,
    faults: args.faults,
    log,
    verbose: args.verbose,
  });
  const q = sandbox.core.info().queue as {
    declaredVisibilitySeconds: number;
    visibilityTimeoutMs: number;
    maxReceiveCount: number;
    batchSize: number;
  };
  log(
    `ready in ${(sandbox.timings.readyMs / 1000).toFixed(1)} s${sandbox.url ? ` — open ${sandbox.url}` : ""}`,
  );
  log(
    `queue: visibility timeout ${q.declaredVisibilitySeconds} s declared, scaled to ${q.visibilityTimeoutMs} ms here; redrive after ${q.maxReceiveCount} receives; batch ${q.batchSize}`,
  );
  let ok = true;
  if (args.play) {
    const report = await sandbox.runScenario(scenario);
    await sandbox.settle();
    const retried = sandbox.queue.messages.reduce((n, m) => n + Math.max(0, m.receiveCount - 1), 0);
    log(formatSummary(await sandbox.summary(), report, { retried, dlq: sandbox.dlqCount() }));
    ok = report.ok;
  }
  if (!args.serve) {
    await sandbox.close();
    return ok ? 0 : 1;
  }
  log(`\nthe page is live at ${sandbox.url} — approve the pending request there. Ctrl-C to stop.`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await sandbox.close();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`sandbox: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
