/**
 * jest globalSetup: runs once in jest's own process before the workers start, so what it puts in
 * process.env reaches every worker and every process a test starts.
 *
 * NODE_OPTIONS gains `--require tests/support/ts-node-cache.js`: the processes the tests start
 * under ts-node (`npm start`, the scripts, each program evaluation) reuse the transpiled output of
 * unchanged files instead of transpiling ~200 files each time. Outside the tests nothing changes.
 * Entries older than {@link KEEP_DAYS} days are removed here (an edited file leaves its old
 * entry behind).
 *
 * DEPLOY_NOTIFIER_PROGRAM_CACHE names a new empty directory: the run's cache of program
 * evaluations (testing/program-cache.ts), shared by its workers and the processes they start,
 * removed by tests/support/global-teardown.js. One per run, so no run reuses another's.
 *
 * DEPLOY_NOTIFIER_RECEIVER_PORTS lists {@link RECEIVER_PORTS} ports that were free when the run
 * started: the receivers of each sandbox and archive world listen on the first one free then
 * (testing/world.ts `worldReceiverPorts`), so that worlds of the same config, one after the
 * other, name the same receivers' URLs and are one program evaluation for the cache.
 */
"use strict";

const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");
const os = require("node:os");
const { cacheDir } = require("./ts-node-cache");

/** testing/program-cache.ts PROGRAM_CACHE_ENV (this file runs before any TypeScript loads). */
const PROGRAM_CACHE_ENV = "DEPLOY_NOTIFIER_PROGRAM_CACHE";
const PROGRAM_CACHE_PREFIX = "deploy-notifier-programs-";

const KEEP_DAYS = 3;

/** testing/world.ts RECEIVER_PORTS_ENV. */
const RECEIVER_PORTS_ENV = "DEPLOY_NOTIFIER_RECEIVER_PORTS";
/**
 * How many: tests/sandbox/api.test.ts keeps 3 sandboxes open at once and the other 2 workers
 * one world each; a world that finds every one taken listens on a random port (its own
 * evaluation, as before).
 */
const RECEIVER_PORTS = 6;

module.exports = async function globalSetup() {
  const preload = path.join(__dirname, "ts-node-cache.js");
  const current = process.env.NODE_OPTIONS ?? "";
  if (!current.includes(preload)) {
    process.env.NODE_OPTIONS = `${current} --require ${JSON.stringify(preload)}`.trim();
  }
  prune(cacheDir(), Date.now() - KEEP_DAYS * 86_400_000);
  // A run that was killed left its directory behind: removed once it is a day old.
  for (const name of safeReaddir(os.tmpdir())) {
    if (!name.startsWith(PROGRAM_CACHE_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      if (fs.statSync(dir).mtimeMs < Date.now() - 86_400_000)
        fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // removed by its own run meanwhile
    }
  }
  // `DEPLOY_NOTIFIER_PROGRAM_CACHE=off npx jest …` runs every evaluation (to compare, or to rule
  // the cache out).
  if (process.env[PROGRAM_CACHE_ENV] === "off") delete process.env[PROGRAM_CACHE_ENV];
  else
    process.env[PROGRAM_CACHE_ENV] = fs.mkdtempSync(path.join(os.tmpdir(), PROGRAM_CACHE_PREFIX));
  // `DEPLOY_NOTIFIER_RECEIVER_PORTS=off npx jest …`: every world on a random port, as outside a
  // run (each world its own evaluation).
  if (process.env[RECEIVER_PORTS_ENV] === "off") delete process.env[RECEIVER_PORTS_ENV];
  else process.env[RECEIVER_PORTS_ENV] = (await freePorts(RECEIVER_PORTS)).join(",");
};

/** `count` different ports on 127.0.0.1 that are free now (each listened on once, then closed). */
async function freePorts(count) {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve, reject) => {
          const server = net.createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve()))));
  return ports;
}

/** The names in `dir`, none when it cannot be read. */
function safeReaddir(dir) {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Removes the cache's entries last written before `before` (epoch ms). */
function prune(dir, before) {
  for (const name of safeReaddir(dir)) {
    const file = path.join(dir, name);
    try {
      if (fs.statSync(file).mtimeMs < before) fs.unlinkSync(file);
    } catch {
      // removed by a parallel run
    }
  }
}
