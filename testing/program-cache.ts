/**
 * A cache of program evaluations for one test run: a second evaluation of the same program with
 * the same options gets a copy of the first one's result and archives instead of evaluating again
 * (about 10 s of CPU each on the 2-core CI machine).
 *
 * On only while {@link PROGRAM_CACHE_ENV} names a directory: tests/support/global-setup.js creates
 * one for each jest run and tests/support/global-teardown.js removes it, so the processes of one
 * run (jest's workers, the `npm start` and script processes the tests start) share it, and
 * `npm start`, `npm run preview` and `npm run bench` outside jest never use it.
 *
 * The key is everything an evaluation's output can depend on: the text of every project file
 * the program and the evaluator load (see {@link SOURCES}), package.json and package-lock.json
 * (the archives copy node_modules packages), the Node version, the `PULUMI_*` environment, and
 * what the evaluation reads from its options: the stack's name and its Pulumi config (the stack
 * file's or the options' config, with the secrets). An entry holds the result
 * as the evaluation wrote it and its work directory, archives included; a hit copies both to the
 * caller's `outDir` and rewrites the entry's directory in the result to it. The archives were
 * serialized by a real evaluation in a fresh process and still run in fresh processes: only
 * identical evaluations are shared. A failed evaluation (`ok: false`) is an entry too; one that
 * crashed is not.
 *
 * Entries are written under a temporary name and renamed into place, so concurrent processes
 * never read half an entry. A process that misses while another evaluates the same key (the
 * `<key>.lock` file names its pid) waits for that entry rather than evaluate the same thing on
 * the same cores; if two still evaluate (a dead holder's lock taken over twice), the second
 * rename fails and leaves the first entry in place.
 *
 * Measured (2026-12-01, load 7–9 from other work): `npx jest tests/infra.test.ts
 * tests/artifacts.test.ts tests/cold-start.test.ts tests/policy/policy-pack.test.ts
 * tests/preview.test.ts` made 16 evaluations (149 s of their CPU; jest's user+sys 194 s) with
 * `DEPLOY_NOTIFIER_PROGRAM_CACHE=off`, 8 (65 s; jest 108 s) with it. A whole run makes about 45,
 * 9 of them repeats (the plain prod and staging stacks, also as preview passes them; the
 * 2-pipeline prod).
 *
 * The sandbox and archive-world evaluations name their receivers' port (the PagerDuty channel's
 * `endpoint`, which the fan-out archive captures): their receivers listen on one of the run's
 * ports (testing/world.ts `worldReceiverPorts`), so a world with the config and port of one
 * before it is the same evaluation; worlds open at the same time take different ports, each its
 * own. Measured (2026-12-02, load 8–15 from other work), two pairs of runs of `npx jest
 * tests/sandbox tests/approval/approval-archive.test.ts tests/approval/cross-account-archive.test.ts
 * tests/reminders/archive.test.ts tests/fanout/heartbeat.test.ts
 * tests/testing/iam-enforcement.test.ts`, each first with every world on a random port (the
 * code before, then `DEPLOY_NOTIFIER_RECEIVER_PORTS=off`) and then on the run's ports: 16 and 15
 * evaluations, then 11 and 12; the plain prod stack's 8 worlds evaluated 7–8 times, then 4–5
 * (its worlds open at once: tests/sandbox/api.test.ts keeps 3). jest's user+sys 375 and 356 s,
 * then 353 and 313 s (wall 570 and 470 s, then 527 and 387 s).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "./fresh-process";

/** The environment variable naming the cache directory (unset: no cache). */
export const PROGRAM_CACHE_ENV = "DEPLOY_NOTIFIER_PROGRAM_CACHE";

/** Bump when the stored format changes. */
const FORMAT = "1";

/**
 * Project files and directories whose text can change an evaluation's output: the program and
 * what it imports (handlers/, infra/, config/), the evaluator (testing/), the stack files and the
 * dependency manifests. Directories are read recursively (`.ts`, `.js`, `.json` files).
 */
const SOURCES = [
  "index.ts",
  "handlers",
  "infra",
  "config",
  "policy",
  "testing",
  "Pulumi.yaml",
  "Pulumi.prod.yaml",
  "Pulumi.staging.yaml",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
];

/** The files of `rel` (a file or a directory, relative to the project root), sorted. */
function filesOf(rel: string): string[] {
  const full = path.join(ROOT, rel);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(full);
  } catch {
    return []; // an optional file (a stack file the project does not have)
  }
  if (!stat.isDirectory()) return [rel];
  return fs
    .readdirSync(full, { withFileTypes: true })
    .filter((e) => e.name !== "node_modules")
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) return filesOf(child);
      return /\.(ts|js|json)$/.test(e.name) ? [child] : [];
    });
}

/**
 * What an evaluation reads besides the project's files: the stack's name and the Pulumi config
 * it runs with (`<project>:<key>` and provider keys → the string value Pulumi holds, the secrets
 * and placeholders included), as program.ts `evaluationInput` makes it from the options.
 */
