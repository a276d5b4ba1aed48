/**
 * Runs a serialized Lambda archive in fresh Node processes, as the nodejs22.x runtime would:
 * the archive's own files only, the AWS SDK v3 from a "runtime" directory (the runtime provides
 * it, so the archive does not ship it), and the environment the program declared.
 *
 * Each process is one execution environment, and like Lambda's it serves one invocation at a
 * time: an invocation that arrives while every environment is busy gets a new one (a cold start)
 * — "For each concurrent request, Lambda provisions a separate instance of your execution
 * environment" (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
 *
 * The function timeout ends the invocation: "If the Lambda function crashes or times out during
 * the Invoke phase, Lambda resets the execution environment", and the next invocation there
 * initializes the runtime again
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html, "Failures during
 * the invoke phase"). So at the deadline the environment's process is killed — whatever the
 * handler still had scheduled (a send after its claims' leases expired) never happens — the
 * invocation answers `Sandbox.Timedout`, and the next one starts a fresh process. Under a scaled
 * clock (`TIME_SCALE` in the function's environment) the reset may come later, by at most a real
 * time floor ({@link killAfterMs}); at scale 1 it comes at the timeout.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LOCAL_OVERRUN_FLOOR_MS, TIME_SCALE_ENV } from "../handlers/http";

const ROOT = path.resolve(__dirname, "..");

/** Exit code of a host that ended its own invocation at the deadline (lambda-host.js). */
const TIMED_OUT_EXIT = 124;

/**
 * A directory that holds only what the Lambda runtime provides (`@aws-sdk/*`), for NODE_PATH.
 * Anything else an archive requires must be inside the archive, or loading fails — as on AWS.
 */
export function runtimeModulesDir(): string {
  // One directory per checkout, so that two checkouts never share (or hide) each other's SDK.
  const tag = createHash("sha256").update(ROOT).digest("hex").slice(0, 12);
  const dir = path.join(os.tmpdir(), `deploy-notifier-lambda-runtime-${tag}`, "node_modules");
  const link = path.join(dir, "@aws-sdk");
  if (!fs.existsSync(link)) {
    fs.mkdirSync(dir, { recursive: true });
    try {
      fs.symlinkSync(path.join(ROOT, "node_modules", "@aws-sdk"), link, "dir");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  return dir;
}

/** One invocation's outcome. */
export interface InvokeResult<T = unknown> {
  ok: boolean;
  value?: T;
  /**
   * The function error. A timeout is `{ name: "Sandbox.Timedout", message: "RequestId: … Error:
   * Task timed out after N.NN seconds" }`, Lambda's error type and message for it (N in AWS
   * seconds: the runner's timeout times the environment's `TIME_SCALE`).
   */
  error?: { name?: string; message: string };
  /** Handler time in ms (the invoke phase; a cold start's init is not included). */
  ms: number;
  cpuMs?: number;
  /** True when the function timeout ended the invocation (its environment was reset). */
  timedOut?: boolean;
  /** True when this invocation was its environment's first (the init phase ran just before). */
  coldStart?: boolean;
}

/** A Lambda function: its execution environments, one invocation at a time in each. */
export interface LambdaProcess {
  /** Time from spawn to the archive being loaded (the first environment's init phase). */
  readonly initMs: number;
  /** Time `require(__index.js)` took inside the first environment's process. */
  readonly loadMs: number;
  /**
   * Invokes the function with `event`; `timeoutMs` (default: the `timeoutMs` option, else 60 s)
   * is the function timeout on this clock. Never rejects: a failed init, a crash or a timeout is
   * an `ok: false` result.
   */
  invoke<T = unknown>(event: unknown, timeoutMs?: number): Promise<InvokeResult<T>>;
  /** Everything the function wrote to stdout/stderr in any environment (its logs). */
  logs(): string;
  /** How many execution environments were started so far (1 + cold starts after the first). */
  environments(): number;
  /** Ends every environment; resolves once their output is read to its end (`logs()` is whole). */
  close(): Promise<void>;
}

/** Options for `startLambda`. */
export interface StartLambdaOptions {
  /** Directory with `__index.js` (and its node_modules). */
  dir: string;
  /** `__index.handler` by default. */
  handler?: string;
  functionName: string;
  /** The environment the program declared, plus endpoint variables. */
  env: Record<string, string>;
  /** The function timeout on this clock, ms (60 000 when absent). */
  timeoutMs?: number;
  onLog?: (line: string) => void;
}

/** One execution environment: a host process serving one invocation at a time. */
interface Environment {
  child: ChildProcess;
  loadMs: number;
  busy: boolean;
  /** No invocation has run here yet. */
  fresh: boolean;
  exited: boolean;
  /** Resolves once the process has exited and its stdout and stderr were read to their end. */
  closed: Promise<void>;
  /** The invocation in flight, if any. */
  current?: (r: InvokeResult) => void;
  /** Called once when the process exits (code, signal). */
  onExit?: (code: number | null) => void;
}

/** The process environment of an archive's host: the runtime's variables, then the declared ones. */
function hostEnv(options: StartLambdaOptions): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    NODE_PATH: runtimeModulesDir(),
    LAMBDA_TASK_ROOT: options.dir,
    AWS_LAMBDA_FUNCTION_NAME: options.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDLOCAL",
    AWS_SECRET_ACCESS_KEY: "local-secret",
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
    // The runtime being emulated is nodejs22.x, where the SDK has nothing to warn about.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    TZ: "UTC",
    ...options.env,
  };
}

