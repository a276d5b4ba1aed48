/**
 * The "watch process" for the notifier itself: the ops topic (emailed, and writable by CloudWatch
 * of this account only) and the alarms that notify it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, componentType, type Tags } from "./component";
import { policyDocument } from "./policies";

/** Inputs of {@link NotifierAlarms}. */
export interface NotifierAlarmsArgs {
  /** Where the ops topic sends alarms (an email subscription, confirmed by its recipient). */
  opsEmail: string;
  /** The AWS account whose CloudWatch may publish to the ops topic. */
  accountId: pulumi.Input<string>;
  /**
   * The customer managed key the ops topic is encrypted with; its policy must let
   * `cloudwatch.amazonaws.com` use it (topic-key.ts), or no alarm is ever delivered.
   */
  kmsKeyArn: pulumi.Input<string>;
  deadLetterQueueName: pulumi.Input<string>;
  eventsQueueName: pulumi.Input<string>;
  /** Lambda function name by short name ("fanout" → `<short>-errors` alarm), in alarm order. */
  functions: Record<string, pulumi.Input<string>>;
  tags: Tags;
}

type Metric = Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "tags">;

/**
 * `ops`, `ops-email`, `ops-from-cloudwatch`, and the alarms `dlq-depth` (any message in the DLQ),
 * `events-age` (the oldest event waited over 10 minutes for 5 minutes) and `<function>-errors`
 * (any Lambda error in a minute). Every alarm notifies the ops topic on alarm and on recovery.
 */
export class NotifierAlarms extends pulumi.ComponentResource {
  /** Where every alarm goes (a stack output). */
  readonly opsTopic: aws.sns.Topic;
  /** Alarm by logical name. */
  readonly alarms: Record<string, aws.cloudwatch.MetricAlarm> = {};

  constructor(name: string, args: NotifierAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("NotifierAlarms"), name, {}, opts);
    const child = childOptions(this);
    const { tags } = args;
    const opsTopic = new aws.sns.Topic("ops", { kmsMasterKeyId: args.kmsKeyArn, tags }, child);
    new aws.sns.TopicSubscription(
      "ops-email",
      { topic: opsTopic.arn, protocol: "email", endpoint: args.opsEmail },
      child,
    );
    new aws.sns.TopicPolicy(
      "ops-from-cloudwatch",
      {
        arn: opsTopic.arn,
        policy: pulumi.all([opsTopic.arn, args.accountId]).apply(([arn, accountId]) =>
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
      },
      child,
    );
    this.opsTopic = opsTopic;

    const alarm = (alarmName: string, description: string, metric: Metric) => {
      this.alarms[alarmName] = new aws.cloudwatch.MetricAlarm(
        alarmName,
        {
          alarmDescription: description,
          alarmActions: [opsTopic.arn],
          okActions: [opsTopic.arn],
          treatMissingData: "notBreaching",
          tags,
          ...metric,
        },
        child,
      );
    };
    alarm("dlq-depth", "deploy-notifier: notifications are in the dead-letter queue", {
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: args.deadLetterQueueName },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
    alarm("events-age", "deploy-notifier: events wait in the queue for over 10 minutes", {
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: args.eventsQueueName },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 5,
      threshold: 600,
      comparisonOperator: "GreaterThanThreshold",
    });
    for (const [short, functionName] of Object.entries(args.functions)) {
      alarm(`${short}-errors`, `deploy-notifier: the ${short} Lambda is failing`, {
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: functionName },
        statistic: "Sum",
        period: 60,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
      });
    }
    this.registerOutputs({ opsTopicArn: opsTopic.arn });
  }
}
