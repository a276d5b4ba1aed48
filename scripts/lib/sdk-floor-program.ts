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
import { evaluateInFreshProcess, serveEvaluation } from "../../testing";
import { archiveCallback, type BaselineArchive } from "./baseline-program";

/** Evaluates the SDK-floor program in a fresh Node process and returns its archive. */
export async function buildSdkFloor(outDir: string): Promise<BaselineArchive> {
  return evaluateInFreshProcess<BaselineArchive>(
    { file: __filename, dir: outDir, label: "SDK-floor program" },
    { outDir },
  );
}

/** The child side of {@link buildSdkFloor}. */
function evaluateSdkFloor({ outDir }: { outDir: string }): Promise<BaselineArchive> {
  return archiveCallback(
    "sdkfloor",
    async () => {
      const ddb = require("@aws-sdk/client-dynamodb") as typeof import("@aws-sdk/client-dynamodb");
      const client = new ddb.DynamoDBClient({});
      const out = await client.send(
        new ddb.GetItemCommand({
          TableName: process.env.AUDIT_TABLE,
          Key: { pk: { S: "THREAD#sdkfloor" }, sk: { S: "THREAD" } },
        }),
      );
      return { found: out.Item !== undefined };
    },
    outDir,
  );
}

serveEvaluation(module, evaluateSdkFloor);
