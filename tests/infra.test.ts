import * as fs from "node:fs";
import * as path from "node:path";
import { readStackConfig, runProgram, type ProgramResult } from "../testing";
import { EVENT_PATTERN_MAX_CHARS } from "../infra/patterns";
import { evaluate, ofType, resource, withPipelines } from "./support/program";

const FN = "aws:lambda/function:Function";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";

const stacks: Record<string, ProgramResult> = {};

beforeAll(async () => {
  const [prod, staging] = await Promise.all([
    evaluate({ stack: "prod" }),
    evaluate({ stack: "staging" }),
  ]);
  stacks.prod = prod;
  stacks.staging = staging;
}, 120_000);

function statements(result: ProgramResult, name: string): any[] {
  return JSON.parse(resource(result, ROLE_POLICY, name).inputs.policy).Statement;
}

describe.each(["prod", "staging"])("the %s stack", (stack) => {
  it("routes CodePipeline events through the rule to the queue, with retries and a DLQ", () => {
    const result = stacks[stack];
    // By name: with approvals the stack also has the reminder scan's schedule rule and target.
    const rule = resource(result, "aws:cloudwatch/eventRule:EventRule", "codepipeline");
    const target = resource(
      result,
      "aws:cloudwatch/eventTarget:EventTarget",
      "codepipeline-to-queue",
    );
    const events = resource(result, "aws:sqs/queue:Queue", "events");
    const dlq = resource(result, "aws:sqs/queue:Queue", "dlq");

    expect(JSON.parse(rule.inputs.eventPattern).source).toEqual(["aws.codepipeline"]);
    expect(target.inputs.arn).toContain("events");
    expect(target.inputs.retryPolicy).toEqual({
      maximumRetryAttempts: 185,
      maximumEventAgeInSeconds: 86400,
    });
    expect(target.inputs.deadLetterConfig.arn).toContain(":dlq");
    // One receive more than the fan-out's last (4: 1 delivery + 3 retries), so a crash on that
    // receive still ends in the DLQ with a reason, parked by the fan-out (issue 12).
    expect(JSON.parse(events.inputs.redrivePolicy)).toEqual({
      deadLetterTargetArn: expect.stringContaining(":dlq"),
      maxReceiveCount: 5,
    });
    // …and the fan-out is told its own last receive: the queue's count minus the crash receive.
    const fanoutArchive = result.archives.find((a) => a.name === "fanout");
    expect(fanoutArchive?.environment.MAX_RECEIVE_COUNT).toBe("4");
    // Lambda developer guide: visibility timeout ≥ 6 × the function timeout.
    const fanout = resource(result, FN, "fanout");
    expect(events.inputs.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(
      6 * fanout.inputs.timeout,
    );
    expect(dlq.inputs.messageRetentionSeconds).toBe(14 * 86400);
  });

  it("lets only this stack's rules send to the queues, and refuses every other sender", () => {
    const result = stacks[stack];
    const rules = ofType(result, "aws:cloudwatch/eventRule:EventRule");
    // The CodePipeline rule, with Slack approvals the reminder scan's schedule rule, and (issue
    // 12) the heartbeat's schedule rule: the list of them (alternatives, also under ArnNotEquals).
    const byName = (name: string) => rules.find((r) => r.name === name);
    const names = ["codepipeline", "approval-reminders", "heartbeat"].filter(byName);
    expect(names).toContain("heartbeat");
    const ruleArn = names.map((n) => byName(n)?.arn);
    for (const name of ["events-from-eventbridge", "dlq-from-eventbridge"]) {
      const [allow, deny] = JSON.parse(
        resource(result, "aws:sqs/queuePolicy:QueuePolicy", name).inputs.policy,
      ).Statement;
      expect(allow).toMatchObject({
        Principal: { Service: "events.amazonaws.com" },
        Action: ["sqs:SendMessage"],
        Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
      });
      expect(deny).toMatchObject({
        Effect: "Deny",
        Principal: "*",
        Action: ["sqs:SendMessage"],
        Condition: { ArnNotEquals: { "aws:SourceArn": ruleArn } },
      });
    }
    const dlqDeny = JSON.parse(
      resource(result, "aws:sqs/queuePolicy:QueuePolicy", "dlq-from-eventbridge").inputs.policy,
    ).Statement[1];
    expect(dlqDeny.Condition.ArnNotEquals["aws:PrincipalArn"]).toContain("fanout-role");
  });

  it("encrypts every topic with the customer managed key CloudWatch may use", () => {
    const result = stacks[stack];
    const [key] = ofType(result, "aws:kms/key:Key");
    expect(key.inputs.enableKeyRotation).toBe(true);
    const cloudwatch = JSON.parse(key.inputs.policy).Statement.find(
      (s: any) => s.Principal?.Service === "cloudwatch.amazonaws.com",
    );
    expect(cloudwatch.Action).toEqual(["kms:GenerateDataKey*", "kms:Decrypt"]);
    const topics = ofType(result, "aws:sns/topic:Topic");
    expect(topics.length).toBeGreaterThan(0);
    // One customer managed key (not alias/aws/sns, which CloudWatch cannot use) for all.
    const keyArn = topics[0].inputs.kmsMasterKeyId;
    expect(keyArn).toMatch(/^arn:aws:kms:[a-z0-9-]+:\d{12}:key\//);
    for (const topic of topics) {
      expect({ topic: topic.name, key: topic.inputs.kmsMasterKeyId }).toEqual({
        topic: topic.name,
        key: keyArn,
      });
    }
    for (const queue of ofType(result, "aws:sqs/queue:Queue")) {
      expect(queue.inputs.sqsManagedSseEnabled).toBe(true);
    }
    expect(
      resource(result, "aws:dynamodb/table:Table", "audit").inputs.serverSideEncryption,
    ).toEqual({ enabled: true });
  });

  it("reserves concurrency for the public approval function and names its implicit grants", () => {
    const result = stacks[stack];
    expect(resource(result, FN, "approval").inputs.reservedConcurrentExecutions).toBe(10);
    expect(result.outputs.slackInteractivityImplicitGrants).toMatch(
      /FunctionURLAllowPublicAccess .*lambda:InvokeFunctionUrl.*FunctionURLAllowInvokeAction .*lambda:InvokeFunction /,
    );
  });

  it("consumes the queue with partial batch failure reporting", () => {
    const [mapping] = ofType(stacks[stack], "aws:lambda/eventSourceMapping:EventSourceMapping");
    expect(mapping.inputs).toMatchObject({
      functionResponseTypes: ["ReportBatchItemFailures"],
      eventSourceArn: expect.stringContaining("events"),
      functionName: expect.stringContaining("fanout"),
    });
  });

  it("declares both Lambdas with an explicit runtime, role, limits and log group", () => {
    const result = stacks[stack];
    const logGroups = ofType(result, "aws:cloudwatch/logGroup:LogGroup");
    for (const name of ["fanout", "approval"]) {
      const fn = resource(result, FN, name);
      expect(fn.inputs).toMatchObject({
        name: `deploy-notifier-${stack}-${name}`,
        runtime: "nodejs22.x",
        handler: "__index.handler",
        role: expect.stringContaining(`${name}-role`),
        memorySize: 256,
        timeout: expect.any(Number),
      });
      const group = logGroups.find(
        (g) => g.inputs.name === `/aws/lambda/deploy-notifier-${stack}-${name}`,
      );
      expect(group?.inputs.retentionInDays).toBe(stack === "prod" ? 90 : 14);
      expect(fn.inputs.loggingConfig.logGroup).toBe(group?.inputs.name);
    }
  });

  it("exposes the Slack interactivity endpoint as a stack output", () => {
    const result = stacks[stack];
    const [url] = ofType(result, "aws:lambda/functionUrl:FunctionUrl");
    expect(url.inputs).toMatchObject({
      authorizationType: "NONE",
      functionName: expect.stringContaining("approval"),
    });
    expect(result.outputs.slackInteractivityUrl).toMatch(/^https:\/\/.+lambda-url/);
  });

  it("keeps the audit trail in an on-demand table with TTL, PITR and an execution index", () => {
    const table = resource(stacks[stack], "aws:dynamodb/table:Table", "audit");
    expect(table.inputs).toMatchObject({
      billingMode: "PAY_PER_REQUEST",
      hashKey: "pk",
      rangeKey: "sk",
      ttl: { attributeName: "expiresAt", enabled: true },
      pointInTimeRecovery: { enabled: true },
      globalSecondaryIndexes: [
        { name: "byExecution", hashKey: "gsi1pk", rangeKey: "gsi1sk", projectionType: "ALL" },
      ],
    });
  });

  it("alarms the ops email on DLQ depth, Lambda errors and a stuck queue", () => {
    const result = stacks[stack];
    const [topic] = ofType(result, "aws:sns/topic:Topic").filter((t) => t.name === "ops");
    const [sub] = ofType(result, "aws:sns/topicSubscription:TopicSubscription").filter(
      (s) => s.name === "ops-email",
    );
    expect(sub.inputs).toMatchObject({
      protocol: "email",
      endpoint: expect.stringContaining("@example.com"),
    });
    const alarms = ofType(result, "aws:cloudwatch/metricAlarm:MetricAlarm");
    // Issue 12 added alarms on the product's own metrics (tests/infra/alarms.test.ts): one
    // failure alarm per configured channel, and the bookkeeping, DLQ-send, rejected-input and
    // heartbeat alarms.
    const channels = readStackConfig(stack).raw.channels as Record<string, unknown>;
    const channelAlarms = Object.keys(channels).map((c) => `channel-${c}-failed`);
    expect(alarms.map((a) => a.name).sort()).toEqual(
      [
        "approval-errors",
        "dlq-depth",
        "events-age",
        "fanout-errors",
        "bookkeeping-dynamodb",
        "bookkeeping-other",
        "bookkeeping-secretsmanager",
        "dlq-sends",
        "heartbeat",
        "rejected-inputs",
        ...channelAlarms,
      ].sort(),
    );
    const dlqAlarm = alarms.find((a) => a.name === "dlq-depth");
    expect(dlqAlarm?.inputs).toMatchObject({
      metricName: "ApproximateNumberOfMessagesVisible",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      alarmActions: [expect.stringContaining(topic.name)],
    });
  });

  it("tags every taggable resource", () => {
    const untaggable = new Set([
      "aws:cloudwatch/eventTarget:EventTarget",
      "aws:sqs/queuePolicy:QueuePolicy",
      "aws:sns/topicPolicy:TopicPolicy",
      "aws:sns/topicSubscription:TopicSubscription",
      "aws:iam/rolePolicy:RolePolicy",
      "aws:secretsmanager/secretVersion:SecretVersion",
      "aws:lambda/functionUrl:FunctionUrl",
      "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
      "aws:kms/alias:Alias",
      "pulumi:pulumi:Stack",
    ]);
    // Components (infra/component.ts) are Pulumi-only groupings, with nothing to tag in AWS.
    const taggable = stacks[stack].resources.filter(
      (r) => !untaggable.has(r.type) && !r.type.startsWith("deploy-notifier:infra:"),
    );
    expect(taggable.length).toBeGreaterThan(10);
    for (const r of taggable) {
      expect({ resource: `${r.type} ${r.name}`, tags: r.inputs.tags }).toEqual({
        resource: `${r.type} ${r.name}`,
        tags: expect.objectContaining({ project: "deploy-notifier", stack, team: "platform" }),
      });
    }
  });

  it("grants least privilege: no wildcard action, no managed policy, every statement scoped", () => {
    const result = stacks[stack];
    expect(ofType(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toEqual([]);
    expect(JSON.stringify(result.resources)).not.toMatch(/FullAccess/);
    for (const name of ["fanout-policy", "approval-policy"]) {
      for (const s of statements(result, name)) {
        for (const action of s.Action) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        expect(s.Resource.length).toBeGreaterThan(0);
        for (const arn of s.Resource) expect(arn).not.toBe("*");
      }
    }
  });
});

describe("IAM scoping", () => {
  it("allows approvals only on the pipelines configured with approvals", () => {
    const approvals = statements(stacks.prod, "approval-policy").find((s) => s.Sid === "Approvals");
    // ListActionExecutions: a run's token in PARALLEL mode (infra/grants.ts, issue 10);
    // GetPipelineExecution: why a run that can no longer be decided ended (approval/ended.ts).
    expect(approvals.Action).toEqual([
      "codepipeline:GetPipelineState",
      "codepipeline:ListActionExecutions",
      "codepipeline:GetPipelineExecution",
      "codepipeline:ListPipelineExecutions",
      "codepipeline:PutApprovalResult",
    ]);
    expect(approvals.Resource).toEqual([
      "arn:aws:codepipeline:us-east-1:123456789012:main-app-production-v3",
      "arn:aws:codepipeline:us-east-1:123456789012:main-app-production-v3/*",
    ]);
    expect(
      statements(stacks.staging, "approval-policy").find((s) => s.Sid === "Approvals"),
    ).toBeUndefined();
  });

  it("lets each function read exactly its own secret", () => {
    const fanoutSecret = statements(stacks.prod, "fanout-policy").find(
      (s) => s.Sid === "ChannelSecrets",
    );
    const approvalSecret = statements(stacks.prod, "approval-policy").find(
      (s) => s.Sid === "SlackAppSecret",
    );
    expect(fanoutSecret.Resource).toEqual([expect.stringContaining("channel-secrets")]);
    expect(approvalSecret.Resource).toEqual([expect.stringContaining("slack-app")]);
  });

  it("publishes SMS only to the channel topics", () => {
    const sns = statements(stacks.prod, "fanout-policy").find((s) => s.Sid === "SmsAndEmail");
    expect(sns.Resource).toEqual([expect.stringContaining("channel-sms-oncall")]);
    expect(
      statements(stacks.staging, "fanout-policy").find((s) => s.Sid === "SmsAndEmail"),
    ).toBeUndefined();
  });
});

describe("rule patterns", () => {
  it("selects production failures, PagerDuty resolutions and approvals for prod", () => {
    const pattern = JSON.parse(stacks.prod.rulePattern.pattern);
    expect(pattern.$or).toEqual([
      {
        "detail-type": ["CodePipeline Pipeline Execution State Change"],
        detail: {
          pipeline: ["api-gateway-prod-cluster", "main-app-production-v3"],
          state: ["FAILED", "SUCCEEDED"],
        },
      },
      {
        "detail-type": [
          "CodePipeline Stage Execution State Change",
          "CodePipeline Action Execution State Change",
        ],
        detail: {
          pipeline: ["api-gateway-prod-cluster", "main-app-production-v3"],
          state: ["FAILED"],
        },
      },
      {
        "detail-type": ["CodePipeline Action Execution State Change"],
        detail: {
          pipeline: ["main-app-production-v3"],
          state: ["ABANDONED", "FAILED", "STARTED", "SUCCEEDED"],
          type: { category: ["Approval"] },
        },
      },
    ]);
  });

  it("matches prefixes as prefixes in staging", () => {
    const pattern = JSON.parse(stacks.staging.rulePattern.pattern);
    const pipelines = pattern.$or.flatMap((b: any) => b.detail.pipeline);
    expect(pipelines).toContainEqual({ prefix: "staging-" });
    expect(pipelines).toContain("main-app-staging-v3");
  });
});

describe("scale", () => {
  it("declares the same resources for 2 and 500 pipelines, within EventBridge's pattern limit", async () => {
    const [two, many] = await Promise.all([
      evaluate({ stack: "prod", config: withPipelines("prod", 2) }),
      evaluate({ stack: "prod", config: withPipelines("prod", 500) }),
    ]);

    const census = (r: ProgramResult) => r.resources.map((x) => `${x.type} ${x.name}`).sort();
    expect(census(many)).toEqual(census(two));
    expect(two.rulePattern.pattern.length).toBeLessThanOrEqual(EVENT_PATTERN_MAX_CHARS);
    expect(many.rulePattern.pattern.length).toBeLessThanOrEqual(EVENT_PATTERN_MAX_CHARS);
    expect(
      JSON.parse(
        resource(many, "aws:cloudwatch/eventRule:EventRule", "codepipeline").inputs.eventPattern,
      ),
    ).toEqual(JSON.parse(many.rulePattern.pattern));
    // Folded, but still a filter on pipeline names, not "everything".
    expect(many.rulePattern.branches.map((b: any) => b.precision)).not.toContain("all");
    for (const name of ["fanout-policy", "approval-policy"]) {
      expect(resource(many, ROLE_POLICY, name).inputs.policy.length).toBeLessThan(10240);
    }
  }, 120_000);
});

describe("secrets", () => {
  it("never puts a secret in Lambda code, environment, plain inputs or outputs", async () => {
    const sentinel = (n: number) => `SENTINEL${n}x${"7".repeat(24)}`.slice(0, 32);
    const result = await evaluate({
      stack: "prod",
      secrets: {
        "slack-eng": { webhookUrl: `https://hooks.slack.com/services/${sentinel(1)}` },
        "slack-releases": { webhookUrl: `https://hooks.slack.com/services/${sentinel(2)}` },
        "pagerduty-oncall": { routingKey: sentinel(3) },
        slackApp: { signingSecret: sentinel(4), botToken: `xoxb-${sentinel(5)}` },
      },
    });
    const haystacks: Record<string, string> = {
      inputs: JSON.stringify(result.resources),
      outputs: JSON.stringify(result.outputs),
    };
    for (const archive of result.archives) {
      haystacks[`${archive.name} environment`] = JSON.stringify(archive.environment);
      haystacks[`${archive.name} code`] = fs.readFileSync(
        path.join(archive.dir, "__index.js"),
        "utf8",
      );
    }

    for (const n of [1, 2, 3, 4, 5]) {
      for (const [where, text] of Object.entries(haystacks)) {
        expect({ where, found: text.includes(sentinel(n)) }).toEqual({ where, found: false });
      }
    }
    // The secrets went to Secrets Manager, as secret inputs.
    const versions = ofType(result, "aws:secretsmanager/secretVersion:SecretVersion");
    expect(versions.map((v) => v.secretInputs)).toEqual([["secretString"], ["secretString"]]);
    // The Lambdas get ARNs only.
    const fanout = result.archives.find((a) => a.name === "fanout");
    expect(fanout?.environment.CHANNEL_SECRETS_ARN).toMatch(/^arn:aws:secretsmanager:/);
  }, 120_000);
});

describe("config errors", () => {
  it("fail the evaluation with every problem, as pulumi preview shows them", async () => {
    const result = await runProgram({
      stack: "prod",
      config: {
        ...withPipelines("prod", 1),
        pipelines: [{ name: "main-app-production-v3", tier: "gold" }],
        opsEmail: "nobody",
        routing: { critical: ["nope"] },
      },
    });

    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toBe(
      "3 problems in stack config:\n" +
        "  - deploy-notifier:opsEmail: must be an email address\n" +
        '  - deploy-notifier:routing.critical[0]: unknown channel "nope" (defined: slack-eng, slack-releases, pagerduty-oncall, sms-oncall)\n' +
        '  - deploy-notifier:pipelines[0].tier: unknown tier "gold" (routing defines: critical)',
    );
  }, 60_000);
});
