/**
 * The latency bench's SDK floor (issue 12): the least a fan-out could cost at cold start — one
 * `DynamoDBClient` and one `GetItem` — as an `aws.lambda.CallbackFunction` serialized exactly as
 * the real program serializes its functions (explicit role, nodejs22.x, the same
 * `extraExcludePackages`), under Pulumi's mock engine, like scripts/lib/baseline-program.ts.
 * The fan-out's cold start is compared with it: target ≤ floor + 40 ms (scripts/lib/latency.ts).
 *
 * The client is required and created inside the callback, as handlers/aws.ts does lazily (a
 * client serialized by value would not work: handlers/README.md rule 4); the table name comes
 * from `AUDIT_TABLE`, the endpoint and credentials from the environment, as for the fan-out.
 */
import * as path from "node:path";
import { archiveExcludes } from "../../infra/archives";
import { evaluateInFreshProcess, serveEvaluation, writeArchive } from "../../testing";
import type { BaselineArchive } from "./baseline-program";

/** Evaluates the SDK-floor program in a fresh Node process and returns its archive. */
export async function buildSdkFloor(outDir: string): Promise<BaselineArchive> {
  return evaluateInFreshProcess<BaselineArchive>(
    { file: __filename, dir: outDir, label: "SDK-floor program" },
    { outDir },
  );
}

/** The child side of {@link buildSdkFloor}. */
async function evaluateSdkFloor({ outDir }: { outDir: string }): Promise<BaselineArchive> {
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
    "sdk-floor",
    true,
  );
  const aws = await import("@pulumi/aws");
  const fn = new aws.lambda.CallbackFunction("sdkfloor", {
    callback: async () => {
      const ddb = require("@aws-sdk/client-dynamodb") as typeof import("@aws-sdk/client-dynamodb");
      const client = new ddb.DynamoDBClient({});
      const out = await client.send(
        new ddb.GetItemCommand({
          TableName: process.env.AUDIT_TABLE,
          Key: { pk: { S: "OUTCOME#sdkfloor" }, sk: { S: "OUTCOME#sdkfloor" } },
        }),
      );
      return { found: out.Item !== undefined };
    },
    role: "arn:aws:iam::123456789012:role/sdkfloor",
    runtime: "nodejs22.x",
    codePathOptions: { extraExcludePackages: archiveExcludes() },
  });
  const code = await new Promise<unknown>((resolve) => fn.code.apply(resolve));
  const dir = path.join(outDir, "sdkfloor");
  const { bytes, files } = await writeArchive(code, dir);
  return { dir, bytes, files };
}

serveEvaluation(module, evaluateSdkFloor);
