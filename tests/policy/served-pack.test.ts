/**
 * The pack as `pulumi preview --policy-pack policy` runs it: the Node.js language host starts
 * `@pulumi/pulumi/cmd/run-policy-pack` in the pack's directory (ts-node, type-checked, with the
 * pack's tsconfig.json), the pack prints its gRPC port, and the engine calls the Analyzer service
 * (pulumi/proto/analyzer.proto). This test plays the engine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { POLICIES } from "../../policy/rules";
import { TYPES } from "../../policy/policies";

const grpc = require("@grpc/grpc-js");
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

const POLICY_DIR = path.join(__dirname, "..", "..", "policy");
const RUN_POLICY_PACK = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");

let pack: ChildProcess;
let client: any;

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
  );
}

function urn(type: string, name: string): string {
  return `urn:pulumi:ci::deploy-notifier::${type}::${name}`;
}

function analyzerResource(cls: any, type: string, name: string, props: Record<string, unknown>) {
  const r = new cls();
  r.setType(type);
  r.setName(name);
  r.setUrn(urn(type, name));
  r.setProperties(Struct.fromJavaScript(props));
  // The engine always sends the options; @pulumi/policy refuses a request without them.
  r.setOptions(new analyzerPb.AnalyzerResourceOptions());
  return r;
}

function diagnostics(response: any): Array<{ policy: string; message: string; level: number }> {
  return response.getDiagnosticsList().map((d: any) => ({
    policy: d.getPolicyname(),
    message: d.getMessage(),
    level: d.getEnforcementlevel(),
  }));
}

beforeAll(async () => {
  pack = spawn(process.execPath, [RUN_POLICY_PACK, "127.0.0.1:0", "."], {
    cwd: POLICY_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  pack.stderr!.on("data", (chunk) => (stderr += chunk));
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    pack.stdout!.on("data", (chunk) => {
      out += chunk;
      const line = out.split("\n")[0].trim();
      if (out.includes("\n") && /^\d+$/.test(line)) resolve(line);
    });
    pack.on("exit", (code) => reject(new Error(`the pack exited (${code}): ${stderr}${out}`)));
  });
  client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 120_000);

afterAll(() => {
  client?.close();
  if (pack?.pid !== undefined && pack.exitCode === null) pack.kill();
});

describe("the policy pack served to the Pulumi engine", () => {
  it("announces every policy, mandatory", async () => {
    const info: any = await call("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe("deploy-notifier");
    expect(info.getVersion()).toBe("0.1.0");
    const policies = info.getPoliciesList();
    expect(policies.map((p: any) => p.getName())).toEqual(POLICIES.map((p) => p.name));
    // proto EnforcementLevel: ADVISORY = 0, MANDATORY = 1.
    expect(new Set(policies.map((p: any) => p.getEnforcementlevel()))).toEqual(new Set([1]));
  });

  it("refuses an unencrypted topic and a wildcard role policy before they are created", async () => {
    const topic = analyzerResource(analyzerPb.AnalyzeRequest, TYPES.topic, "sms", {});
    const topicDiags = diagnostics(await call("analyze", topic));
    expect(topicDiags).toEqual([
      {
        policy: "sns-topic-encrypted",
        message: expect.stringContaining(
          'sns-topic-encrypted: Topic "sms": no server-side encryption',
        ),
        level: 1,
      },
    ]);
    const policy = analyzerResource(
      analyzerPb.AnalyzeRequest,
      TYPES.rolePolicy,
      "approval-policy",
      {
        role: "approval-role",
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Sid: "All", Effect: "Allow", Action: "dynamodb:*", Resource: "arn:t" }],
        }),
      },
    );
    expect(diagnostics(await call("analyze", policy)).map((d) => d.policy)).toEqual([
      "iam-no-wildcard-actions",
      "iam-no-unused-grants",
    ]);
  });

  it("defers, as advisory, a policy whose input is not known yet during a first preview", async () => {
    // The engine's marker for an unknown value (@pulumi/pulumi runtime/rpc.ts `unknownValue`).
    const policy = analyzerResource(analyzerPb.AnalyzeRequest, TYPES.rolePolicy, "fanout-policy", {
      role: "fanout-role",
      policy: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    });
    const diags = diagnostics(await call("analyze", policy));
    expect(diags.map((d) => d.policy).sort()).toEqual([
      "iam-no-unused-grants",
      "iam-no-wildcard-actions",
    ]);
    for (const d of diags) {
      expect(d.message).toContain(
        `can't run policy '${d.policy}' from policy pack 'deploy-notifier@v0.1.0' during preview`,
      );
      expect(d.level).toBe(0); // ADVISORY: `pulumi up` runs the policy again with the real value
    }
  });

  it("refuses, on the whole stack, an alarm whose topic uses the AWS managed key", async () => {
    const topicArn = "arn:aws:sns:us-east-1:123456789012:ops";
    const request = new analyzerPb.AnalyzeStackRequest();
    request.setResourcesList([
      analyzerResource(analyzerPb.AnalyzerResource, TYPES.topic, "ops", {
        arn: topicArn,
        kmsMasterKeyId: "alias/aws/sns",
      }),
      analyzerResource(analyzerPb.AnalyzerResource, TYPES.metricAlarm, "dlq-depth", {
        alarmActions: [topicArn],
      }),
    ]);
    const diags = diagnostics(await call("analyzeStack", request));
    expect(diags).toEqual([
      {
        policy: "alarm-actions-deliverable",
        message: expect.stringContaining(
          'MetricAlarm "dlq-depth" alarmActions: topic "ops" is encrypted with the AWS managed key alias/aws/sns',
        ),
        level: 1,
      },
    ]);
  });
});