/**
 * Forks one host process for the archive and waits for its init phase.
 * @throws when the archive fails to load or the process exits during init.
 */
function spawnEnvironment(
  options: StartLambdaOptions,
  onData: (d: Buffer) => void,
  logs: () => string,
): Promise<Environment> {
  const child: ChildProcess = fork(
    path.join(__dirname, "lambda-host.js"),
    [options.dir, options.handler ?? "__index.handler"],
    {
      cwd: options.dir,
      env: hostEnv(options),
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      execArgv: ["--no-deprecation", "--no-warnings"],
    },
  );
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return new Promise<Environment>((resolve, reject) => {
    let env: Environment | undefined;
    child.on("message", (msg: any) => {
      if (msg.type === "ready") {
        env = { child, loadMs: msg.loadMs, busy: false, fresh: true, exited: false, closed };
        resolve(env);
      } else if (msg.type === "init-error")
        reject(new Error(`${options.functionName}: init failed: ${msg.error}`));
      else if (msg.type === "result" && env?.current) {
        const done = env.current;
        env.current = undefined;
        done(msg);
      }
    });
    child.on("exit", (code) => {
      if (!env) {
        reject(
          new Error(`${options.functionName}: process exited (${code}) during init:\n${logs()}`),
        );
        return;
      }
      env.exited = true;
      env.onExit?.(code);
    });
  });
}

/**
 * Real milliseconds an invocation may run under a scaled clock (`TIME_SCALE` > 1) before its
 * environment is reset. The machine does not get faster with the scale (the reason for the SDK's
 * real-time floors, handlers/http.ts `roundTripTimeoutMs`): at the sandbox's 1/50 a 60 s timeout
 * is 1.2 s, and a fan-out receive that AWS finishes well inside 60 s takes 1.5–2.5 s here on a
 * loaded 2-core machine (measured: `--fault slack=timeout`, staging, load average 25), so ending
 * it at 1.2 s would turn the machine's load into timeouts AWS never has.
 */
export const SCALED_TIMEOUT_FLOOR_MS = LOCAL_OVERRUN_FLOOR_MS;

/**
 * When the environment of an invocation whose function timeout is `timeoutMs` (on this clock) is
 * reset: at the timeout itself on AWS's clock (scale 1, the default); under a scaled clock at
 * the timeout raised to at most {@link SCALED_TIMEOUT_FLOOR_MS} real ms, but never beyond the
 * unscaled timeout nor beyond 5 × `timeoutMs` — so always before the queue's visibility timeout
 * (at least 6 × the function timeout, infra/settings.ts, Lambda developer guide for SQS event
 * sources) hands the batch to another receive. `getRemainingTimeInMillis` still counts down
 * `timeoutMs`: the handler plans with AWS's ratios; only the machine's own slowness is tolerated.
 */
export function killAfterMs(timeoutMs: number, scale: number): number {
  if (!(scale > 1)) return timeoutMs;
  const floor = Math.min(timeoutMs * scale, SCALED_TIMEOUT_FLOOR_MS, 5 * timeoutMs);
  return Math.max(timeoutMs, floor);
}

