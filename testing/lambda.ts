/**
 * Runs a serialized Lambda archive in a fresh Node process, as the nodejs22.x runtime would:
 * the archive's own files only, the AWS SDK v3 from a "runtime" directory (the runtime provides
 * it, so the archive does not ship it), and the environment the program declared.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

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
  error?: { name?: string; message: string };
  ms: number;
  cpuMs?: number;
}

/** A warm Lambda "container" running one archive. */
export interface LambdaProcess {
  /** Time from spawn to the archive being loaded (the init phase). */
  readonly initMs: number;
  /** Time `require(__index.js)` took inside the process. */
  readonly loadMs: number;
  invoke<T = unknown>(event: unknown, timeoutMs?: number): Promise<InvokeResult<T>>;
  /** Everything the function wrote to stdout/stderr (its logs). */
  logs(): string;
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
  timeoutMs?: number;
  onLog?: (line: string) => void;
}

/** Starts a Lambda process for an archive and waits for its init phase to finish. */
export async function startLambda(options: StartLambdaOptions): Promise<LambdaProcess> {
  if (options.dir.startsWith(ROOT + path.sep)) {
    // Node would find the project's node_modules by walking up: that would hide missing packages.
    throw new Error(`archive directory ${options.dir} must be outside the project`);
  }
  const started = performance.now();
  const env: Record<string, string> = {
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
  const child: ChildProcess = fork(
    path.join(__dirname, "lambda-host.js"),
    [options.dir, options.handler ?? "__index.handler"],
    {
      cwd: options.dir,
      env,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      execArgv: ["--no-deprecation", "--no-warnings"],
    },
  );
  let logs = "";
  const onData = (d: Buffer) => {
    const text = d.toString();
    logs += text;
    if (options.onLog) for (const line of text.split("\n")) if (line) options.onLog(line);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const pending = new Map<number, (r: InvokeResult) => void>();
  let nextId = 1;
  let exited = false;
  const ready = new Promise<{ loadMs: number }>((resolve, reject) => {
    child.on("message", (msg: any) => {
      if (msg.type === "ready") resolve({ loadMs: msg.loadMs });
      else if (msg.type === "init-error")
        reject(new Error(`${options.functionName}: init failed: ${msg.error}`));
      else if (msg.type === "result") {
        pending.get(msg.id)?.(msg);
        pending.delete(msg.id);
      }
    });
    child.on("exit", (code) => {
      exited = true;
      reject(new Error(`${options.functionName}: process exited (${code}) during init:\n${logs}`));
      for (const done of pending.values())
        done({ ok: false, error: { message: `process exited (${code})` }, ms: 0 });
      pending.clear();
    });
  });
  const { loadMs } = await ready;
  const initMs = performance.now() - started;
  return {
    initMs,
    loadMs,
    invoke<T>(event: unknown, timeoutMs = options.timeoutMs ?? 60000) {
      if (exited)
        return Promise.resolve({ ok: false, error: { message: "process has exited" }, ms: 0 });
      const id = nextId++;
      return new Promise<InvokeResult<T>>((resolve) => {
        pending.set(id, resolve as (r: InvokeResult) => void);
        child.send({ type: "invoke", id, event, timeoutMs });
      });
    },
    logs: () => logs,
    close: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once("exit", () => resolve());
        child.kill();
      }),
  };
}
