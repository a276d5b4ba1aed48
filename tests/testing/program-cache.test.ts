/**
 * testing/program-cache.ts, the test run's cache of program evaluations: a key that changes with
 * anything the output depends on, a hit that hands the caller its own copy of the archives with
 * its own paths, nothing cached from an evaluation that crashed, and nothing at all while the
 * cache directory is not set. The evaluations here are stand-ins that write what runProgram's
 * child writes (result.json and an archive directory), so that the cache's own behaviour is what
 * is checked.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { evaluationInput, readStackConfig, ROOT } from "../../testing";
import { evaluationKey, PROGRAM_CACHE_ENV, withEvaluationCache } from "../../testing/program-cache";

let tmp: string;
let saved: string | undefined;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "program-cache-test-"));
  saved = process.env[PROGRAM_CACHE_ENV];
  process.env[PROGRAM_CACHE_ENV] = path.join(tmp, "cache");
  fs.mkdirSync(path.join(tmp, "cache"));
});
afterEach(() => {
  if (saved === undefined) delete process.env[PROGRAM_CACHE_ENV];
  else process.env[PROGRAM_CACHE_ENV] = saved;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** What runProgram's child leaves in `outDir`: one archive and result.json naming it. */
function fakeEvaluation(outDir: string, code: string) {
  const calls: string[] = [];
  const evaluate = async () => {
    calls.push(outDir);
    const dir = path.join(outDir, "fanout");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "__index.js"), code);
    const result = {
      ok: true,
      archives: [{ name: "fanout", dir, handler: "__index.handler" }],
      // A string that only starts like the directory is not a path inside it.
      note: `${outDir}-not-a-child`,
    };
    fs.writeFileSync(path.join(outDir, "result.json"), JSON.stringify(result));
    return result;
  };
  return { evaluate, calls };
}

describe("evaluationKey", () => {
  test("one key for the options that come to the same config; another for any other config", () => {
    // Prepare
    const file = path.join(tmp, "Pulumi.mine.yaml");
    fs.copyFileSync(path.join(ROOT, "Pulumi.staging.yaml"), file);
    const secrets = { "slack-staging": { webhookUrl: "http://127.0.0.1:1/slack" } };

    // Act
    const byName = evaluationKey(evaluationInput({ stack: "staging" }));
    const byContent = evaluationKey(
      evaluationInput({ stack: "staging", config: readStackConfig("staging").raw }),
    );
    const byFile = evaluationKey(evaluationInput({ stack: "staging", stackFile: file }));
    const otherSecret = evaluationKey(evaluationInput({ stack: "staging", secrets }));
    const otherStack = evaluationKey(evaluationInput({ stack: "mine", stackFile: file }));
    const text = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, text.replace("auditRetentionDays: 30", "auditRetentionDays: 31"));
    const otherText = evaluationKey(evaluationInput({ stack: "staging", stackFile: file }));

    // Assess
    expect(text).toContain("auditRetentionDays: 30");
    expect([byContent, byFile]).toEqual([byName, byName]);
    expect(new Set([byName, otherSecret, otherStack, otherText]).size).toBe(4);
  });
});

describe("withEvaluationCache", () => {
  const options = { stack: "prod", config: { "deploy-notifier:pipelines": "[]" } };

  test("a second identical evaluation gets its own copy of the first one's archives and paths", async () => {
    // Prepare
    const one = path.join(tmp, "one");
    const two = path.join(tmp, "two");
    const first = fakeEvaluation(one, "exports.handler = 1;");
    const second = fakeEvaluation(two, "never written");

    // Act
    const a = await withEvaluationCache(options, one, first.evaluate);
    const b = await withEvaluationCache(options, two, second.evaluate);

    // Assess: the second did not evaluate; its archive is a copy in its own directory.
    expect(first.calls).toEqual([one]);
    expect(second.calls).toEqual([]);
    expect(b).toEqual({
      ...a,
      archives: [{ ...a.archives[0], dir: path.join(two, "fanout") }],
      note: `${one}-not-a-child`,
    });
    expect(fs.readFileSync(path.join(two, "fanout", "__index.js"), "utf8")).toBe(
      "exports.handler = 1;",
    );
    expect(JSON.parse(fs.readFileSync(path.join(two, "result.json"), "utf8"))).toEqual(b);
    // The copy is the caller's: removing it leaves the entry for the next one.
    fs.rmSync(two, { recursive: true });
    const three = path.join(tmp, "three");
    const c = await withEvaluationCache(options, three, fakeEvaluation(three, "x").evaluate);
    expect(fs.readFileSync(path.join(c.archives[0].dir, "__index.js"), "utf8")).toBe(
      "exports.handler = 1;",
    );
  });

  test("two identical evaluations at once: the second waits for the first's entry", async () => {
    // Prepare
    const one = path.join(tmp, "one");
    const two = path.join(tmp, "two");
    const first = fakeEvaluation(one, "exports.handler = 1;");
    const second = fakeEvaluation(two, "never written");

    // Act
    const [, b] = await Promise.all([
      withEvaluationCache(options, one, first.evaluate),
      withEvaluationCache(options, two, second.evaluate),
    ]);

    // Assess
    expect([first.calls, second.calls]).toEqual([[one], []]);
    expect(b.archives[0].dir).toBe(path.join(two, "fanout"));
    expect(fs.readdirSync(path.join(tmp, "cache")).filter((f) => f.endsWith(".lock"))).toEqual([]);
  });

  test("a lock left by a process that is gone is taken over", async () => {
    // Prepare: the lock of an evaluation whose process died (a pid that no process has).
    const one = path.join(tmp, "one");
    const lock = path.join(tmp, "cache", `${evaluationKey(options)}.lock`);
    fs.writeFileSync(lock, "2147483646");
    const first = fakeEvaluation(one, "a");

    // Act
    await withEvaluationCache(options, one, first.evaluate);

    // Assess
    expect(first.calls).toEqual([one]);
    expect(fs.existsSync(lock)).toBe(false);
  });

  test("different options evaluate again", async () => {
    const one = path.join(tmp, "one");
    const two = path.join(tmp, "two");
    await withEvaluationCache(options, one, fakeEvaluation(one, "a").evaluate);
    const second = fakeEvaluation(two, "b");

    await withEvaluationCache({ ...options, stack: "staging" }, two, second.evaluate);

    expect(second.calls).toEqual([two]);
  });

  test("an evaluation that crashed is not cached: the next one evaluates", async () => {
    // Prepare
    const one = path.join(tmp, "one");
    const crash = async () => {
      fs.mkdirSync(one, { recursive: true });
      fs.writeFileSync(path.join(one, "request.json"), "{}");
      throw new Error("program evaluation exited 1 without a result");
    };
    await expect(withEvaluationCache(options, one, crash)).rejects.toThrow("exited 1");
    const two = path.join(tmp, "two");
    const second = fakeEvaluation(two, "b");

    // Act
    await withEvaluationCache(options, two, second.evaluate);

    // Assess
    expect(second.calls).toEqual([two]);
  });

  test("without the environment variable nothing is cached or read", async () => {
    delete process.env[PROGRAM_CACHE_ENV];
    const one = path.join(tmp, "one");
    const two = path.join(tmp, "two");
    const first = fakeEvaluation(one, "a");
    const second = fakeEvaluation(two, "b");

    await withEvaluationCache(options, one, first.evaluate);
    await withEvaluationCache(options, two, second.evaluate);

    expect([first.calls, second.calls]).toEqual([[one], [two]]);
    expect(fs.readdirSync(path.join(tmp, "cache"))).toEqual([]);
  });
});
