/**
 * Issue 14 under Pulumi mocks: a prod stack with three source accounts (two deployed through a
 * role, one that deploys its forwarding itself). The central bus admits exactly the configured
 * accounts; each (account, region) gets one provider, one forwarding rule, target and role under
 * that provider; each account one source-access role scoped to its own pipelines; the Lambdas may
 * assume exactly those roles and know them through SOURCE_ROLES.
 */
import { readStackConfig } from "../../testing";
import { ACCOUNT, find, declareForTest, recordResources, REGION, type Registered } from "./mocks";

const PAYMENTS = "111111111111";
const SANDBOX = "222222222222";
const SELF_DEPLOYED = "333333333333";
const ROLE_NAME = "deploy-notifier-prod-source-access";

let registered: Registered[];
let statements: (name: string) => any[];

function multiAccountConfig() {
  const { raw } = readStackConfig("prod");
  return {
    ...raw,
    pipelines: [
      ...(raw.pipelines as unknown[]),
      { name: "payments-api", account: PAYMENTS, tier: "critical", states: ["FAILED"] },
      { prefix: "sandbox-", account: SANDBOX, region: "us-west-2", tier: "standard" },
    ],
    sources: [
      {
        account: PAYMENTS,
        regions: ["us-east-2", "eu-west-1"],
        alias: "payments-prod",
        deployRoleArn: `arn:aws:iam::${PAYMENTS}:role/notifier-deployer`,
      },
      {
        account: SANDBOX,
        regions: ["us-west-2"],
        alias: "sandbox",
        deployRoleArn: `arn:aws:iam::${SANDBOX}:role/notifier-deployer`,
      },
      { account: SELF_DEPLOYED, regions: ["eu-central-1"] },
    ],
  };
}

beforeAll(async () => {
  registered = await recordResources();
  await declareForTest(multiAccountConfig());
  statements = (name) => {
    const policy = find(registered, "aws:iam/rolePolicy:RolePolicy", name).inputs.policy;
    return JSON.parse(policy).Statement;
  };
}, 240_000);

const providerUrn = (name: string) =>
  `urn:pulumi:prod::deploy-notifier::pulumi:providers:aws::${name}`;
const underProvider = (r: Registered, name: string) =>
  r.provider.startsWith(`${providerUrn(name)}::`);

describe("the central bus", () => {
  it("admits exactly the configured source accounts, PutEvents only (EventBridge bus policy)", () => {
    const bus = find(registered, "aws:cloudwatch/eventBus:EventBus", "central-bus");
    expect(bus.inputs.name).toBe("deploy-notifier-prod");
    const policy = find(
      registered,
      "aws:cloudwatch/eventBusPolicy:EventBusPolicy",
      "central-bus-policy",
    );
    expect(JSON.parse(policy.inputs.policy).Statement).toEqual([
      {
        Sid: "SourceAccountsPutEvents",
        Effect: "Allow",
        Principal: {
          AWS: [PAYMENTS, SANDBOX, SELF_DEPLOYED].map((a) => `arn:aws:iam::${a}:root`),
        },
        Action: ["events:PutEvents"],
        Resource: [`arn:aws:events:${REGION}:${ACCOUNT}:event-bus/deploy-notifier-prod`],
      },
    ]);
  });

  it("is read by the intake with the same pattern, to the events queue, admitted by the queue policy", () => {
    const home = find(registered, "aws:cloudwatch/eventRule:EventRule", "codepipeline");
    const central = find(registered, "aws:cloudwatch/eventRule:EventRule", "codepipeline-central");
    expect(home.inputs.eventBusName).toBeUndefined();
    expect(central.inputs.eventBusName).toBe("deploy-notifier-prod");
    expect(central.inputs.eventPattern).toBe(home.inputs.eventPattern);
    const target = find(
      registered,
      "aws:cloudwatch/eventTarget:EventTarget",
      "codepipeline-central-to-queue",
    );
    expect(target.inputs.arn).toMatch(/:events-physical$/);
    expect(target.inputs.deadLetterConfig.arn).toMatch(/:dlq-physical$/);
    const queuePolicy = JSON.parse(
      find(registered, "aws:sqs/queuePolicy:QueuePolicy", "events-from-eventbridge").inputs.policy,
    );
    expect(queuePolicy.Statement[0].Condition.ArnEquals["aws:SourceArn"]).toContain(
      `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:codepipeline-central-physical`,
    );
  });
});

