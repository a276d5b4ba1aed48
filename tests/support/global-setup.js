/**
 * jest globalSetup: runs once in jest's own process before the workers start, so what it puts in
 * process.env reaches every worker and every process a test starts.
 *
 * NODE_OPTIONS gains `--require tests/support/ts-node-cache.js`: the processes the tests start
 * under ts-node (`npm start`, the scripts, each program evaluation) reuse the transpiled output of
 * unchanged files instead of transpiling ~200 files each time. Outside the tests nothing changes.
 * Entries older than {@link KEEP_DAYS} days are removed here (an edited file leaves its old
 * entry behind).
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { cacheDir } = require("./ts-node-cache");

const KEEP_DAYS = 3;

module.exports = async function globalSetup() {
  const preload = path.join(__dirname, "ts-node-cache.js");
  const current = process.env.NODE_OPTIONS ?? "";
  if (!current.includes(preload)) {
    process.env.NODE_OPTIONS = `${current} --require ${JSON.stringify(preload)}`.trim();
  }
  prune(cacheDir(), Date.now() - KEEP_DAYS * 86_400_000);
};

/** Removes the cache's entries last written before `before` (epoch ms). */
function prune(dir, before) {
  let names = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return; // no cache yet
  }
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      if (fs.statSync(file).mtimeMs < before) fs.unlinkSync(file);
    } catch {
      // removed by a parallel run
    }
  }
}
