/**
 * Event intake: CodePipeline → EventBridge rule → SQS events queue, with the dead-letter queue
 * behind both the rule's target (events EventBridge could not deliver) and the queue (messages the
 * fan-out failed `maxReceiveCount` times).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, componentType, type Tags } from "./component";
import { policyDocument, type Statement } from "./policies";
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
 * let only this rule (and, to the DLQ, the fan-out) send to the queues. Children keep their stack-level names (`codepipeline`,
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
  /** `events-from-eventbridge`, then `dlq-from-eventbridge` once {@link admitDeadLetterWriter} ran. */
  readonly queuePolicies: aws.sqs.QueuePolicy[];
  private readonly child: pulumi.CustomResourceOptions;

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
    this.queuePolicies = [
      new aws.sqs.QueuePolicy(
        "events-from-eventbridge",
        {
          queueUrl: events.url,
          policy: pulumi
            .all([events.arn, rule.arn])
            .apply(([queueArn, ruleArn]) =>
              policyDocument(onlySenders(queueArn, ruleArn, undefined)),
            ),
        },
        child,
      ),
    ];
    this.child = child;
    this.deadLetterQueue = dlq;
    this.queue = events;
    this.rule = rule;
    this.registerOutputs({
      queueUrl: events.url,
      deadLetterQueueUrl: dlq.url,
      ruleName: rule.name,
    });
  }

  /**
   * Declares the DLQ's policy `dlq-from-eventbridge`: the rule (events it could not deliver) and
   * the role `roleArn` (the fan-out's dead-lettering with reasons) may send, nobody else. Called
   * once the fan-out's role exists, which is declared after this component.
   */
  admitDeadLetterWriter(roleArn: pulumi.Input<string>): aws.sqs.QueuePolicy {
    const policy = new aws.sqs.QueuePolicy(
      "dlq-from-eventbridge",
      {
        queueUrl: this.deadLetterQueue.url,
        policy: pulumi
          .all([this.deadLetterQueue.arn, this.rule.arn, roleArn])
          .apply(([queueArn, ruleArn, writer]) =>
            policyDocument(onlySenders(queueArn, ruleArn, writer)),
          ),
      },
      this.child,
    );
    this.queuePolicies.push(policy);
    return policy;
  }
}

/**
 * A queue policy that lets EventBridge send for rule `ruleArn` and refuses every other sender,
 * including principals of this account whose own IAM policy allows `sqs:SendMessage` (an explicit
 * Deny wins over any Allow). The Deny names only `sqs:SendMessage`: the fan-out's event source
 * mapping receives and deletes, which it leaves alone. EventBridge's delivery carries
 * `aws:SourceArn` = the rule; a direct call carries no `aws:SourceArn`, and a negated condition
 * operator on a key the request lacks is true (IAM user guide, "Condition operators"), so the Deny
 * applies to it. `writerRoleArn`, when given, is excepted by `aws:PrincipalArn` (the role's ARN for
 * its sessions); the Deny's conditions are ANDed, so it denies only a sender that is neither.
 */
export function onlySenders(
  queueArn: string,
  ruleArn: string,
  writerRoleArn: string | undefined,
): Statement[] {
  const notAllowed: Record<string, Record<string, string>> = {
    ArnNotEquals: { "aws:SourceArn": ruleArn },
  };
  if (writerRoleArn) notAllowed.ArnNotEquals["aws:PrincipalArn"] = writerRoleArn;
  return [
    {
      Sid: "EventBridgeRule",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: ["sqs:SendMessage"],
      Resource: [queueArn],
      Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
    },
    {
      Sid: writerRoleArn ? "OnlyTheRuleAndTheFanout" : "OnlyTheRule",
      Effect: "Deny",
      Principal: "*",
      Action: ["sqs:SendMessage"],
      Resource: [queueArn],
      Condition: notAllowed,
    },
  ];
}
