/**
 * The benchmark's baseline: the smallest possible Pulumi program with one empty
 * `aws.lambda.CallbackFunction` (`async () => ({})`), serialized exactly as the real program
 * serializes its functions (explicit role, nodejs22.x, the same `extraExcludePackages`), under
 * Pulumi's mock engine. Its archive's size and cold start are what "nothing" costs.
 *
 * Evaluated in a fresh process (a fresh Pulumi runtime each time) through testing/fresh-process.ts,
 * the same way as the real program: it writes the archive to `<outDir>/baseline` and hands back
 * `{ dir, bytes, files }`.
 */
import * as path from "node:path";
import { archiveExcludes } from "../../infra/archives";
import { evaluateInFreshProcess, serveEvaluation, writeArchive } from "../../testing";

/** The baseline archive on disk. */
export interface BaselineArchive {
  dir: string;
  bytes: number;
  files: number;
}

/** Evaluates the baseline program in a fresh Node process and returns its archive. */
export async function buildBaseline(outDir: string): Promise<BaselineArchive> {
  return evaluateInFreshProcess<BaselineArchive>(
    { file: __filename, dir: outDir, label: "baseline program" },
    { outDir },
  );
}

/**
 * Serializes `callback` as the Lambda `name` of a one-function program under Pulumi's mock engine,
 * exactly as the real program serializes its functions (an explicit role — the default role
 * attaches FullAccess policies —, nodejs22.x, the same `extraExcludePackages`), and writes its
 * archive to `<outDir>/<name>`. Runs in a fresh process (a fresh Pulumi runtime each time): the
 * child side of {@link buildBaseline} and of scripts/lib/sdk-floor-program.ts.
 */
export async function archiveCallback(
  name: string,
  callback: () => Promise<unknown>,
  outDir: string,
): Promise<BaselineArchive> {
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
    name,
    true,
  );
  const aws = await import("@pulumi/aws");
  const fn = new aws.lambda.CallbackFunction(name, {
    callback,
    role: `arn:aws:iam::123456789012:role/${name}`,
    runtime: "nodejs22.x",
    codePathOptions: { extraExcludePackages: archiveExcludes() },
  });
  const code = await new Promise<unknown>((resolve) => fn.code.apply(resolve));
  const dir = path.join(outDir, name);
  const { bytes, files } = await writeArchive(code, dir);
  return { dir, bytes, files };
}

/** The child side of {@link buildBaseline}. */
function evaluateBaseline({ outDir }: { outDir: string }): Promise<BaselineArchive> {
  return archiveCallback("baseline", async () => ({}), outDir);
}

serveEvaluation(module, evaluateBaseline);
