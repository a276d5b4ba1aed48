/**
 * Event intake: CodePipeline → EventBridge rule → SQS events queue, with the dead-letter queue
 * behind both the rule's target (events EventBridge could not deliver) and the queue (messages the
 * fan-out failed `maxReceiveCount` times).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HEARTBEAT_INPUT } from "../handlers/contracts/heartbeat";
import { REMINDER_SCAN_INPUT } from "../handlers/contracts/reminder-scan";
import { childOptions, componentType, type Tags } from "./component";
import { policyDocument, type Statement } from "./policies";
import { SETTINGS } from "./settings";

/** Inputs of {@link EventIntake}. */
export interface EventIntakeArgs {
  /** The rule's event pattern, JSON text (at most `EVENT_PATTERN_MAX_CHARS`, see patterns.ts). */
  eventPattern: string;
  /** The rule's description. */
  description: string;
  /**
   * Minutes between two approval reminder scans; absent: no scan (no pipeline has approvals).
   * A schedule rule `approval-reminders` then sends {@link REMINDER_SCAN_INPUT} to the events
   * queue every this many minutes (handlers/reminders).
   */
  reminderScanMinutes?: number;
  /**
   * Minutes between two heartbeats; absent: no heartbeat. A schedule rule `heartbeat` then sends
   * {@link HEARTBEAT_INPUT} to the events queue every this many minutes, and the fan-out answers
   * it with a `Heartbeat` metric (infra/alarms.ts watches it).
   */
  heartbeatMinutes?: number;
  /**
   * The central event bus of a multi-account stack (issue 14, infra/central-bus.ts); absent: none.
   * A rule `codepipeline-central` with the same pattern then reads it too, to the events queue.
   */
  centralBusName?: pulumi.Input<string>;
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
  /** The schedule rule of the approval reminder scan, and its target (the events queue). */
  readonly reminderRule?: aws.cloudwatch.EventRule;
  readonly reminderTarget?: aws.cloudwatch.EventTarget;
  /** The central bus's rule (issue 14), and its target (the events queue). */
  readonly centralRule?: aws.cloudwatch.EventRule;
  readonly centralTarget?: aws.cloudwatch.EventTarget;
  /** The heartbeat's schedule rule, and its target (the events queue). */
  readonly heartbeatRule?: aws.cloudwatch.EventRule;
  readonly heartbeatTarget?: aws.cloudwatch.EventTarget;
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
    if (args.reminderScanMinutes !== undefined) {
      const minutes = args.reminderScanMinutes;
      // New with issue 10: never declared at the stack's top, so nothing to alias.
      const fresh: pulumi.CustomResourceOptions = { parent: this };
      if (!Number.isInteger(minutes) || minutes < 1) {
        throw new Error(`EventIntake ${name}: reminderScanMinutes must be a whole number >= 1`);
      }
      this.reminderRule = new aws.cloudwatch.EventRule(
        "approval-reminders",
        {
          description: `${args.description}: approval reminder scan`,
          // EventBridge rate expressions: "rate(1 minute)", "rate(15 minutes)" (singular for 1).
          scheduleExpression: `rate(${minutes} minute${minutes === 1 ? "" : "s"})`,
          tags,
        },
        fresh,
      );
      this.reminderTarget = new aws.cloudwatch.EventTarget(
        "approval-reminders-to-queue",
        {
          rule: this.reminderRule.name,
          arn: events.arn,
          input: REMINDER_SCAN_INPUT,
          // A scan older than one period is replaced by the next one; one that could not be
          // delivered at all goes to the DLQ, whose alarm tells the ops email.
          retryPolicy: {
            maximumRetryAttempts: SETTINGS.reminderTargetMaxRetries,
            maximumEventAgeInSeconds: Math.max(60, minutes * 60),
          },
          deadLetterConfig: { arn: dlq.arn },
        },
        fresh,
      );
    }
    if (args.heartbeatMinutes !== undefined) {
      [this.heartbeatRule, this.heartbeatTarget] = this.heartbeat(
        name,
        args,
        args.heartbeatMinutes,
        events.arn,
        dlq.arn,
      );
    }
    if (args.centralBusName !== undefined) {
      [this.centralRule, this.centralTarget] = centralIntake(this, args, events.arn, dlq.arn);
    }
    // Both queue policies are declared by admitDeadLetterWriter, once the fan-out's role exists:
    // the events queue admits it too (issue 11: a rate-limited record is deferred as a delayed
    // copy, fanout/requeue.ts). Same names and parent as before: the URNs are unchanged.
    this.queuePolicies = [];
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
   * Declares both queue policies, `events-from-eventbridge` then `dlq-from-eventbridge`: the
   * rules and the role `roleArn` may send, nobody else — to the events queue the fan-out's
   * deferred copies and digest flushes (issue 11, fanout/requeue.ts), to the DLQ its
   * dead-lettering with reasons. Must be called once the fan-out's role exists, which is
   * declared after this component (infra/notifier.ts does). Returns the DLQ's policy.
   */
  admitDeadLetterWriter(roleArn: pulumi.Input<string>): aws.sqs.QueuePolicy {
    const senders = this.senders(this.rule);
    this.queuePolicies.push(
      new aws.sqs.QueuePolicy(
        "events-from-eventbridge",
        {
          queueUrl: this.queue.url,
          policy: pulumi
            .all([this.queue.arn, pulumi.all(senders), roleArn])
            .apply(([queueArn, ruleArns, writer]) =>
              policyDocument(onlySenders(queueArn, ruleArns, writer)),
            ),
        },
        this.child,
      ),
    );
    const policy = new aws.sqs.QueuePolicy(
      "dlq-from-eventbridge",
      {
        queueUrl: this.deadLetterQueue.url,
        policy: pulumi
          .all([this.deadLetterQueue.arn, pulumi.all(senders), roleArn])
          .apply(([queueArn, ruleArns, writer]) =>
            policyDocument(onlySenders(queueArn, ruleArns, writer)),
          ),
      },
      this.child,
    );
    this.queuePolicies.push(policy);
    return policy;
  }

