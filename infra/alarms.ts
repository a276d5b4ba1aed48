/**
 * The "watch process" for the notifier itself: the ops topic (emailed, and writable by CloudWatch
 * of this account only) and the alarms that notify it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  DIMENSION,
  FAILING_SERVICES,
  FANOUT_DIMENSIONS,
  METRIC,
  METRICS_NAMESPACE,
} from "../handlers/contracts/metrics";
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
  /**
   * The configured channel instances' names (`channels[].name`): one `channel-<name>-failed`
   * alarm each, on the `Failed` metric with that `Channel` dimension. Absent: none.
   */
  channels?: string[];
  /** Minutes between heartbeats (infra/event-intake.ts); absent: no heartbeat alarm. */
  heartbeatMinutes?: number;
  /** Heartbeat periods without one before the heartbeat alarm fires (default 3). */
  heartbeatMissedPeriods?: number;
  tags: Tags;
}

/**
 * How the alarms on the product's own metrics decide, and why.
 *
 * A failure alarm fires when failures were counted in {@link FAILURES.datapoints} of the last
 * {@link FAILURES.minutes} one-minute periods. One `Failed` already means a delivery failed
 * after the driver's own retries (3 attempts with backoff); a single one is often a blip the
 * redelivery fixes. A second failing minute within 10 is either another event failing or the
 * same event failing again after the events queue's 6-minute visibility timeout: the channel is
 * down. 10 minutes is the shortest window that holds a redelivery (6 min) with CloudWatch's
 * ingestion delay of EMF metrics (a minute or two) to spare.
 */
export const FAILURES = { minutes: 10, datapoints: 2 } as const;

type Metric = Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "tags">;

/**
 * `ops`, `ops-email`, `ops-from-cloudwatch`, and the alarms `dlq-depth` (any message in the DLQ),
 * `events-age` (the oldest event waited over 10 minutes for 5 minutes), `<function>-errors`
 * (any Lambda error in a minute), and on the product's own metrics: `channel-<name>-failed`,
 * `bookkeeping-<service>`, `dlq-sends`, `rejected-inputs` and `heartbeat` (see
 * {@link FAILURES}). Every alarm notifies the ops topic on alarm and on recovery.
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

    const alarm = (
      alarmName: string,
      description: string,
      metric: Metric,
      options: pulumi.CustomResourceOptions = child,
    ) => {
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
        options,
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
    // New with issue 12: never declared at the stack's top, so nothing to alias.
    const fresh: pulumi.CustomResourceOptions = { parent: this };
    this.productAlarms(args, (name, description, metric) =>
      alarm(name, description, metric, fresh),
    );
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

  /**
   * Alarms on the fan-out's EMF metrics (handlers/contracts/metrics.ts), which see what the
   * Lambda `Errors` alarms cannot: the fan-out catches every failure and reports partial batch
   * failures, so the function itself never errors.
   */
  private productAlarms(
    args: NotifierAlarmsArgs,
    alarm: (name: string, description: string, metric: Metric) => void,
  ): void {
    const own = { namespace: METRICS_NAMESPACE, statistic: "Sum", period: 60 };
    const repeated = {
      ...own,
      evaluationPeriods: FAILURES.minutes,
      datapointsToAlarm: FAILURES.datapoints,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
    };
    for (const channel of args.channels ?? []) {
      alarm(
        `channel-${channel}-failed`,
        `deploy-notifier: deliveries to ${channel} fail (failures in 2 minutes of the last 10)`,
        { ...repeated, metricName: METRIC.failed, dimensions: { [DIMENSION.channel]: channel } },
      );
    }
    for (const [key, service] of Object.entries(FAILING_SERVICES)) {
      alarm(
        `bookkeeping-${key.toLowerCase()}`,
        `deploy-notifier: records fail on ${service} (failures in 2 minutes of the last 10)`,
        {
          ...repeated,
          metricName: METRIC.bookkeepingFailed,
          dimensions: { [DIMENSION.service]: service },
        },
      );
    }
    // Every DLQ send and every rejected input is a notification nobody received: the first pages.
    const once = { ...own, evaluationPeriods: 1, threshold: 1 };
    alarm("dlq-sends", "deploy-notifier: the fan-out parked a notification in the DLQ", {
      ...once,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      metricName: METRIC.deadLettered,
      dimensions: { ...FANOUT_DIMENSIONS },
    });
    alarm("rejected-inputs", "deploy-notifier: events were rejected as unusable", {
      ...once,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      metricName: METRIC.rejected,
      dimensions: { ...FANOUT_DIMENSIONS },
    });
    if (args.heartbeatMinutes !== undefined) {
      const missed = args.heartbeatMissedPeriods ?? 3;
      alarm(
        "heartbeat",
        `deploy-notifier: no heartbeat for ${missed * args.heartbeatMinutes} minutes (rule → queue → fan-out broken)`,
        {
          ...own,
          period: args.heartbeatMinutes * 60,
          evaluationPeriods: missed,
          datapointsToAlarm: missed,
          threshold: 1,
          comparisonOperator: "LessThanThreshold",
          metricName: METRIC.heartbeat,
          dimensions: { ...FANOUT_DIMENSIONS },
          // No data is exactly what a stopped heartbeat looks like: missing data points count as
          // breaching (CloudWatch user guide, "Configuring how CloudWatch alarms treat missing
          // data": breaching — "Missing data points are treated as 'bad' and breaching the
          // threshold").
          treatMissingData: "breaching",
        },
      );
    }
  }
}