describe("forwarding per (account, region)", () => {
  const pairs = [
    [PAYMENTS, "us-east-2"],
    [PAYMENTS, "eu-west-1"],
    [SANDBOX, "us-west-2"],
  ];

  it("one provider per (account, region), assuming the source's deploy role, locked to the account", () => {
    const providers = registered.filter((r) => r.type === "pulumi:providers:aws");
    expect(providers.map((p) => p.name).sort()).toEqual(
      pairs.map(([a, r]) => `source-${a}-${r}`).sort(),
    );
    const p = providers.find((x) => x.name === `source-${PAYMENTS}-eu-west-1`)!;
    expect(p.inputs.region).toBe("eu-west-1");
    const assumeRoles =
      typeof p.inputs.assumeRoles === "string"
        ? JSON.parse(p.inputs.assumeRoles)
        : p.inputs.assumeRoles;
    expect(assumeRoles[0].roleArn).toBe(`arn:aws:iam::${PAYMENTS}:role/notifier-deployer`);
    const allowed =
      typeof p.inputs.allowedAccountIds === "string"
        ? JSON.parse(p.inputs.allowedAccountIds)
        : p.inputs.allowedAccountIds;
    expect(allowed).toEqual([PAYMENTS]);
  });

  it.each(pairs)(
    "%s %s: one rule, target, role and PutEvents policy, all under its provider",
    (account, region) => {
      const name = `source-${account}-${region}`;
      const rule = find(registered, "aws:cloudwatch/eventRule:EventRule", name);
      const target = find(
        registered,
        "aws:cloudwatch/eventTarget:EventTarget",
        `${name}-to-central`,
      );
      const role = find(registered, "aws:iam/role:Role", `${name}-role`);
      const policy = find(registered, "aws:iam/rolePolicy:RolePolicy", `${name}-put-events`);
      for (const r of [rule, target, role, policy])
        expect({ r: r.name, ok: underProvider(r, name) }).toEqual({ r: r.name, ok: true });
      // EventBridge user guide, "Sending and receiving events between AWS accounts": the target is
      // the receiving bus's ARN, with a role EventBridge assumes that may PutEvents there.
      const busArn = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/deploy-notifier-prod`;
      expect(target.inputs.arn).toBe(busArn);
      expect(target.inputs.roleArn).toMatch(new RegExp(`${name}-role`));
      expect(JSON.parse(role.inputs.assumeRolePolicy).Statement).toEqual([
        {
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: ["sts:AssumeRole"],
        },
      ]);
      expect(JSON.parse(policy.inputs.policy).Statement).toEqual([
        {
          Sid: "PutEventsOnCentralBus",
          Effect: "Allow",
          Action: ["events:PutEvents"],
          Resource: [busArn],
        },
      ]);
      expect(JSON.parse(rule.inputs.eventPattern).source).toEqual(["aws.codepipeline"]);
    },
  );

  it("matches only the pipelines selected for that account and region (patterns.ts selection)", () => {
    const pattern = (n: string) =>
      find(registered, "aws:cloudwatch/eventRule:EventRule", n).inputs.eventPattern as string;
    expect(pattern(`source-${SANDBOX}-us-west-2`)).toContain("sandbox-");
    expect(pattern(`source-${SANDBOX}-us-west-2`)).not.toContain("payments-api");
    expect(pattern(`source-${PAYMENTS}-eu-west-1`)).toContain("payments-api");
    expect(pattern(`source-${PAYMENTS}-eu-west-1`)).not.toContain("sandbox-");
    // A selector without account applies everywhere.
    expect(pattern(`source-${PAYMENTS}-eu-west-1`)).toContain("main-app-production-v3");
  });

  it("declares nothing in an account without a deploy role (its team deploys the component)", () => {
    expect(registered.filter((r) => r.name.includes(SELF_DEPLOYED))).toEqual([]);
  });
});

describe("source-access roles", () => {
  it("one per deployed account, same name everywhere, trusted only by the two Lambda roles", () => {
    const roles = registered.filter(
      (r) => r.type === "aws:iam/role:Role" && r.inputs.name === ROLE_NAME,
    );
    expect(roles.map((r) => r.name).sort()).toEqual([
      `source-access-${PAYMENTS}`,
      `source-access-${SANDBOX}`,
    ]);
    const payments = roles.find((r) => r.name === `source-access-${PAYMENTS}`)!;
    // IAM is global: declared through the account's first region's provider.
    expect(underProvider(payments, `source-${PAYMENTS}-us-east-2`)).toBe(true);
    expect(JSON.parse(payments.inputs.assumeRolePolicy).Statement).toEqual([
      {
        Sid: "NotifierLambdas",
        Effect: "Allow",
        Principal: {
          AWS: [
            `arn:aws:iam:${REGION}:${ACCOUNT}:fanout-role-physical`,
            `arn:aws:iam:${REGION}:${ACCOUNT}:approval-role-physical`,
          ],
        },
        Action: ["sts:AssumeRole"],
      },
    ]);
  });

  it("grants CodePipeline on that account's configured pipelines only, approvals only where configured", () => {
    const st = statements(`source-access-${SANDBOX}-policy`);
    expect(st).toEqual([
      {
        Sid: "Enrichment",
        Effect: "Allow",
        Action: [
          "codepipeline:GetPipeline",
          "codepipeline:GetPipelineExecution",
          "codepipeline:ListActionExecutions",
        ],
        Resource: [
          `arn:aws:codepipeline:us-west-2:${SANDBOX}:api-gateway-prod-cluster`,
          `arn:aws:codepipeline:us-west-2:${SANDBOX}:api-gateway-prod-cluster/*`,
          `arn:aws:codepipeline:us-west-2:${SANDBOX}:main-app-production-v3`,
          `arn:aws:codepipeline:us-west-2:${SANDBOX}:main-app-production-v3/*`,
          `arn:aws:codepipeline:us-west-2:${SANDBOX}:sandbox-*`,
        ],
      },
      {
        Sid: "Approvals",
        Effect: "Allow",
        Action: [
          "codepipeline:GetPipelineState",
          "codepipeline:ListActionExecutions",
          "codepipeline:GetPipelineExecution",
          "codepipeline:ListPipelineExecutions",
          "codepipeline:PutApprovalResult",
        ],
        Resource: [
          `arn:aws:codepipeline:us-west-2:${SANDBOX}:main-app-production-v3`,
          `arn:aws:codepipeline:us-west-2:${SANDBOX}:main-app-production-v3/*`,
        ],
      },
    ]);
    const payments = statements(`source-access-${PAYMENTS}-policy`).flatMap((s) => s.Resource);
    expect(payments).toContain(`arn:aws:codepipeline:eu-west-1:${PAYMENTS}:payments-api`);
    expect(payments.every((arn: string) => arn.includes(`:${PAYMENTS}:`))).toBe(true);
    expect(payments.some((arn: string) => arn.includes("sandbox-"))).toBe(false);
  });
});

describe("the Lambdas", () => {
  const roleArns = [PAYMENTS, SANDBOX, SELF_DEPLOYED].map(
    (a) => `arn:aws:iam::${a}:role/${ROLE_NAME}`,
  );

  it.each(["fanout", "approval"])("%s may sts:AssumeRole exactly the source-access roles", (fn) => {
    const assume = statements(`${fn}-policy`).filter((s) => s.Action.includes("sts:AssumeRole"));
    expect(assume).toEqual([
      { Sid: "AssumeSourceRoles", Effect: "Allow", Action: ["sts:AssumeRole"], Resource: roleArns },
    ]);
  });

  it.each(["fanout", "approval"])("%s knows HOME_ACCOUNT and SOURCE_ROLES", (fn) => {
    const env = find(registered, "aws:lambda/function:Function", fn).inputs.environment.variables;
    expect(env.HOME_ACCOUNT).toBe(ACCOUNT);
    expect(JSON.parse(env.SOURCE_ROLES)).toEqual({
      [PAYMENTS]: roleArns[0],
      [SANDBOX]: roleArns[1],
      [SELF_DEPLOYED]: roleArns[2],
    });
  });
});
