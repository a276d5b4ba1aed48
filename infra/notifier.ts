/**
 * Every resource of the deploy-notifier, declared from a validated `StackConfig`, as a composition
 * of components (one file each in infra/).
 *
 * Flow: CodePipeline → EventBridge rule → SQS events queue → fan-out Lambda → channels; failures
 * are redelivered by SQS (3 retries) and then parked in the DLQ, whose depth alarms the ops
 * topic. Slack button clicks reach the approval Lambda through its function URL.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { ENV } from "../handlers/types";
import { archiveIncludes } from "./archives";
import { NotifierAlarms } from "./alarms";
import { ChannelTopics } from "./channel-topics";
import { EventIntake } from "./event-intake";
import { approvalStatements, awsAccount, fanoutStatements, type AwsAccount } from "./grants";
import { NotifierFunction, type HandlerFactory } from "./notifier-function";
import { buildRulePattern } from "./patterns";
import { NotifierSecrets } from "./secrets";
import { SETTINGS } from "./settings";
import { StateTable } from "./state-table";
import { declareCentralBus, declareSources, sourceWiring, type SourceWiring } from "./sources";
import { TopicKey } from "./topic-key";

export type { HandlerFactory } from "./notifier-function";
export { SETTINGS } from "./settings";

/** What the program needs besides config: the handler factories and archive options. */
export interface NotifierArgs {
  config: StackConfig;
  fanout: HandlerFactory;
  approval: HandlerFactory;
  /** Packages to keep out of the archives (provided by the runtime, or deploy-time only). */
  excludePackages: string[];
}

/**
 * The grants @pulumi/aws adds, undeclared, when it creates a function URL with
 * `authorizationType: "NONE"` (lambda/functionUrl.d.ts): statements `FunctionURLAllowPublicAccess`
 * (`lambda:InvokeFunctionUrl` to `*`, `lambda:FunctionUrlAuthType` = NONE) and
 * `FunctionURLAllowInvokeAction` (`lambda:InvokeFunction` to `*`, `lambda:InvokedViaFunctionUrl`
 * = true; terraform-provider-aws pull request 44858). They are not declared as
 * `aws.lambda.Permission`: the provider adds them with those statement ids on create, so a
 * Permission with the same id fails with ResourceConflictException (terraform-provider-aws issue
 * 24152), and one with another id would be a duplicate whose removal revokes nothing. They stay
 * on the function after `pulumi destroy` of the URL. A stack output, so that the preview shows it.
 */
export const IMPLICIT_URL_GRANTS =
  "added by @pulumi/aws, not declared, not removed on destroy: " +
  "FunctionURLAllowPublicAccess (lambda:InvokeFunctionUrl to *, FunctionUrlAuthType NONE), " +
  "FunctionURLAllowInvokeAction (lambda:InvokeFunction to *, InvokedViaFunctionUrl true)";

/** What `declareNotifier` returns. */
export type Notifier = ReturnType<typeof declareNotifier>;

const declared: { last?: Notifier } = {};

/** The notifier the program declared last (for the offline evaluator and its tests). */
export function lastNotifier(): Notifier | undefined {
  return declared.last;
}

/** What both functions are wired to, declared before them. */
interface Wiring {
  args: NotifierArgs;
  /** `<project>-<stack>`, the prefix of the functions' physical names. */
  prefix: string;
  tags: Record<string, string>;
  account: AwsAccount;
  intake: EventIntake;
  table: aws.dynamodb.Table;
  secrets: NotifierSecrets;
  topics: ChannelTopics;
  /** The customer managed key of every SNS topic (topic-key.ts). */
  topicKey: TopicKey;
  /** Source-access roles by account (issue 14); `undefined` for a single-account stack. */
  sources?: SourceWiring;
}

/**
 * `HOME_ACCOUNT` and `SOURCE_ROLES` (issue 14), only with source accounts: a single-account
 * stack's functions keep the environment they had.
 */
function sourceEnvironment(w: Wiring): Record<string, pulumi.Input<string>> {
  if (!w.sources) return {};
  return {
    [ENV.homeAccount]: w.account.accountId,
    [ENV.sourceRoles]: JSON.stringify(w.sources.roles),
  };
}

/** The source-access role ARNs both functions may assume (none without sources). */
function sourceRoleArns(w: Wiring): string[] {
  return Object.values(w.sources?.roles ?? {});
}

/** The fan-out: consumes the events queue and delivers to the channels. */
function fanoutFunction(w: Wiring): NotifierFunction {
  const { intake, secrets, table } = w;
  return new NotifierFunction("fanout", {
    functionName: `${w.prefix}-fanout`,
    description: "deploy-notifier: CodePipeline events → channels",
    callbackFactory: w.args.fanout,
    timeoutSeconds: SETTINGS.fanoutTimeoutSeconds,
    logRetentionDays: w.args.config.logRetentionDays,
    excludePackages: w.args.excludePackages,
    // Downtime windows: handlers/downtime.ts requires croner (handlers/README.md).
    includePaths: archiveIncludes(["croner"]),
    tags: w.tags,
    environment: {
      [ENV.table]: table.name,
      [ENV.channelSecretsArn]: secrets.channelSecrets.arn,
      [ENV.deadLetterQueueUrl]: intake.deadLetterQueue.url,
      [ENV.eventsQueueUrl]: intake.queue.url,
      [ENV.maxReceiveCount]: String(SETTINGS.fanoutLastReceive),
      [ENV.channelTopics]: w.topics.arnsByChannel,
      ...sourceEnvironment(w),
    },
    statements: () =>
      fanoutStatements({
        queueArn: intake.queue.arn,
        deadLetterQueueArn: intake.deadLetterQueue.arn,
        tableArn: table.arn,
        channelSecretsArn: secrets.channelSecrets.arn,
        topicArns: w.topics.arns,
        topicKeyArn: w.topicKey.key.arn,
        codePipelineArnPrefix: w.account.codePipelineArnPrefix,
        pipelines: w.args.config.runtime.pipelines,
        sourceRoleArns: sourceRoleArns(w),
      }),
    queueTrigger: {
      queueArn: intake.queue.arn,
      batchSize: SETTINGS.batchSize,
      maximumConcurrency: SETTINGS.maxConcurrency,
    },
  });
}