  /** Every rule that may send to the queues: CodePipeline's, then the schedules that exist. */
  private senders(rule: aws.cloudwatch.EventRule): pulumi.Output<string>[] {
    return [rule, this.centralRule, this.reminderRule, this.heartbeatRule]
      .filter((r): r is aws.cloudwatch.EventRule => r !== undefined)
      .map((r) => r.arn);
  }

  /**
   * The heartbeat's schedule rule `heartbeat` and its target `heartbeat-to-queue`: the constant
   * {@link HEARTBEAT_INPUT} every `minutes`, to the events queue, the DLQ behind it.
   */
  private heartbeat(
    name: string,
    args: EventIntakeArgs,
    minutes: number,
    queueArn: pulumi.Output<string>,
    dlqArn: pulumi.Output<string>,
  ): [aws.cloudwatch.EventRule, aws.cloudwatch.EventTarget] {
    if (!Number.isInteger(minutes) || minutes < 1) {
      throw new Error(`EventIntake ${name}: heartbeatMinutes must be a whole number >= 1`);
    }
    // New with issue 12: never declared at the stack's top, so nothing to alias.
    const fresh: pulumi.CustomResourceOptions = { parent: this };
    const rule = new aws.cloudwatch.EventRule(
      "heartbeat",
      {
        description: `${args.description}: heartbeat`,
        scheduleExpression: `rate(${minutes} minute${minutes === 1 ? "" : "s"})`,
        tags: args.tags,
      },
      fresh,
    );
    const target = new aws.cloudwatch.EventTarget(
      "heartbeat-to-queue",
      {
        rule: rule.name,
        arn: queueArn,
        input: HEARTBEAT_INPUT,
        // A heartbeat older than one period is useless (the next one comes); one EventBridge could
        // not deliver at all goes to the DLQ, whose alarm tells the ops email.
        retryPolicy: {
          maximumRetryAttempts: SETTINGS.heartbeatTargetMaxRetries,
          maximumEventAgeInSeconds: Math.max(60, minutes * 60),
        },
        deadLetterConfig: { arn: dlqArn },
      },
      fresh,
    );
    return [rule, target];
  }
}

/**
 * The central bus's rule `codepipeline-central` (issue 14) and its target
 * `codepipeline-central-to-queue`: the CodePipeline pattern on the central bus, to the events
 * queue with the same retries and DLQ as the default bus's rule.
 */
function centralIntake(
  parent: pulumi.Resource,
  args: EventIntakeArgs,
  queueArn: pulumi.Output<string>,
  dlqArn: pulumi.Output<string>,
): [aws.cloudwatch.EventRule, aws.cloudwatch.EventTarget] {
  // New with issue 14: never declared at the stack's top, so nothing to alias.
  const fresh: pulumi.CustomResourceOptions = { parent };
  const rule = new aws.cloudwatch.EventRule(
    "codepipeline-central",
    {
      description: `${args.description} (forwarded from the source accounts)`,
      eventBusName: args.centralBusName,
      eventPattern: args.eventPattern,
      tags: args.tags,
    },
    fresh,
  );
  const target = new aws.cloudwatch.EventTarget(
    "codepipeline-central-to-queue",
    {
      rule: rule.name,
      eventBusName: args.centralBusName,
      arn: queueArn,
      retryPolicy: {
        maximumRetryAttempts: SETTINGS.targetMaxRetries,
        maximumEventAgeInSeconds: SETTINGS.targetMaxEventAgeSeconds,
      },
      deadLetterConfig: { arn: dlqArn },
    },
    fresh,
  );
  return [rule, target];
}

/**
 * A queue policy that lets EventBridge send for the rule(s) `ruleArns` (the CodePipeline rule,
 * and the reminder scan's schedule rule when there is one) and refuses every other sender,
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
  ruleArns: string | string[],
  writerRoleArn: string | undefined,
): Statement[] {
  // Several values of one key are alternatives, also under a negated operator: ArnNotEquals with
  // a list is true when the key matches none of them (IAM user guide, "Condition operators" /
  // "Creating a condition with multiple keys or values").
  const list = typeof ruleArns === "string" ? [ruleArns] : ruleArns;
  const ruleArn: string | string[] = list.length === 1 ? list[0] : list;
  const notAllowed: Record<string, Record<string, string | string[]>> = {
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
