/**
 * A disk cache for ts-node's transpile-only output, for the processes the tests start (`npm start`,
 * the scripts, each program evaluation in testing/program.ts): without it every such process
 * transpiles the same ~200 files again, which took more than half of its CPU time
 * (`node --cpu-prof`: 8.6 s of 14.6 s in typescript.js to load sandbox/start.ts).
 *
 * Loaded with `node --require` through NODE_OPTIONS (tests/support/global-setup.js sets it for
 * the test run only; `npm start` and `npm run bench` outside jest never load it). It loads
 * nothing until ts-node registers: it watches `process[Symbol.for("ts-node.register.instance")]`,
 * which ts-node's `register()` sets to its service (ts-node/dist/index.js), and wraps that
 * service's `compile(code, fileName, lineOffset)`, the one function ts-node's require hook calls
 * for every .ts file. Only transpile-only services without custom transformers are cached (a
 * type-checking service must report type errors every time).
 *
 * The cache key is everything the output depends on: ts-node's and TypeScript's versions, the
 * service's options and compiler options, the file name, the line offset and the source text. A
 * changed file is a new key, so the output is always what ts-node would produce for that text.
 * A file that fails to transpile throws as before and is not stored. Entries are written to a
 * temporary name and renamed, so parallel processes never read half a file.
 *
 * Stack traces: ts-node maps them back to the .ts lines through its own output cache, which a
 * cache hit skips; the hits are handed to the same source-map-support instance instead.
 *
 * Set DEPLOY_NOTIFIER_TS_CACHE=off to run without it.
 */
"use strict";

const INSTANCE = Symbol.for("ts-node.register.instance");
/** Bump when the stored format changes. */
const FORMAT = "1";

/** Where the entries are: `<os.tmpdir()>/deploy-notifier-ts-node-cache/<sha256>.js`. */
function cacheDir() {
  return require("node:path").join(require("node:os").tmpdir(), "deploy-notifier-ts-node-cache");
}
module.exports = { cacheDir };

if (process.env.DEPLOY_NOTIFIER_TS_CACHE !== "off" && !(INSTANCE in process)) {
  let current;
  Object.defineProperty(process, INSTANCE, {
    configurable: true,
    enumerable: false,
    get: () => current,
    set: (service) => {
      current = service;
      try {
        withCache(service);
      } catch {
        // Never in the way: an unexpected ts-node shape runs uncached.
      }
    },
  });
}

/** Wraps `service.compile` with the disk cache when the service is transpile-only. */
function withCache(service) {
  if (!service || typeof service.compile !== "function" || service.__diskCache) return;
  const options = service.options || {};
  if (!options.transpileOnly || options.transformers || options.transpiler || options.swc) return;
  const crypto = require("node:crypto");
  const fs = require("node:fs");
  const path = require("node:path");
  const dir = cacheDir();
  fs.mkdirSync(dir, { recursive: true });
  const base = JSON.stringify([
    FORMAT,
    require("ts-node/package.json").version,
    service.ts && service.ts.version,
    service.config && service.config.options,
    options,
  ]);
  const hits = new Map();
  let mapped = false;
  const compile = service.compile;
  service.__diskCache = dir;
  service.compile = function cachedCompile(code, fileName, lineOffset = 0) {
    const key = crypto
      .createHash("sha256")
      .update(base)
      .update("\0")
      .update(String(fileName))
      .update("\0")
      .update(String(lineOffset))
      .update("\0")
      .update(code)
      .digest("hex");
    const file = path.join(dir, `${key}.js`);
    let output;
    try {
      output = fs.readFileSync(file, "utf8");
    } catch {
      output = undefined;
    }
    if (output !== undefined) {
      hits.set(String(fileName).replace(/\\/g, "/"), output);
      if (!mapped) mapped = mapHits(hits);
      return output;
    }
    output = compile.call(this, code, fileName, lineOffset);
    try {
      const temp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(temp, output);
      fs.renameSync(temp, file);
    } catch {
      // A full or read-only disk: the next process transpiles again.
    }
    return output;
  };
}

/** Lets source-map-support (ts-node's copy) find the source maps of cached files. */
function mapHits(hits) {
  try {
    const support = require(
      require.resolve("@cspotcode/source-map-support", {
        paths: [require.resolve("ts-node/package.json")],
      }),
    );
    support.install({
      environment: "node",
      retrieveFile: (pathOrUrl) => hits.get(String(pathOrUrl).replace(/\\/g, "/")) || null,
    });
  } catch {
    // Unmapped stack traces are still stack traces.
  }
  return true;
}
