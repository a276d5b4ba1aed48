import * as fs from "node:fs";
import * as path from "node:path";
import type { ProgramResult } from "../../testing";
import { TYPES } from "../../policy/policies";
import { POLICIES } from "../../policy/rules";
import { evaluate } from "../support/program";
import { fromProgram, runPack, type PackResource, type Violation } from "./harness";

const ACCOUNT = "123456789012";
const stacks: Record<string, ProgramResult> = {};

beforeAll(async () => {
  const [prod, staging] = await Promise.all([
    evaluate({ stack: "prod" }),
    evaluate({ stack: "staging" }),
  ]);
  stacks.prod = prod;
  stacks.staging = staging;
}, 120_000);

/** A resource as a bad stack would declare it; outputs add `name`, `arn`, `id` as AWS would. */
function res(type: string, name: string, inputs: Record<string, any>): PackResource {
  const service = type.split(":")[1].split("/")[0];
  const physical = inputs.name ?? name;
  return {
    type,
    name,
    inputs,
    outputs: {
      ...inputs,
      name: physical,
      arn: `arn:aws:${service}:us-east-1:${ACCOUNT}:${physical}`,
      id: `${name}-id`,
    },
  };
}

function doc(...statements: object[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

function messages(violations: Violation[]): string[] {
  return violations.map((v) => v.message);
}

/** The prod stack's resources with one resource's inputs (and outputs) changed. */
function mutated(type: string, logicalName: string, change: (inputs: any) => void): PackResource[] {
  return fromProgram(stacks.prod).map((r) => {
    if (r.type !== type || r.name !== logicalName) return r;
    const inputs = structuredClone(r.inputs);
    change(inputs);
    const { name, arn, id } = r.outputs;
    return { ...r, inputs, outputs: { ...inputs, name, arn, id } };
  });
}

describe("the policy pack", () => {
  it("is a pack `pulumi preview --policy-pack policy` can run: nodejs runtime, versioned, with its dependencies", () => {
    const dir = path.join(__dirname, "..", "..", "policy");
    expect(fs.readFileSync(path.join(dir, "PulumiPolicy.yaml"), "utf8")).toMatch(
      /^runtime: nodejs$/m,
    );
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    // @pulumi/policy's PolicyPack reads `version` from the pack's package.json and refuses none.
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.dependencies["@pulumi/policy"]).toBe("^1.21.0");
    const root = JSON.parse(fs.readFileSync(path.join(dir, "..", "package.json"), "utf8"));
    expect(root.devDependencies["@pulumi/policy"]).toBe("^1.21.0");
    expect(root.dependencies["@pulumi/policy"]).toBeUndefined();
    // Every policy blocks the deployment, and names are unique (the engine requires it).
    for (const p of POLICIES) expect(p.enforcementLevel).toBe("mandatory");
    expect(new Set(POLICIES.map((p) => p.name)).size).toBe(POLICIES.length);
  });

  it("stays out of the Lambda archives", () => {
    for (const archive of stacks.prod.archives) {
      expect(fs.existsSync(path.join(archive.dir, "node_modules", "@pulumi", "policy"))).toBe(
        false,
      );
    }
  });

  it.each(["prod", "staging"])("passes on the %s stack as declared", async (stack) => {
    expect(messages(await runPack(fromProgram(stacks[stack]), { stack }))).toEqual([]);
  });
});

describe("the policy pack on a deliberately bad stack", () => {
  it("fails each bad resource with a message naming the resource and the rule", async () => {
    const opsKey = res(TYPES.kmsKey, "ops-key", {
      enableKeyRotation: true,
      policy: doc({
        Sid: "Account",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: ["kms:DescribeKey"],
        Resource: ["*"],
      }),
    });
    const managedTopic = res(TYPES.topic, "ops", { kmsMasterKeyId: "alias/aws/sns" });
    const keyTopic = res(TYPES.topic, "ops-cmk", { kmsMasterKeyId: opsKey.outputs.arn });
    const bad: PackResource[] = [
      res(TYPES.rolePolicy, "fanout-policy", {
        role: "fanout-role-id",
        policy: doc(
          { Sid: "Everything", Effect: "Allow", Action: "*", Resource: "*" },
          { Sid: "Table", Effect: "Allow", Action: ["dynamodb:*"], Resource: ["arn:t"] },
          { Sid: "Extra", Effect: "Allow", Action: ["dynamodb:DeleteTable"], Resource: ["arn:t"] },
        ),
      }),
      res(TYPES.topic, "sms", {}),
      res(TYPES.queue, "events", {}),
      res(TYPES.table, "audit", { billingMode: "PAY_PER_REQUEST" }),
      res(TYPES.kmsKey, "stale-key", { enableKeyRotation: false, policy: doc() }),
      opsKey,
      managedTopic,
      keyTopic,
      res(TYPES.metricAlarm, "dlq-depth", { alarmActions: [managedTopic.outputs.arn] }),
      res(TYPES.metricAlarm, "events-age", { okActions: [keyTopic.outputs.arn] }),
      res(TYPES.function, "approval", {
        name: "approval-fn",
        environment: { variables: { AUDIT_TABLE: "audit" } },
        loggingConfig: { logFormat: "JSON", logGroup: "/aws/lambda/approval-fn" },
      }),
      res(TYPES.functionUrl, "approval-url", {
        functionName: "approval-fn",
        authorizationType: "NONE",
      }),
      res(TYPES.logGroup, "approval-logs", { name: "/aws/lambda/approval-fn" }),
    ];
    const violations = await runPack(bad);
    expect(messages(violations).sort()).toEqual(
      [
        'iam-no-wildcard-actions: RolePolicy "fanout-policy" policy: statement Everything allows the wildcard action "*"',
        'iam-no-wildcard-actions: RolePolicy "fanout-policy" policy: statement Everything applies to every resource ("*")',
        'iam-no-wildcard-actions: RolePolicy "fanout-policy" policy: statement Table allows the wildcard action "dynamodb:*"',
        'iam-no-unused-grants: RolePolicy "fanout-policy": statement Everything grants *, which the fanout function\'s code never calls (policy/code-actions.ts)',
        'iam-no-unused-grants: RolePolicy "fanout-policy": statement Table grants dynamodb:*, which the fanout function\'s code never calls (policy/code-actions.ts)',
        'iam-no-unused-grants: RolePolicy "fanout-policy": statement Extra grants dynamodb:DeleteTable, which the fanout function\'s code never calls (policy/code-actions.ts)',
        'sqs-queue-encrypted: Queue "events": no server-side encryption (set sqsManagedSseEnabled: true or kmsMasterKeyId)',
        'sns-topic-encrypted: Topic "sms": no server-side encryption (set kmsMasterKeyId)',
        'dynamodb-table-encryption-enabled: Table "audit": serverSideEncryption.enabled is not true',
        'kms-key-rotation-enabled: Key "stale-key": enableKeyRotation is not true',
        'alarm-actions-deliverable: MetricAlarm "dlq-depth" alarmActions: topic "ops" is encrypted with the AWS managed key alias/aws/sns, which CloudWatch cannot use: use a customer managed key whose policy allows cloudwatch.amazonaws.com',
        'alarm-actions-deliverable: MetricAlarm "events-age" okActions: topic "ops-cmk" is encrypted with key "ops-key", whose policy does not allow cloudwatch.amazonaws.com kms:Decrypt, kms:GenerateDataKey',
        'log-group-retention: LogGroup "approval-logs": no retentionInDays (logs would be kept forever)',
        'public-url-verifies-signatures: FunctionUrl "approval-url" (authorizationType NONE): function "approval" has no SLACK_APP_SECRET_ARN (the Slack signing secret it verifies requests with); has no reserved concurrency (reservedConcurrentExecutions ≥ 1), so a flood of unsigned requests can take the account\'s concurrency',
      ].sort(),
    );
    // Stack-level violations point at the offending resource's URN.
    expect(violations.find((v) => v.policy === "public-url-verifies-signatures")?.urn).toBe(
      "urn:pulumi:test::deploy-notifier::aws:lambda/functionUrl:FunctionUrl::approval-url",
    );
  });

  it("passes the same shapes once they are fixed: a CMK that lets CloudWatch use it, a verifying function", async () => {
    const key = res(TYPES.kmsKey, "ops-key", {
      enableKeyRotation: true,
      policy: doc({
        Sid: "CloudWatchAlarms",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Resource: "*",
      }),
    });
    const alias = res(TYPES.kmsAlias, "ops-key-alias", {
      name: "alias/deploy-notifier-ops",
      targetKeyId: key.outputs.id,
    });
    const topic = res(TYPES.topic, "ops", { kmsMasterKeyId: "alias/deploy-notifier-ops" });
    const good = [
      key,
      alias,
      topic,
      res(TYPES.metricAlarm, "dlq-depth", { alarmActions: [topic.outputs.arn] }),
      res(TYPES.function, "approval", {
        name: "approval-fn",
        reservedConcurrentExecutions: 10,
        environment: { variables: { SLACK_APP_SECRET_ARN: "arn:aws:secretsmanager:x" } },
        loggingConfig: { logGroup: "/aws/lambda/approval-fn" },
      }),
      res(TYPES.functionUrl, "approval-url", {
        functionName: "approval-fn",
        authorizationType: "NONE",
      }),
      res(TYPES.logGroup, "approval-logs", {
        name: "/aws/lambda/approval-fn",
        retentionInDays: 30,
      }),
    ];
    expect(messages(await runPack(good))).toEqual([]);
  });

  it("fails a grant the code does not call, added to the real fan-out role", async () => {
    const resources = mutated(TYPES.rolePolicy, "fanout-policy", (inputs) => {
      const policy = JSON.parse(inputs.policy);
      policy.Statement.push({
        Sid: "Rewrite",
        Effect: "Allow",
        Action: ["dynamodb:DeleteTable", "dynamodb:BatchWriteItem"],
        Resource: ["arn:aws:dynamodb:us-east-1:123456789012:table/audit"],
      });
      inputs.policy = JSON.stringify(policy);
    });
    expect(messages(await runPack(resources, { stack: "prod" }))).toContain(
      'iam-no-unused-grants: RolePolicy "fanout-policy": statement Rewrite grants dynamodb:DeleteTable, dynamodb:BatchWriteItem, which the fanout function\'s code never calls (policy/code-actions.ts)',
    );
  });

  it("fails the real public URL once its function loses its reserved concurrency", async () => {
    const resources = mutated(TYPES.function, "approval", (inputs) => {
      delete inputs.reservedConcurrentExecutions;
    });
    const found = (await runPack(resources, { stack: "prod" })).filter(
      (v) => v.policy === "public-url-verifies-signatures",
    );
    expect(messages(found)).toEqual([
      expect.stringMatching(
        /^public-url-verifies-signatures: FunctionUrl "approval-url" \(authorizationType NONE\): function "approval" has no reserved concurrency/,
      ),
    ]);
  });

  it("knows a role policy's function by its parent NotifierFunction component, whatever its name", async () => {
    const policy = {
      ...res(TYPES.rolePolicy, "inline", {
        role: "approval-role-id",
        policy: doc({ Sid: "Q", Effect: "Allow", Action: ["dynamodb:Query"], Resource: ["arn:t"] }),
      }),
      parent:
        "urn:pulumi:prod::deploy-notifier::deploy-notifier:infra:Notifier$deploy-notifier:infra:NotifierFunction::approval",
    };
    expect(messages(await runPack([policy]))).toEqual([
      'iam-no-unused-grants: RolePolicy "inline": statement Q grants dynamodb:Query, which the approval function\'s code never calls (policy/code-actions.ts)',
    ]);
  });

  it("fails a role policy of no known function: its grants cannot be checked", async () => {
    const violations = await runPack([
      res(TYPES.rolePolicy, "reporter-policy", {
        role: "reporter-role-id",
        policy: doc({ Effect: "Allow", Action: ["sns:Publish"], Resource: ["arn:t"] }),
      }),
    ]);
    expect(messages(violations)).toEqual([
      'iam-no-unused-grants: RolePolicy "reporter-policy": belongs to no notifier function (fanout, approval), so its grants cannot be checked against code',
    ]);
  });
});
