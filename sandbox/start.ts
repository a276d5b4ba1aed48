/**
 * `npm start`: the local sandbox's command line. Starts the sandbox for a stack (see
 * `sandbox.ts`; by default the demo stack, which has a channel of every type and an approval),
 * plays the stack's built-in scenario (or a given one), prints a summary, and keeps serving the
 * live page until Ctrl-C.
 *
 *   npm start -- [--stack demo|staging|prod] [--config-file Pulumi.x.yaml] [--scenario file.json]
 *                [--port 8787] [--no-serve] [--no-scenario] [--fault slack=500] [--verbose]
 *
 * Exit status: 0 when every scenario step ended as expected, or a fault the user set explains
 * why not (or none was played); 1 otherwise or on an error; 130 after Ctrl-C (SIGINT) and 143
 * after SIGTERM (128 + the signal's number, as a shell reports a process a signal ended), at any
 * point: what was done so far is printed first (the summary, with the steps played).
 * A replay asked for on the page prints the same summary when it ends.
 * The stack, the scenario, the faults and the port are checked before the program is evaluated.
 */
import { parseArgs } from "node:util";
import { FAULT_RECEIVERS, parseFault } from "./faults";
import { startSandbox, type Sandbox } from "./sandbox";
import { builtInScenario, hasBuiltInScenario, loadScenario, type Scenario } from "./scenario";
import { DEMO_STACK, resolveStack, sandboxStacks, type SandboxStack } from "./stacks";

// The sandbox's API, for those who import it from here (tests, the benchmark).
export { startSandbox } from "./sandbox";
export type { Sandbox, SandboxOptions, SandboxTimings } from "./sandbox";
export type { PostedEvent } from "./event-source";
export { parseFault } from "./faults";
export { formatSummary, type ChannelSummary } from "./summary";
export { smsFacts, type SandboxUser } from "./views";

/** What `--help` prints. */
export const USAGE = [
  "npm start -- [--stack <name>] [--config-file <path>] [--scenario file.json] [--port 8787]",
  "             [--no-serve] [--no-scenario] [--fault <receiver>=<fault>]... [--verbose]",
  "",
  `  --stack <name>        ${sandboxStacks().join(", ")} (default ${DEMO_STACK}: a channel of every type and an approval)`,
  "  --config-file <path>  evaluate this stack file (Pulumi.<stack>.yaml format) instead",
  "  --scenario <file>     play this scenario instead of the stack's built-in one (sandbox/scenarios)",
  "  --no-scenario         play nothing; just serve the page",
  "  --no-serve            play the scenario, print the summary and exit (0 = as expected)",
  "  --port <n>            the page and API on 127.0.0.1:<n> (0 = any free port)",
  "  --fault <r>=<f>       make a receiver fail: <f> is an HTTP status (500, 503x2 = the next two",
  "                        requests, 429), timeout (never answers), reset (drops the connection)",
  `                        or off; <r> is one of ${FAULT_RECEIVERS.join(", ")}`,
  "                        (sns: SMS and email; slack-api: bot mode; slack-response: approval replies)",
  "  --verbose             also print the Lambdas' own log lines",
].join("\n");

/** The command line, parsed. */
export interface CliArgs {
  /** Undefined: the demo stack (or, with `configFile`, the file's name). */
  stack?: string;
  /** A stack file to evaluate instead of `Pulumi.<stack>.yaml`. */
  configFile?: string;
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
  "config-file": { type: "string" },
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
  args.stack = text(values.stack);
  args.configFile = text(values["config-file"]);
  args.scenario = text(values.scenario);
  args.port = values.port === undefined ? args.port : Number(values.port);
  args.serve = !values["no-serve"];
  args.play = !values["no-scenario"];
  args.faults = (Array.isArray(values.fault) ? values.fault : []).map(String);
  args.verbose = Boolean(values.verbose);
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535)
    throw new Error("--port must be 0-65535");
  if (args.scenario && !args.play)
    throw new Error("--scenario and --no-scenario exclude each other");
  return args;
}

/** The message of a thrown value. */
function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error that ends `npm start` with a given exit status (130: interrupted). */
function exitError(message: string, exitCode: number): Error {
  return Object.assign(new Error(message), { exitCode });
}