/** Lambda's error for an invocation the timeout ended. */
function timedOutResult(requestId: string, timeoutMs: number, scale: number): InvokeResult {
  const seconds = ((timeoutMs * scale) / 1000).toFixed(2);
  return {
    ok: false,
    timedOut: true,
    error: {
      name: "Sandbox.Timedout",
      message: `RequestId: ${requestId} Error: Task timed out after ${seconds} seconds`,
    },
    ms: killAfterMs(timeoutMs, scale),
  };
}

/**
 * Runs one invocation in `env`, which must be idle. At the timeout ({@link killAfterMs}) the host
 * ends itself; the environment is also killed from here (SIGKILL: the host may be stuck in
 * synchronous code), and the invocation answers a timeout.
 */
function runIn(
  env: Environment,
  event: unknown,
  timeoutMs: number,
  scale: number,
  id: number,
): Promise<InvokeResult> {
  const coldStart = env.fresh;
  env.fresh = false;
  env.busy = true;
  const requestId = randomUUID();
  return new Promise<InvokeResult>((resolve) => {
    const finish = (r: InvokeResult) => {
      clearTimeout(timer);
      env.current = undefined;
      env.onExit = undefined;
      env.busy = false;
      resolve({ ...r, ...(coldStart && { coldStart }) });
    };
    const killMs = killAfterMs(timeoutMs, scale);
    const timer = setTimeout(() => {
      env.child.kill("SIGKILL");
      env.exited = true;
      finish(timedOutResult(requestId, timeoutMs, scale));
    }, killMs);
    env.current = finish;
    env.onExit = (code) =>
      finish(
        code === TIMED_OUT_EXIT
          ? timedOutResult(requestId, timeoutMs, scale)
          : { ok: false, error: { message: `process exited (${code})` }, ms: 0 },
      );
    env.child.send({ type: "invoke", id, requestId, event, timeoutMs, killMs });
  });
}

/**
 * Starts a Lambda function for an archive with one warm environment, and waits for that
 * environment's init phase to finish.
 * @throws when the archive is inside the project, or its init fails.
 */
export async function startLambda(options: StartLambdaOptions): Promise<LambdaProcess> {
  if (options.dir.startsWith(ROOT + path.sep)) {
    // Node would find the project's node_modules by walking up: that would hide missing packages.
    throw new Error(`archive directory ${options.dir} must be outside the project`);
  }
  let logs = "";
  const onData = (d: Buffer) => {
    const text = d.toString();
    logs += text;
    if (options.onLog) for (const line of text.split("\n")) if (line) options.onLog(line);
  };
  const spawn = () => spawnEnvironment(options, onData, () => logs);
  const scaleFactor = Number(options.env[TIME_SCALE_ENV]);
  const scale = Number.isFinite(scaleFactor) && scaleFactor > 0 ? scaleFactor : 1;
  const started = performance.now();
  const first = await spawn();
  const initMs = performance.now() - started;
  const pool: Environment[] = [first];
  const state = { closed: false, started: 1, nextId: 1 };

  /** An idle live environment, or a new one (a cold start). */
  async function acquire(): Promise<Environment> {
    for (let i = pool.length - 1; i >= 0; i--) if (pool[i].exited) pool.splice(i, 1);
    const idle = pool.find((e) => !e.busy);
    if (idle) {
      idle.busy = true;
      return idle;
    }
    state.started += 1;
    const env = await spawn();
    env.busy = true;
    pool.push(env);
    if (state.closed) env.child.kill();
    return env;
  }

  return {
    initMs,
    loadMs: first.loadMs,
    async invoke<T>(event: unknown, timeoutMs = options.timeoutMs ?? 60000) {
      if (state.closed) return { ok: false, error: { message: "process has exited" }, ms: 0 };
      let env: Environment;
      try {
        env = await acquire();
      } catch (err) {
        return {
          ok: false,
          error: { message: err instanceof Error ? err.message : String(err) },
          ms: 0,
        };
      }
      if (state.closed) return { ok: false, error: { message: "process has exited" }, ms: 0 };
      return (await runIn(env, event, timeoutMs, scale, state.nextId++)) as InvokeResult<T>;
    },
    logs: () => logs,
    environments: () => state.started,
    async close() {
      state.closed = true;
      // Until every process's output is read to its end: `logs()` then has all of it.
      await Promise.all(
        pool.map((env) => {
          if (!env.exited) env.child.kill();
          return env.closed;
        }),
      );
    },
  };
}
