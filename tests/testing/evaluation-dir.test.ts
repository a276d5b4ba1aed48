/**
 * An evaluation whose caller gives no `outDir` (tests/support/program.ts `evaluate`, used by the
 * archive tests, infra, artifacts, cold-start and the policy pack) writes its result and archives
 * (about 0.8 MB) to a new `dn-<stack>-*` directory (testing/program.ts `evaluationDir`). Nothing
 * removed them: on the shared machine 423 of them were in /tmp after a day of test runs (the
 * new-user pass, 2026-12-01), where the sandbox leaves none. Within a jest run they now go to the
 * run's own directory, which tests/support/global-teardown.js removes at the end of the run.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { evaluationDir } from "../../testing";
import { PROGRAM_CACHE_ENV } from "../../testing/program-cache";

const globalTeardown = require("../support/global-teardown.js") as () => Promise<void>;

let runDir: string;
let saved: string | undefined;

beforeEach(() => {
  saved = process.env[PROGRAM_CACHE_ENV];
  // A run's directory, as tests/support/global-setup.js makes one.
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-notifier-programs-"));
  process.env[PROGRAM_CACHE_ENV] = runDir;
});
afterEach(() => {
  fs.rmSync(runDir, { recursive: true, force: true });
  if (saved === undefined) delete process.env[PROGRAM_CACHE_ENV];
  else process.env[PROGRAM_CACHE_ENV] = saved;
});

it("an evaluation's own directory is gone once the run's teardown has run", async () => {
  const dir = evaluationDir("prod");
  fs.writeFileSync(path.join(dir, "result.json"), "{}");
  expect(path.basename(dir)).toMatch(/^dn-prod-/);

  await globalTeardown();

  expect(fs.existsSync(dir)).toBe(false);
});

it("outside a run (no run directory: scripts, or the cache turned off) it is in the system's temporary directory", () => {
  delete process.env[PROGRAM_CACHE_ENV];
  const dir = evaluationDir("staging");
  try {
    expect(path.dirname(dir)).toBe(os.tmpdir());
    expect(path.basename(dir)).toMatch(/^dn-staging-/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