/** Exit statuses after a signal: 128 + its number (SIGINT 2, SIGTERM 15). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** Whether an error is the one {@link interruption} ends the run with. */
function isInterruption(err: unknown): boolean {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return code === SIGNAL_EXIT.SIGINT || code === SIGNAL_EXIT.SIGTERM;
}

/** Resolves with the first Ctrl-C (SIGINT) or SIGTERM; `dispose` removes the listeners. */
function interruption(): { signal: Promise<keyof typeof SIGNAL_EXIT>; dispose(): void } {
  let resolve = (_: keyof typeof SIGNAL_EXIT): void => undefined;
  const signal = new Promise<keyof typeof SIGNAL_EXIT>((r) => (resolve = r));
  const on = (name: NodeJS.Signals) => resolve(name === "SIGTERM" ? "SIGTERM" : "SIGINT");
  process.once("SIGINT", on);
  process.once("SIGTERM", on);
  return {
    signal,
    dispose() {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
    },
  };
}

/**
 * What the command line asks to run, checked before anything starts: the stack, the scenario
 * (only when one is played) and the faults.
 */
function prepare(args: CliArgs): { stack: SandboxStack; scenario?: Scenario } {
  const stack = resolveStack({ stack: args.stack, configFile: args.configFile });
  for (const spec of args.faults) parseFault(spec);
  if (!args.play) return { stack };
  if (args.scenario) return { stack, scenario: loadScenario(args.scenario) };
  // A stack of the user's own (--config-file) has no built-in scenario: start it with none, so a
  // problem in the file itself is what they see first.
  if (args.configFile && !hasBuiltInScenario(stack.name)) return { stack };
  return { stack, scenario: builtInScenario(stack.name) };
}

/** Plays the scenario and prints the summary; resolves with whether it went as expected. */
async function play(sandbox: Sandbox, scenario: Scenario, log: (line: string) => void) {
  const report = await sandbox.runScenario(scenario);
  await sandbox.settle();
  log(await sandbox.summaryOf(report));
  return report.ok;
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
  const { stack, scenario } = prepare(args);
  const log = (line: string) => console.log(line);
  log(
    `deploy-notifier sandbox — stack ${stack.name} (no AWS account, no network: everything runs on 127.0.0.1)`,
  );
  // Ctrl-C at any point closes what started (a start-up cut short removes its files at exit).
  const interrupt = interruption();
  const interrupted = interrupt.signal.then((name) => {
    throw exitError(`interrupted (${name})`, SIGNAL_EXIT[name]);
  });
  try {
    const starting = startSandbox({
      stack: stack.name,
      configFile: stack.file,
      port: args.port,
      serve: args.serve,
      announce: true,
      faults: args.faults,
      log,
      verbose: args.verbose,
    });
    const sandbox = await Promise.race([starting, interrupted]).catch((err: unknown) => {
      if (isInterruption(err)) log("interrupted while starting: nothing was played");
      throw err;
    });
    try {
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
      if (!scenario)
        log("no scenario played: post events to the page or its API, or pass --scenario <file>");
      const ok = scenario ? await Promise.race([play(sandbox, scenario, log), interrupted]) : true;
      if (!args.serve) return ok ? 0 : 1;
      const pending = sandbox.pendingApprovals();
      log(
        `\nthe page is live at ${sandbox.url}${pending > 0 ? ` — ${pending === 1 ? "a request waits" : `${pending} requests wait`} for approval: approve it there` : ""}. Ctrl-C to stop.`,
      );
      return await interrupted;
    } catch (err: unknown) {
      // What was done so far, before the sandbox closes (its stand-ins hold the counts).
      if (isInterruption(err)) {
        log(await sandbox.summarySoFar().catch((e: unknown) => `(no summary: ${errorText(e)})`));
      }
      throw err;
    } finally {
      await sandbox.close();
    }
  } finally {
    interrupt.dispose();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`sandbox: ${errorText(err)}`);
      process.exit((err as { exitCode?: number }).exitCode ?? 1);
    },
  );
}
