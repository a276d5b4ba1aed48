/**
 * Every resource of the deploy-notifier, declared from a validated `StackConfig`.
 *
 * Flow: CodePipeline → EventBridge rule → SQS events queue → fan-out Lambda → channels; failures
 * are redelivered by SQS (3 retries) and then parked in the DLQ, whose depth alarms the ops
 * topic. Slack button clicks reach the approval Lambda through its function URL.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { ENV } from "../handlers/types";
import { AUDIT_TABLE_SCHEMA, EXECUTION_INDEX } from "../handlers/audit";
import { buildRulePattern, pipelineArns } from "./patterns";
import { policyDocument, type Statement } from "./policies";

/** A Lambda handler as CallbackFunction takes it. */
export type HandlerFactory = () => (event: any, context: any) => Promise<unknown>;

/** What the program needs besides config: the handler factories and archive options. */
export interface NotifierArgs {
  config: StackConfig;
  fanout: HandlerFactory;
  approval: HandlerFactory;
  /** Packages to keep out of the archives (provided by the runtime, or deploy-time only). */
  excludePackages: string[];
}

/** Timeouts and sizes, with the reason for each. */
export const SETTINGS = {
  runtime: "nodejs22.x" as aws.lambda.Runtime,
  /** The fan-out delivers to every channel concurrently; 5 s per HTTP call, 3 attempts. */
  fanoutTimeoutSeconds: 60,
  /** Acknowledges Slack in < 3 s; the slow CodePipeline part runs in an async self-invocation. */
  approvalTimeoutSeconds: 30,
  memoryMb: 256,
  /** 1 delivery + 3 retries, then the DLQ (REFERENCE.md: Lambda). */
  maxReceiveCount: 4,
  /** Lambda developer guide: visibility timeout ≥ 6 × function timeout for SQS sources. */
  visibilityTimeoutSeconds: 6 * 60,
  batchSize: 10,
  /** Slack allows about 1 message per second per channel: keep concurrency low. */
  maxConcurrency: 5,
  /** EventBridge → SQS retries before the event goes to the DLQ. */
  targetMaxRetries: 185,
  targetMaxEventAgeSeconds: 86400,
  dlqRetentionSeconds: 14 * 86400,
  queueRetentionSeconds: 4 * 86400,
} as const;

/** What `declareNotifier` returns. */
export type Notifier = ReturnType<typeof declareNotifier>;

const declared: { last?: Notifier } = {};

/** The notifier the program declared last (for the offline evaluator and its tests). */
export function lastNotifier(): Notifier | undefined {
  return declared.last;
}

/**
 * Declares the whole system and returns the stack outputs (none of them secret) and the
 * resources tests and tools need.
 */
