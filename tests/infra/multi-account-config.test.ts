/**
 * Issue 14, the pure parts: `sources` / `organizationId` / selector account and region in stack
 * config (every problem at once, each naming its key), the bus policy for accounts and for an
 * organization, its size limit, and a single-account config unchanged.
 */
import { ConfigError, parseConfig } from "../../config";
import {
  BUS_POLICY_MAX_CHARS,
  busPolicyDocument,
  busPolicyStatements,
} from "../../infra/central-bus";
import { configAt } from "../../infra/patterns";
import { sourceAccessStatements } from "../../infra/source-access";
import { placeholderSecrets, readStackConfig } from "../../testing";

function parse(extra: Record<string, unknown>) {
  const { raw } = readStackConfig("prod");
  const merged = { ...raw, ...extra };
  return parseConfig(
    { ...merged, secrets: placeholderSecrets(merged) },
    { stack: "prod", secretKeys: ["secrets"] },
  );
}

function problems(extra: Record<string, unknown>): string[] {
  try {
    parse(extra);
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const BUS = "arn:aws:events:us-east-1:123456789012:event-bus/deploy-notifier-prod";

describe("stack config: sources", () => {
  it("reports every problem at once, each naming its key", () => {
    const { raw } = readStackConfig("prod");
    expect(
      problems({
        organizationId: "org-1",
        sources: [
          { account: "12345", regions: ["eu-west-1", "eu-west-1"] },
          { account: "111122223333", regions: [], alias: "a" },
          {
            account: "111122223333",
            regions: ["moon-1"],
            alias: "a",
            deployRoleArn: "arn:aws:iam::999999999999:role/deployer",
          },
          { account: "444455556666", regions: ["us-west-2"], deployRoleArn: "deployer" },
        ],
        pipelines: [
          ...(raw.pipelines as unknown[]),
          { name: "x", tier: "critical", account: "777788889999" },
          { name: "y", tier: "critical", account: "444455556666", region: "eu-west-1" },
          { name: "z", tier: "critical", account: "4444" },
        ],
      }).sort(),
    ).toEqual(
      [
        "deploy-notifier:sources[0].account: must be 12 digits (an AWS account id)",
        "deploy-notifier:sources[1].regions: must list at least one region",
        "deploy-notifier:sources[2].regions[0]: must be an AWS region code like eu-west-1",
        "deploy-notifier:sources[3].deployRoleArn: must be an IAM role ARN like arn:aws:iam::111122223333:role/deployer",
        "deploy-notifier:organizationId: must be an AWS Organizations id like o-a1b2c3d4e5",
        "deploy-notifier:pipelines[4].account: must be 12 digits (an AWS account id)",
        "deploy-notifier:sources[0].regions[1]: eu-west-1 is listed twice",
        "deploy-notifier:sources[2].account: 111122223333 is already configured at deploy-notifier:sources[1]",
        'deploy-notifier:sources[2].alias: "a" is already the alias of deploy-notifier:sources[1]',
        "deploy-notifier:sources[2].deployRoleArn: is a role in account 999999999999, not in 111122223333 (the deploy declares the forwarding in the source account through this role)",
        "deploy-notifier:pipelines[2].account: 777788889999 is not a configured source (sources: 12345, 111122223333, 444455556666)",
        "deploy-notifier:pipelines[3].region: eu-west-1 is not a region of deploy-notifier:sources[3] (regions: us-west-2)",
      ].sort(),
    );
  });

  it("refuses an organization without sources (SOURCE_ROLES and routing need the accounts)", () => {
    expect(problems({ organizationId: "o-a1b2c3d4e5" })).toEqual([
      "deploy-notifier:organizationId: admits an organization's accounts to the central bus, but no sources are configured (list them under deploy-notifier:sources)",
    ]);
  });

  it("tells a selector in another account apart from the same name at home", () => {
    const { raw } = readStackConfig("prod");
    const config = parse({
      sources: [{ account: "111122223333", regions: ["eu-west-1"], alias: "payments" }],
      pipelines: [
        ...(raw.pipelines as unknown[]),
        { name: "main-app-production-v3", account: "111122223333", tier: "standard" },
      ],
    });
    expect(config.runtime.pipelines[2].match).toEqual({
      name: "main-app-production-v3",
      account: "111122223333",
    });
    expect(config.runtime.sources).toEqual([
      { account: "111122223333", regions: ["eu-west-1"], alias: "payments" },
    ]);
    expect(config.sources[0].deployRoleArn).toBeUndefined();
  });

  it("leaves a single-account config as it was: no sources key in the runtime config", () => {
    const config = parse({});
    expect(config.sources).toEqual([]);
    expect("sources" in config.runtime).toBe(false);
    expect(config.runtime.pipelines.map((p) => p.match)).toEqual([
      { name: "main-app-production-v3" },
      { name: "api-gateway-prod-cluster" },
    ]);
  });
});

describe("central bus policy", () => {
  it("admits the whole organization by aws:PrincipalOrgID (PutPermission: Principal * + org condition)", () => {
    expect(busPolicyStatements(BUS, ["111122223333"], "aws", "o-a1b2c3d4e5")).toEqual([
      {
        Sid: "OrganizationPutEvents",
        Effect: "Allow",
        Principal: "*",
        Action: ["events:PutEvents"],
        Resource: [BUS],
        Condition: { StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } },
      },
    ]);
  });

  it(`refuses an account list over EventBridge's ${BUS_POLICY_MAX_CHARS}-character policy quota`, () => {
    const accounts = (n: number) => Array.from({ length: n }, (_, i) => String(100000000000 + i));
    // 50 accounts: 1,875 characters; 33 more per account, so at most 303 accounts fit.
    expect(busPolicyDocument(BUS, accounts(50), "aws").length).toBeLessThan(2000);
    expect(() => busPolicyDocument(BUS, accounts(400), "aws")).toThrow(
      /over EventBridge's 10240: set deploy-notifier:organizationId/,
    );
    expect(busPolicyDocument(BUS, accounts(400), "aws", "o-a1b2c3d4e5").length).toBeLessThan(400);
  });
});

describe("source-access statements", () => {
  it("fold many pipelines of one account to prefixes, never to other accounts", () => {
    const { raw } = readStackConfig("prod");
    const pipelines = Array.from({ length: 300 }, (_, i) => ({
      name: `service-${String(i).padStart(3, "0")}-web-production`,
      tier: "critical",
      account: "111122223333",
    }));
    const config = parse({
      sources: [{ account: "111122223333", regions: ["eu-west-1", "us-east-2"] }],
      pipelines: [...(raw.pipelines as unknown[]), ...pipelines],
    });
    const st = sourceAccessStatements(
      "aws",
      "111122223333",
      ["eu-west-1", "us-east-2"],
      (r) => configAt(config.runtime, "111122223333", r).pipelines,
    );
    const arns = st.flatMap((s) => s.Resource ?? []);
    expect(JSON.stringify(st).length).toBeLessThan(10_240);
    expect(
      arns.every((a) => /^arn:aws:codepipeline:(eu-west-1|us-east-2):111122223333:/.test(a)),
    ).toBe(true);
    expect(arns.some((a) => a.endsWith("*") && !a.endsWith("/*"))).toBe(true);
  });
});

describe("policy pack on the new resources", () => {
  const { eventBusNotPublic, noUnusedGrants } = jest.requireActual("../../policy/policies");
  const run = (policy: any, type: string, name: string, props: any, parent?: string) => {
    const out: string[] = [];
    policy.validateResource(
      { type, name, props, urn: `urn:x::${name}`, opts: { parent } } as any,
      (m: string) => out.push(m),
    );
    return out;
  };
  const busPolicy = "aws:cloudwatch/eventBusPolicy:EventBusPolicy";
  const rolePolicy = "aws:iam/rolePolicy:RolePolicy";
  const parentOf = (type: string, name: string) =>
    `urn:pulumi:prod::deploy-notifier::deploy-notifier:infra:${type}::${name}`;

  it("event-bus-not-public: passes named accounts and an organization, fails Principal * alone", () => {
    const accounts = busPolicyDocument(BUS, ["111122223333"], "aws");
    const org = busPolicyDocument(BUS, ["111122223333"], "aws", "o-a1b2c3d4e5");
    const open = JSON.stringify({
      Statement: [
        { Sid: "Open", Effect: "Allow", Principal: "*", Action: "events:PutEvents", Resource: BUS },
      ],
    });
    expect(run(eventBusNotPublic, busPolicy, "central-bus-policy", { policy: accounts })).toEqual(
      [],
    );
    expect(run(eventBusNotPublic, busPolicy, "central-bus-policy", { policy: org })).toEqual([]);
    expect(run(eventBusNotPublic, busPolicy, "central-bus-policy", { policy: open })).toEqual([
      'event-bus-not-public: EventBusPolicy "central-bus-policy": statement Open lets any AWS account put events (add an aws:PrincipalOrgID condition or name the accounts)',
    ]);
  });

  it("iam-no-unused-grants: a forwarding role may only PutEvents, a source-access role only CodePipeline", () => {
    const doc = (actions: string[]) =>
      JSON.stringify({
        Statement: [{ Sid: "S", Effect: "Allow", Action: actions, Resource: ["x"] }],
      });
    const fwd = parentOf("CodePipelineForwarding", "source-111122223333-eu-west-1");
    const access = parentOf("SourceAccess", "source-access-111122223333");
    expect(
      run(noUnusedGrants, rolePolicy, "a", { policy: doc(["events:PutEvents"]) }, fwd),
    ).toEqual([]);
    expect(run(noUnusedGrants, rolePolicy, "a", { policy: doc(["sqs:SendMessage"]) }, fwd)).toEqual(
      [
        expect.stringContaining(
          "grants sqs:SendMessage, which a CodePipelineForwarding role never calls",
        ),
      ],
    );
    const cp = ["codepipeline:GetPipelineState", "codepipeline:PutApprovalResult"];
    expect(run(noUnusedGrants, rolePolicy, "b", { policy: doc(cp) }, access)).toEqual([]);
    expect(
      run(
        noUnusedGrants,
        rolePolicy,
        "b",
        { policy: doc(["codepipeline:DeletePipeline"]) },
        access,
      ),
    ).toEqual([expect.stringContaining("grants codepipeline:DeletePipeline")]);
  });
});
