/**
 * The one way the tests, `npm run preview` and `npm run bench` run project code in a fresh Node
 * process: `node -r ts-node/register/transpile-only <file> …` from the project root, as the npm
 * scripts do. A fresh process matters for Pulumi programs: its runtime (config, mocks, the
 * resource monitor) is process-global and cannot be reset, so every evaluation gets its own.
 *
 * Two layers:
 * - {@link runTsFile}: run a file with arguments, collect its output and exit code (scripts).
 * - {@link evaluateInFreshProcess} + {@link serveEvaluation}: a request/result exchange through
 *   JSON files in a work directory, for modules that evaluate something and hand back data
 *   (the program evaluator, the bench's baseline program).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** The project root (where `package.json`, `tsconfig.json` and `index.ts` are). */
export const ROOT = path.resolve(__dirname, "..");

/** What a child process printed and how it ended. */
export interface NodeRun {
  /** Exit code; 1 when the process was killed by a signal. */
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in arrival order (for error messages). */
  output: string;
}

/**
 * Runs a TypeScript (or JavaScript) file in a fresh Node process under ts-node (transpile only,
 * the project's tsconfig), with `cwd` at the project root and the parent's environment. Never
 * rejects: a failing child is reported by its exit code.
 */
export function runTsFile(file: string, args: string[] = []): Promise<NodeRun> {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", file, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
  });
  const run: NodeRun = { code: 1, stdout: "", stderr: "", output: "" };
  child.stdout.on("data", (d) => {
    run.stdout += d;
    run.output += d;
  });
  child.stderr.on("data", (d) => {
    run.stderr += d;
    run.output += d;
  });
  return new Promise((resolve) => {
    child.on("error", (err: Error) => {
      run.output += `${err.message}\n`;
      resolve(run);
    });
    child.on("close", (code) => {
      run.code = code ?? 1;
      resolve(run);
    });
  });
}

/** Options of {@link evaluateInFreshProcess}. */
export interface FreshEvaluation {
  /** The module whose {@link serveEvaluation} entry does the work (an absolute path). */
  file: string;
  /** Work directory: `request.json` and `result.json` are written there. Created if missing. */
  dir: string;
  /** What the error says failed ("program evaluation", "baseline program"). */
  label: string;
}

/**
 * Runs `file` in a fresh process with `request`, and resolves with the result its
 * {@link serveEvaluation} entry wrote. Rejects with the child's output when it exits without a
 * result (it threw, or crashed).
 */
export async function evaluateInFreshProcess<Result>(
  options: FreshEvaluation,
  request: unknown,
): Promise<Result> {
  fs.mkdirSync(options.dir, { recursive: true });
  const requestFile = path.join(options.dir, "request.json");
  const resultFile = path.join(options.dir, "result.json");
  // A work directory may be reused: never mistake an earlier run's result for this one's.
  fs.rmSync(resultFile, { force: true });
  fs.writeFileSync(requestFile, JSON.stringify(request));
  const run = await runTsFile(options.file, [requestFile]);
  if (run.code !== 0 || !fs.existsSync(resultFile)) {
    throw new Error(`${options.label} exited ${run.code} without a result:\n${run.output}`);
  }
  return JSON.parse(fs.readFileSync(resultFile, "utf8")) as Result;
}

/**
 * The child side of {@link evaluateInFreshProcess}. When `mod` is the process's main module,
 * reads the request file named by the first argument, runs `evaluate`, writes what it resolves
 * with to `result.json` next to the request, and exits 0; when it rejects, prints the stack and
 * exits 1. Does nothing when `mod` was merely imported.
 */
export function serveEvaluation<Request>(
  mod: NodeModule,
  evaluate: (request: Request) => Promise<unknown>,
): void {
  if (require.main !== mod) return;
  const requestFile = process.argv[2];
  const resultFile = path.join(path.dirname(requestFile), "result.json");
  Promise.resolve()
    .then(() => evaluate(JSON.parse(fs.readFileSync(requestFile, "utf8")) as Request))
    .then(
      (result) => {
        fs.writeFileSync(resultFile, JSON.stringify(result, null, 1));
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err instanceof Error ? err.stack : err);
        process.exit(1);
      },
    );
}
