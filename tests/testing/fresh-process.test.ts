/** The one way to evaluate something in a fresh Node process (testing/fresh-process.ts). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { evaluateInFreshProcess, runTsFile } from "../../testing";

const FRESH_PROCESS = path.resolve(__dirname, "..", "..", "testing", "fresh-process.ts");

/** Writes a module whose evaluation doubles `n`, or throws when `n` is negative. */
function writeEvaluator(dir: string): string {
  const file = path.join(dir, "double.ts");
  fs.writeFileSync(
    file,
    `import { serveEvaluation } from ${JSON.stringify(FRESH_PROCESS)};
serveEvaluation(module, async ({ n }: { n: number }) => {
  if (n < 0) throw new Error("negative input");
  return { doubled: n * 2, pid: process.pid };
});
`,
  );
  return file;
}

describe("fresh-process", () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dn-fresh-"));
    file = writeEvaluator(dir);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("hands the request to a new process and returns what it resolved with", async () => {
    // Act
    const result = await evaluateInFreshProcess<{ doubled: number; pid: number }>(
      { file, dir: path.join(dir, "ok"), label: "double" },
      { n: 21 },
    );

    // Assess
    expect(result.doubled).toBe(42);
    expect(result.pid).not.toBe(process.pid);
  });

  test("rejects with the child's stack when it throws, never with an earlier result", async () => {
    // Prepare: the work directory already holds a result of an earlier run.
    const work = path.join(dir, "reused");
    fs.mkdirSync(work, { recursive: true });
    fs.writeFileSync(path.join(work, "result.json"), JSON.stringify({ doubled: 2 }));

    // Act
    const run = evaluateInFreshProcess({ file, dir: work, label: "double" }, { n: -1 });

    // Assess
    await expect(run).rejects.toThrow(/^double exited 1 without a result:\n[\s\S]*negative input/);
  });

  test("runs a file with arguments and reports its output and exit code", async () => {
    // Prepare
    const script = path.join(dir, "echo.ts");
    fs.writeFileSync(
      script,
      'const args: string[] = process.argv.slice(2);\nconsole.log(args.join(","));\nconsole.error("to stderr");\nprocess.exit(3);\n',
    );

    // Act
    const run = await runTsFile(script, ["a", "b"]);

    // Assess
    expect(run).toMatchObject({ code: 3, stdout: "a,b\n", stderr: "to stderr\n" });
    expect(run.output).toContain("a,b");
  });
});
