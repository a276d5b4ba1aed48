/**
 * jest globalTeardown: removes the run's cache of program evaluations that
 * tests/support/global-setup.js created (testing/program-cache.ts).
 */
"use strict";

const fs = require("node:fs");

module.exports = async function globalTeardown() {
  const dir = process.env.DEPLOY_NOTIFIER_PROGRAM_CACHE;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
};