export function declareNotifier(args: NotifierArgs) {
  const { config } = args;
  const rt = config.runtime;
  const prefix = `${rt.project}-${rt.stack}`;
  const tags = { project: rt.project, stack: rt.stack, "managed-by": "pulumi", ...config.tags };
  const region = aws.getRegionOutput().name;
  const account = aws.getCallerIdentityOutput().accountId;
  const partition = aws.getPartitionOutput().partition;

  // --- Queues -------------------------------------------------------------------------------
  const dlq = new aws.sqs.Queue("dlq", {
    messageRetentionSeconds: SETTINGS.dlqRetentionSeconds,
    sqsManagedSseEnabled: true,
    tags,
  });
  const events = new aws.sqs.Queue("events", {
    visibilityTimeoutSeconds: SETTINGS.visibilityTimeoutSeconds,
    messageRetentionSeconds: SETTINGS.queueRetentionSeconds,
    sqsManagedSseEnabled: true,
    redrivePolicy: dlq.arn.apply((arn) =>
      JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: SETTINGS.maxReceiveCount }),
    ),
    tags,
  });

  // --- EventBridge --------------------------------------------------------------------------
  const rulePattern = buildRulePattern(rt);
  const rule = new aws.cloudwatch.EventRule("codepipeline", {
    description: `deploy-notifier ${rt.stack}: CodePipeline events that notify`,
    eventPattern: rulePattern.pattern,
    tags,
  });
  new aws.cloudwatch.EventTarget("codepipeline-to-queue", {
    rule: rule.name,
    arn: events.arn,
    retryPolicy: {
      maximumRetryAttempts: SETTINGS.targetMaxRetries,
      maximumEventAgeInSeconds: SETTINGS.targetMaxEventAgeSeconds,
    },
    deadLetterConfig: { arn: dlq.arn },
  });
  // EventBridge may send to the events queue, and to the DLQ when it cannot — from this rule only.
  for (const [name, queue] of [
    ["events", events],
    ["dlq", dlq],
  ] as const) {
    new aws.sqs.QueuePolicy(`${name}-from-eventbridge`, {
      queueUrl: queue.url,
      policy: pulumi.all([queue.arn, rule.arn]).apply(([queueArn, ruleArn]) =>
        policyDocument([
          {
            Sid: "EventBridgeRule",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: ["sqs:SendMessage"],
            Resource: [queueArn],
            Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
          },
        ]),
      ),
    });
  }

  // --- Audit trail and ledger ---------------------------------------------------------------
  const schema = AUDIT_TABLE_SCHEMA;
  const table = new aws.dynamodb.Table("audit", {
    billingMode: "PAY_PER_REQUEST",
    hashKey: schema.hashKey,
    rangeKey: schema.rangeKey,
    attributes: [schema.hashKey, schema.rangeKey, schema.index.hashKey, schema.index.rangeKey].map(
      (name) => ({ name, type: "S" }),
    ),
    globalSecondaryIndexes: [
      {
        name: schema.index.name,
        hashKey: schema.index.hashKey,
        rangeKey: schema.index.rangeKey,
        projectionType: "ALL",
      },
    ],
    ttl: { attributeName: schema.ttlAttribute, enabled: true },
    pointInTimeRecovery: { enabled: true },
    serverSideEncryption: { enabled: true },
    deletionProtectionEnabled: true,
    tags,
  });

  // --- Secrets: config secrets live only here; Lambdas get the ARN -------------------------
  const channelSecret = new aws.secretsmanager.Secret("channel-secrets", {
    description: `deploy-notifier ${rt.stack}: channel webhook URLs and keys`,
    recoveryWindowInDays: 7,
    tags,
  });
  new aws.secretsmanager.SecretVersion("channel-secrets", {
    secretId: channelSecret.id,
    secretString: pulumi.secret(JSON.stringify(config.channelSecrets)),
  });
  const slackAppSecret = new aws.secretsmanager.Secret("slack-app", {
    description: `deploy-notifier ${rt.stack}: Slack app signing secret and bot token`,
    recoveryWindowInDays: 7,
    tags,
  });
  new aws.secretsmanager.SecretVersion("slack-app", {
    secretId: slackAppSecret.id,
    secretString: pulumi.secret(JSON.stringify(config.slackApp ?? {})),
  });

  // --- SNS: SMS and email channels, and the ops topic --------------------------------------
  const channelTopics: Record<string, aws.sns.Topic> = {};
  for (const [name, channel] of Object.entries(rt.channels)) {
    if (channel.type !== "sms" && channel.type !== "email") continue;
    const topic = new aws.sns.Topic(`channel-${name}`, { tags });
    channelTopics[name] = topic;
    const endpoints = channel.type === "sms" ? channel.phoneNumbers : channel.addresses;
    endpoints.forEach((endpoint, i) => {
      new aws.sns.TopicSubscription(`channel-${name}-${i}`, {
        topic: topic.arn,
        protocol: channel.type,
        endpoint,
      });
    });
  }
  const opsTopic = new aws.sns.Topic("ops", { tags });
  new aws.sns.TopicSubscription("ops-email", {
    topic: opsTopic.arn,
    protocol: "email",
    endpoint: config.opsEmail,
  });
  new aws.sns.TopicPolicy("ops-from-cloudwatch", {
    arn: opsTopic.arn,
    policy: pulumi.all([opsTopic.arn, account]).apply(([arn, accountId]) =>
      policyDocument([
        {
          Sid: "CloudWatchAlarms",
          Effect: "Allow",
          Principal: { Service: "cloudwatch.amazonaws.com" },
          Action: ["sns:Publish"],
          Resource: [arn],
          Condition: { StringEquals: { "AWS:SourceAccount": accountId } },
        },
      ]),
    ),
  });

  // --- Lambda functions -----------------------------------------------------------------------
  const fanoutName = `${prefix}-fanout`;
  const approvalName = `${prefix}-approval`;
  const logGroup = (name: string, fn: string) =>
    new aws.cloudwatch.LogGroup(name, {
      name: `/aws/lambda/${fn}`,
      retentionInDays: config.logRetentionDays,
      tags,
    });
  const fanoutLogs = logGroup("fanout-logs", fanoutName);
  const approvalLogs = logGroup("approval-logs", approvalName);

  const lambdaRole = (name: string) =>
    new aws.iam.Role(name, {
      assumeRolePolicy: policyDocument([
        {
          Effect: "Allow",
          Principal: { Service: "lambda.amazonaws.com" },
          Action: ["sts:AssumeRole"],
        },
      ]),
      tags,
    });
  const fanoutRole = lambdaRole("fanout-role");
  const approvalRole = lambdaRole("approval-role");
  const arnPrefix = pulumi.interpolate`arn:${partition}:codepipeline:${region}:${account}:`;
  const logsStatement = (arn: pulumi.Output<string>) =>
    arn.apply((a): Statement => ({
      Sid: "Logs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: [`${a}:*`],
    }));

  /** Inline policy size budget left for pipeline ARNs (IAM: 10,240 chars per role). */
  const PIPELINE_ARN_BUDGET = 6000;
  const fanoutPipelineArns = arnPrefix.apply((p) =>
    pipelineArns(rt.pipelines, p, PIPELINE_ARN_BUDGET),
  );
  const topicArns = pulumi.all(Object.values(channelTopics).map((t) => t.arn));
  new aws.iam.RolePolicy("fanout-policy", {
    role: fanoutRole.id,
    policy: pulumi
      .all([
        logsStatement(fanoutLogs.arn),
        events.arn,
        dlq.arn,
        table.arn,
        channelSecret.arn,
        topicArns,
        fanoutPipelineArns,
      ])
      .apply(([logs, queueArn, dlqArn, tableArn, secretArn, topics, pipelines]) =>
        policyDocument([
          logs,
          {
            Sid: "ConsumeEvents",
            Effect: "Allow",
            Action: [
              "sqs:ReceiveMessage",
              "sqs:DeleteMessage",
              "sqs:GetQueueAttributes",
              "sqs:ChangeMessageVisibility",
            ],
            Resource: [queueArn],
          },
          {
            Sid: "DeadLetterWithReasons",
            Effect: "Allow",
            Action: ["sqs:SendMessage"],
            Resource: [dlqArn],
          },
          {
            Sid: "LedgerAndAudit",
            Effect: "Allow",
            Action: [
              "dynamodb:GetItem",
              "dynamodb:PutItem",
              "dynamodb:UpdateItem",
              "dynamodb:DeleteItem",
              "dynamodb:Query",
            ],
            Resource: [tableArn, `${tableArn}/index/${EXECUTION_INDEX}`],
          },
          {
            Sid: "ChannelSecrets",
            Effect: "Allow",
            Action: ["secretsmanager:GetSecretValue"],
            Resource: [secretArn],
          },
          ...(topics.length > 0
            ? [
                {
                  Sid: "SmsAndEmail",
                  Effect: "Allow" as const,
                  Action: ["sns:Publish"],
                  Resource: topics,
                },
              ]
            : []),
          {
            Sid: "Enrichment",
            Effect: "Allow",
            Action: [
              "codepipeline:GetPipeline",
              "codepipeline:GetPipelineExecution",
              "codepipeline:ListActionExecutions",
            ],
            Resource: pipelines.arns,
          },
        ]),
      ),
  });

  const approvalRules = rt.pipelines.filter((p) => p.approvals);
  const approvalPipelineArns = arnPrefix.apply((p) =>
    pipelineArns(approvalRules, p, PIPELINE_ARN_BUDGET),
  );

  const fanout = new aws.lambda.CallbackFunction("fanout", {
    name: fanoutName,
    description: "deploy-notifier: CodePipeline events → channels",
    callbackFactory: args.fanout,
    role: fanoutRole.arn,
    runtime: SETTINGS.runtime,
    architectures: ["arm64"],
    memorySize: SETTINGS.memoryMb,
    timeout: SETTINGS.fanoutTimeoutSeconds,
    loggingConfig: { logFormat: "JSON", logGroup: fanoutLogs.name },
    environment: {
      variables: {
        [ENV.table]: table.name,
        [ENV.channelSecretsArn]: channelSecret.arn,
        [ENV.deadLetterQueueUrl]: dlq.url,
        [ENV.maxReceiveCount]: String(SETTINGS.maxReceiveCount),
        [ENV.channelTopics]: pulumi
          .all(Object.entries(channelTopics).map(([n, t]) => t.arn.apply((a) => [n, a] as const)))
          .apply((pairs) => JSON.stringify(Object.fromEntries(pairs))),
      },
    },
    codePathOptions: { extraExcludePackages: [...args.excludePackages] },
    tags,
  });

  const approval = new aws.lambda.CallbackFunction("approval", {
    name: approvalName,
    description: "deploy-notifier: Slack approval clicks → CodePipeline",
    callbackFactory: args.approval,
    role: approvalRole.arn,
    runtime: SETTINGS.runtime,
    architectures: ["arm64"],
    memorySize: SETTINGS.memoryMb,
    timeout: SETTINGS.approvalTimeoutSeconds,
    loggingConfig: { logFormat: "JSON", logGroup: approvalLogs.name },
    environment: {
      variables: {
        [ENV.table]: table.name,
        [ENV.slackAppSecretArn]: slackAppSecret.arn,
      },
    },
    codePathOptions: { extraExcludePackages: [...args.excludePackages] },
    tags,
  });

  // The async self-invocation does the CodePipeline work exactly once: a retry after a timeout
  // would find the approval completed and overwrite the success message in Slack.
  new aws.lambda.FunctionEventInvokeConfig("approval-async", {
    functionName: approval.name,
    maximumRetryAttempts: 0,
    maximumEventAgeInSeconds: 300,
  });

  new aws.iam.RolePolicy("approval-policy", {
    role: approvalRole.id,
    policy: pulumi
      .all([
        logsStatement(approvalLogs.arn),
        table.arn,
        slackAppSecret.arn,
        approvalPipelineArns,
        approval.arn,
      ])
      .apply(([logs, tableArn, secretArn, pipelines, fnArn]) =>
        policyDocument([
          logs,
          {
            Sid: "DecisionsAndAudit",
            Effect: "Allow",
            Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
            Resource: [tableArn],
          },
          {
            Sid: "SlackAppSecret",
            Effect: "Allow",
            Action: ["secretsmanager:GetSecretValue"],
            Resource: [secretArn],
          },
          ...(approvalRules.length > 0
            ? [
                {
                  Sid: "Approvals",
                  Effect: "Allow" as const,
                  Action: ["codepipeline:GetPipelineState", "codepipeline:PutApprovalResult"],
                  Resource: pipelines.arns,
                },
              ]
            : []),
          {
            Sid: "AsyncSelfInvoke",
            Effect: "Allow",
            Action: ["lambda:InvokeFunction"],
            Resource: [fnArn],
          },
        ]),
      ),
  });

  new aws.lambda.EventSourceMapping("fanout-from-queue", {
    eventSourceArn: events.arn,
    functionName: fanout.arn,
    batchSize: SETTINGS.batchSize,
    maximumBatchingWindowInSeconds: 1,
    functionResponseTypes: ["ReportBatchItemFailures"],
    scalingConfig: { maximumConcurrency: SETTINGS.maxConcurrency },
    tags,
  });

  // Slack cannot sign requests with SigV4: the function verifies Slack's own signature.
  const approvalUrl = new aws.lambda.FunctionUrl("approval-url", {
    functionName: approval.name,
    authorizationType: "NONE",
  });

  // --- Alarms: the "watch process" for the notifier itself ------------------------------------
  const alarm = (
    name: string,
    description: string,
    metric: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "tags">,
  ) =>
    new aws.cloudwatch.MetricAlarm(name, {
      alarmDescription: description,
      alarmActions: [opsTopic.arn],
      okActions: [opsTopic.arn],
      treatMissingData: "notBreaching",
      tags,
      ...metric,
    });
  alarm("dlq-depth", "deploy-notifier: notifications are in the dead-letter queue", {
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: dlq.name },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
  });
  alarm("events-age", "deploy-notifier: events wait in the queue for over 10 minutes", {
    namespace: "AWS/SQS",
    metricName: "ApproximateAgeOfOldestMessage",
    dimensions: { QueueName: events.name },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 5,
    threshold: 600,
    comparisonOperator: "GreaterThanThreshold",
  });
  for (const [name, fn] of [
    ["fanout", fanout],
    ["approval", approval],
  ] as const) {
    alarm(`${name}-errors`, `deploy-notifier: the ${name} Lambda is failing`, {
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: fn.name },
      statistic: "Sum",
      period: 60,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
  }

  const notifier = {
    rulePattern,
    functions: { fanout, approval },
    outputs: {
      slackInteractivityUrl: approvalUrl.functionUrl,
      auditTableName: table.name,
      eventsQueueUrl: events.url,
      deadLetterQueueUrl: dlq.url,
      opsTopicArn: opsTopic.arn,
      eventRuleName: rule.name,
      fanoutFunctionName: fanout.name,
      approvalFunctionName: approval.name,
    },
  };
  declared.last = notifier;
  return notifier;
}
