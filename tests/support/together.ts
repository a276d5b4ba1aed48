/**
 * Starts TypeScript workers in fresh Node processes (as testing/fresh-process.ts `runTsFile` does:
 * `node -r ts-node/register/transpile-only <file> …` from the project root) and releases them at
 * one moment once every one of them said it is ready — instead of a fixed start time far enough
 * ahead for the slowest start on a busy machine (20–25 s of waiting when the machine is idle).
 *
 * The worker's side (start-signal.ts `awaitStart`): it loads and warms up, prints {@link READY}
 * on a line of its own on stdout, then reads the start time (epoch ms) from a line on stdin and
 * waits for it. Its result is its last stdout line ({@link lastLine}).
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { ROOT, type NodeRun } from "../../testing";
import { READY } from "./start-signal";

/** A started worker. */
export interface Worker {
  /** Resolves when the worker printed {@link READY}; rejects when it exits before. */
  ready: Promise<void>;
  /** Sends the start time (epoch ms); once (later calls do nothing, e.g. a cleanup's). */
  go(startAt: number): void;
  /** Resolves when the worker exited (never rejects: a failing worker has a non-zero code). */
  done: Promise<NodeRun>;
}

/** Starts `file` with `args` in a fresh Node process under ts-node. */
export function startWorker(file: string, args: string[]): Worker {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", file, ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
  });
  // A worker that exited already makes the start line an EPIPE: its exit code tells the test.
  child.stdin.on("error", () => undefined);
  const run: NodeRun = { code: 1, stdout: "", stderr: "", output: "" };
  let onReady: () => void = () => undefined;
  let onExit: (err: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onExit = reject;
  });
  ready.catch(() => undefined); // handled where awaited; a test that fails earlier never awaits it
  child.stdout.on("data", (d) => {
    run.stdout += d;
    run.output += d;
    if (run.stdout.split("\n").includes(READY)) onReady();
  });
  child.stderr.on("data", (d) => {
    run.stderr += d;
    run.output += d;
  });
  const done = new Promise<NodeRun>((resolve) => {
    child.on("error", (err: Error) => {
      run.output += `${err.message}\n`;
      onExit(new Error(`${file} did not start: ${run.output}`));
      resolve(run);
    });
    child.on("close", (code) => {
      run.code = code ?? 1;
      onExit(new Error(`${file} exited (${run.code}) before it was ready: ${run.output}`));
      resolve(run);
    });
  });
  return {
    ready,
    done,
    go: (startAt) => {
      if (!child.stdin.writableEnded) child.stdin.end(`${startAt}\n`);
    },
  };
}

/**
 * Starts `count` workers, waits until every one is ready, releases them all at `marginMs` from
 * then (time for the start line to reach each one) and resolves with their runs.
 */
export async function runTogether(
  count: number,
  file: string,
  args: string[],
  marginMs = 300,
): Promise<NodeRun[]> {
  const workers = Array.from({ length: count }, () => startWorker(file, args));
  try {
    await Promise.all(workers.map((w) => w.ready));
  } catch (err) {
    for (const w of workers) w.go(0); // let the others end too
    await Promise.all(workers.map((w) => w.done));
    throw err;
  }
  const startAt = Date.now() + marginMs;
  for (const w of workers) w.go(startAt);
  return Promise.all(workers.map((w) => w.done));
}

/** The last non-empty line of `text` (a worker's result, after its {@link READY} line). */
export function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}
