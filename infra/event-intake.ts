/**
 * Event intake: CodePipeline → EventBridge rule → SQS events queue, with the dead-letter queue
 * behind both the rule's target (events EventBridge could not deliver) and the queue (messages the
 * fan-out failed `maxReceiveCount` times).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, componentType, type Tags } from "./component";
import { policyDocument } from "./policies";
import { SETTINGS } from "./settings";

/** Inputs of {@link EventIntake}. */
export interface EventIntakeArgs {
  /** The rule's event pattern, JSON text (at most `EVENT_PATTERN_MAX_CHARS`, see patterns.ts). */
  eventPattern: string;
  /** The rule's description. */
  description: string;
  tags: Tags;
}

/**
 * The EventBridge rule and its target, the events queue, the DLQ and the two queue policies that
 * let only this rule send to the queues. Children keep their stack-level names (`codepipeline`,
 * `codepipeline-to-queue`, `events`, `dlq`, `<queue>-from-eventbridge`) whatever the component's
 * name: renaming them would replace them.
 */
export class EventIntake extends pulumi.ComponentResource {
  /** Where events go after the rule's retries, and messages after `maxReceiveCount` receives. */
  readonly deadLetterQueue: aws.sqs.Queue;
  /** The queue the fan-out Lambda consumes. */
  readonly queue: aws.sqs.Queue;
  /** Selects the CodePipeline events that notify (patterns.ts). */
  readonly rule: aws.cloudwatch.EventRule;
  /** Rule → events queue, with EventBridge's retries and the DLQ. */
  readonly target: aws.cloudwatch.EventTarget;
  /** `events-from-eventbridge` and `dlq-from-eventbridge`. */
  readonly queuePolicies: aws.sqs.QueuePolicy[];

  constructor(name: string, args: EventIntakeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("EventIntake"), name, {}, opts);
    const child = childOptions(this);
    const { tags } = args;

    const dlq = new aws.sqs.Queue(
      "dlq",
      {
        messageRetentionSeconds: SETTINGS.dlqRetentionSeconds,
        sqsManagedSseEnabled: true,
        tags,
      },
      child,
    );
    const events = new aws.sqs.Queue(
      "events",
      {
        visibilityTimeoutSeconds: SETTINGS.visibilityTimeoutSeconds,
        messageRetentionSeconds: SETTINGS.queueRetentionSeconds,
        sqsManagedSseEnabled: true,
        redrivePolicy: dlq.arn.apply((arn) =>
          JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: SETTINGS.maxReceiveCount }),
        ),
        tags,
      },
      child,
    );
    const rule = new aws.cloudwatch.EventRule(
      "codepipeline",
      { description: args.description, eventPattern: args.eventPattern, tags },
      child,
    );
    this.target = new aws.cloudwatch.EventTarget(
      "codepipeline-to-queue",
      {
        rule: rule.name,
        arn: events.arn,
        retryPolicy: {
          maximumRetryAttempts: SETTINGS.targetMaxRetries,
          maximumEventAgeInSeconds: SETTINGS.targetMaxEventAgeSeconds,
        },
        deadLetterConfig: { arn: dlq.arn },
      },
      child,
    );
    // EventBridge may send to the events queue, and to the DLQ when it cannot — from this rule only.
    this.queuePolicies = (
      [
        ["events", events],
        ["dlq", dlq],
      ] as const
    ).map(
      ([queueName, queue]) =>
        new aws.sqs.QueuePolicy(
          `${queueName}-from-eventbridge`,
          {
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
          },
          child,
        ),
    );

    this.deadLetterQueue = dlq;
    this.queue = events;
    this.rule = rule;
    this.registerOutputs({
      queueUrl: events.url,
      deadLetterQueueUrl: dlq.url,
      ruleName: rule.name,
    });
  }
}
