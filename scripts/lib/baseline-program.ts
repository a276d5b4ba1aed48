/**
 * The benchmark's baseline: the smallest possible Pulumi program with one empty
 * `aws.lambda.CallbackFunction` (`async () => ({})`), serialized exactly as the real program
 * serializes its functions (explicit role, nodejs22.x, the same `extraExcludePackages`), under
 * Pulumi's mock engine. Its archive's size and cold start are what "nothing" costs.
 *
 * Run in a child process (a fresh Pulumi runtime each time):
 *   node -r ts-node/register/transpile-only scripts/lib/baseline-program.ts <outDir>
 * It writes the archive to `<outDir>/baseline` and `{ dir, bytes, files }` to
 * `<outDir>/baseline.json`.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { archiveExcludes } from "../../infra/archives";
import { ROOT, writeArchive } from "../../sandbox/program";

/** The baseline archive on disk. */
export interface BaselineArchive {
  dir: string;
  bytes: number;
  files: number;
}

/** Evaluates the baseline program in a fresh Node process and returns its archive. */
export async function buildBaseline(outDir: string): Promise<BaselineArchive> {
  fs.mkdirSync(outDir, { recursive: true });
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", __filename, outDir],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
    },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const code: number = await new Promise((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  const resultFile = path.join(outDir, "baseline.json");
  if (code !== 0 || !fs.existsSync(resultFile)) {
    throw new Error(`baseline program exited ${code} without a result:\n${output}`);
  }
  return JSON.parse(fs.readFileSync(resultFile, "utf8")) as BaselineArchive;
}

async function main(outDir: string): Promise<void> {
  const pulumi = await import("@pulumi/pulumi");
  pulumi.runtime.setAllConfig({ "aws:region": "us-east-1" });
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: { ...args.inputs, arn: `arn:aws:mock:us-east-1:123456789012:${args.name}` },
      }),
      call: (args) => {
        throw new Error(`mock call not implemented: ${args.token}`);
      },
    },
    "deploy-notifier",
    "baseline",
    true,
  );
  const aws = await import("@pulumi/aws");
  const fn = new aws.lambda.CallbackFunction("baseline", {
    callback: async () => ({}),
    // An explicit role, as the program passes one (the default role attaches FullAccess policies).
    role: "arn:aws:iam::123456789012:role/baseline",
    runtime: "nodejs22.x",
    codePathOptions: { extraExcludePackages: archiveExcludes() },
  });
  const code = await new Promise<unknown>((resolve) => fn.code.apply(resolve));
  const dir = path.join(outDir, "baseline");
  const { bytes, files } = await writeArchive(code, dir);
  const result: BaselineArchive = { dir, bytes, files };
  fs.writeFileSync(path.join(outDir, "baseline.json"), JSON.stringify(result));
}

if (require.main === module) {
  main(process.argv[2]).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exit(1);
    },
  );
}