export interface EvaluationInput {
  stack: string;
  config: Record<string, string>;
}

/**
 * The cache key of an evaluation of `input`: a SHA-256 over {@link SOURCES}' text, the Node
 * version, the `PULUMI_*` environment, the stack's name and its config (in key order). Options
 * that come to the same config (the stack file by name, or its content as `config`) have one key.
 */
export function evaluationKey(input: EvaluationInput): string {
  const hash = createHash("sha256");
  const config = Object.entries(input.config).sort(([a], [b]) => (a < b ? -1 : 1));
  hash.update(JSON.stringify([FORMAT, process.version, input.stack, config]));
  const pulumiEnv = Object.entries(process.env)
    .filter(([k]) => k.startsWith("PULUMI_"))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  hash.update(`\0${JSON.stringify(pulumiEnv)}`);
  for (const file of SOURCES.flatMap(filesOf)) {
    hash.update(`\0${file}\0`);
    hash.update(fs.readFileSync(path.join(ROOT, file)));
  }
  return hash.digest("hex");
}

/** Where the entries are (an entry: `<dir>/<key>/result.json` and its archive directories). */
function cacheDir(): string | undefined {
  const dir = process.env[PROGRAM_CACHE_ENV];
  return dir ? path.resolve(dir) : undefined;
}

/** How often a process waiting for another's identical evaluation looks for its entry. */
const POLL_MS = 250;
/**
 * How long it waits at most before it evaluates itself (an evaluation takes 10–60 s on the busy
 * 2-core machine; a lock whose pid was reused by another process would otherwise hold it forever).
 */
const MAX_WAIT_MS = 300_000;

/**
 * Runs `evaluate` (which writes its result and archives under `outDir`), or copies an identical
 * earlier evaluation's to `outDir` when the cache is on and has one. Resolves with the result,
 * its paths under `outDir` either way. While another process evaluates the same key (its
 * `<key>.lock` file holds its pid), waits for its entry instead of evaluating the same thing on
 * the same cores; evaluates itself when that process ends without one (it crashed).
 */
export async function withEvaluationCache<Result>(
  input: EvaluationInput,
  outDir: string,
  evaluate: () => Promise<Result>,
): Promise<Result> {
  const dir = cacheDir();
  if (!dir) return evaluate();
  const entry = path.join(dir, evaluationKey(input));
  outDir = path.resolve(outDir);
  let locked = false;
  for (const waitUntil = Date.now() + MAX_WAIT_MS; !locked && Date.now() < waitUntil;) {
    const cached = readEntry<Result>(entry, outDir);
    if (cached !== undefined) return cached;
    locked = takeLock(`${entry}.lock`);
    if (!locked) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    const result = await evaluate();
    storeEntry(entry, outDir);
    return result;
  } finally {
    if (locked) fs.rmSync(`${entry}.lock`, { force: true });
  }
}

/**
 * Creates `lock` with this process's pid; false while a live process holds it. A lock whose
 * process is gone is taken over.
 */
function takeLock(lock: string): boolean {
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: "wx" });
    return true;
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  let holder: number;
  let since: number;
  try {
    holder = Number(fs.readFileSync(lock, "utf8"));
    since = fs.statSync(lock).mtimeMs;
  } catch {
    return false; // released meanwhile: the next attempt reads the entry or takes the lock
  }
  // This process (another of its evaluations), a live one, or one still writing its pid.
  if (holder === process.pid || (holder > 0 ? isAlive(holder) : Date.now() - since < 10_000))
    return false;
  fs.rmSync(lock, { force: true }); // its holder died: the next attempt creates it anew
  return false;
}

/** Whether process `pid` is running (signal 0 checks without sending anything). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The entry's result copied to `outDir` (with its paths), or undefined when there is none. */
function readEntry<Result>(entry: string, outDir: string): Result | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(entry, "result.json"), "utf8");
  } catch {
    return undefined;
  }
  const stored = JSON.parse(fs.readFileSync(path.join(entry, "dir.json"), "utf8")) as string;
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of fs.readdirSync(entry)) {
    if (name === "dir.json" || name === "request.json") continue;
    fs.cpSync(path.join(entry, name), path.join(outDir, name), { recursive: true });
  }
  const result = JSON.parse(text, (_key, value: unknown) =>
    typeof value === "string" && (value === stored || value.startsWith(`${stored}${path.sep}`))
      ? outDir + value.slice(stored.length)
      : value,
  ) as Result;
  fs.writeFileSync(path.join(outDir, "result.json"), JSON.stringify(result, null, 1));
  return result;
}

/** Copies the evaluation in `outDir` into the cache as `entry` (atomically; first one wins). */
function storeEntry(entry: string, outDir: string): void {
  const temp = `${entry}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.cpSync(outDir, temp, { recursive: true });
    fs.writeFileSync(path.join(temp, "dir.json"), JSON.stringify(outDir));
    fs.renameSync(temp, entry);
  } catch {
    // Another process stored the same key first, or the disk is full: the next one evaluates.
    fs.rmSync(temp, { recursive: true, force: true });
  }
}