/** The approval Lambda: Slack's interactivity endpoint (a public URL) → CodePipeline. */
function approvalFunction(w: Wiring): NotifierFunction {
  return new NotifierFunction("approval", {
    functionName: `${w.prefix}-approval`,
    description: "deploy-notifier: Slack approval clicks → CodePipeline",
    callbackFactory: w.args.approval,
    timeoutSeconds: SETTINGS.approvalTimeoutSeconds,
    logRetentionDays: w.args.config.logRetentionDays,
    excludePackages: w.args.excludePackages,
    tags: w.tags,
    environment: {
      [ENV.table]: w.table.name,
      [ENV.slackAppSecretArn]: w.secrets.slackApp.arn,
      ...sourceEnvironment(w),
    },
    statements: (functionArn) =>
      approvalStatements({
        tableArn: w.table.arn,
        slackAppSecretArn: w.secrets.slackApp.arn,
        codePipelineArnPrefix: w.account.codePipelineArnPrefix,
        pipelines: w.args.config.runtime.pipelines,
        functionArn,
        sourceRoleArns: sourceRoleArns(w),
      }),
    reservedConcurrency: SETTINGS.approvalReservedConcurrency,
    publicUrl: true,
    // The async self-invocation does the CodePipeline work exactly once: a retry after a timeout
    // would find the approval completed and overwrite the success message in Slack.
    asyncInvoke: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 300 },
  });
}

/**
 * Declares the whole system and returns the stack outputs (none of them secret) and the
 * resources tests and tools need.
 */
export function declareNotifier(args: NotifierArgs) {
  const { config } = args;
  const rt = config.runtime;
  const tags = { project: rt.project, stack: rt.stack, "managed-by": "pulumi", ...config.tags };
  const rulePattern = buildRulePattern(rt);
  const account = awsAccount();
  const multi = config.sources.length > 0;
  const centralBus = multi ? declareCentralBus(config, account.partition, tags) : undefined;
  const intake = new EventIntake("intake", {
    eventPattern: rulePattern.pattern,
    description: `deploy-notifier ${rt.stack}: CodePipeline events that notify`,
    ...(rt.pipelines.some((p) => p.approvals) && {
      reminderScanMinutes: SETTINGS.reminderScanMinutes,
    }),
    heartbeatMinutes: SETTINGS.heartbeatMinutes,
    ...(centralBus && { centralBusName: centralBus.bus.name }),
    tags,
  });
  const topicKey = new TopicKey("keys", {
    accountId: account.accountId,
    partition: account.partition,
    aliasName: `${rt.project}-${rt.stack}-topics`,
    tags,
  });
  const wiring: Wiring = {
    args,
    prefix: `${rt.project}-${rt.stack}`,
    tags,
    account,
    intake,
    table: new StateTable("state", { tags }).table,
    secrets: new NotifierSecrets("secrets", {
      stack: rt.stack,
      channelSecrets: config.channelSecrets,
      slackApp: config.slackApp ?? {},
      tags,
    }),
    topics: new ChannelTopics("channels", {
      channels: rt.channels,
      kmsKeyArn: topicKey.key.arn,
      tags,
    }),
    topicKey,
    ...(multi && { sources: sourceWiring(config) }),
  };
  const fanout = fanoutFunction(wiring);
  const approval = approvalFunction(wiring);
  const sources = centralBus
    ? declareSources({
        config,
        centralBusArn: centralBus.bus.arn,
        trustedRoleArns: [fanout.role.arn, approval.role.arn],
        home: { account: account.accountId, region: aws.getRegionOutput().name },
        tags,
      })
    : undefined;
  intake.admitDeadLetterWriter(fanout.role.arn);
  const alarms = new NotifierAlarms("alarms", {
    opsEmail: config.opsEmail,
    accountId: wiring.account.accountId,
    kmsKeyArn: topicKey.key.arn,
    deadLetterQueueName: intake.deadLetterQueue.name,
    eventsQueueName: intake.queue.name,
    functions: { fanout: fanout.function.name, approval: approval.function.name },
    channels: Object.keys(rt.channels),
    heartbeatMinutes: SETTINGS.heartbeatMinutes,
    heartbeatMissedPeriods: SETTINGS.heartbeatMissedPeriods,
    tags,
  });

  const notifier = {
    rulePattern,
    centralBus,
    sources,
    functions: { fanout: fanout.function, approval: approval.function },
    outputs: {
      slackInteractivityUrl: approval.url!.functionUrl,
      slackInteractivityImplicitGrants: IMPLICIT_URL_GRANTS,
      auditTableName: wiring.table.name,
      eventsQueueUrl: intake.queue.url,
      deadLetterQueueUrl: intake.deadLetterQueue.url,
      opsTopicArn: alarms.opsTopic.arn,
      eventRuleName: intake.rule.name,
      fanoutFunctionName: fanout.function.name,
      approvalFunctionName: approval.function.name,
    },
  };
  declared.last = notifier;
  return notifier;
}
