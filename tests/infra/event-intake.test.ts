import { evaluate, type AuthorizationRequest } from "../../testing/iam/evaluate";
import {
  ACCOUNT,
  childrenOf,
  expectAliasedToStackTop,
  find,
  REGION,
  type Registered,
} from "./mocks";
import { arn, declareIntake, FANOUT_ROLE, RULE, tags } from "./intake";

const COMPONENT = "deploy-notifier:infra:EventIntake";
const QUEUE = "aws:sqs/queue:Queue";
let registered: Registered[];

beforeAll(async () => {
  registered = await declareIntake();
});

it("routes the rule to the events queue, with retries and the DLQ behind it", () => {
  expect(find(registered, "aws:cloudwatch/eventRule:EventRule", "codepipeline").inputs).toEqual({
    description: "d",
    eventPattern: '{"source":["aws.codepipeline"]}',
    tags,
  });
  expect(
    find(registered, "aws:cloudwatch/eventTarget:EventTarget", "codepipeline-to-queue").inputs,
  ).toEqual({
    rule: "codepipeline-physical",
    arn: arn("sqs", "events-physical"),
    retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
    deadLetterConfig: { arn: arn("sqs", "dlq-physical") },
  });
});

// 5 = one more than the fan-out's own last receive (4: 1 delivery + 3 retries): SQS's redrive,
// which attaches no reason, only follows a receive that crashed, and the fan-out parks that
// message itself with a reason on the extra receive (issue 12, infra/settings.ts).
it("redrives the events queue to the DLQ after 5 receives (the fan-out's 4 + one for a crash)", () => {
  expect(find(registered, QUEUE, "events").inputs).toEqual({
    visibilityTimeoutSeconds: 360,
    messageRetentionSeconds: 4 * 86400,
    sqsManagedSseEnabled: true,
    redrivePolicy: JSON.stringify({
      deadLetterTargetArn: arn("sqs", "dlq-physical"),
      maxReceiveCount: 5,
    }),
    tags,
  });
  expect(find(registered, QUEUE, "dlq").inputs).toEqual({
    messageRetentionSeconds: 14 * 86400,
    sqsManagedSseEnabled: true,
    tags,
  });
});

function queuePolicy(queue: string): any {
  const policy = find(registered, "aws:sqs/queuePolicy:QueuePolicy", `${queue}-from-eventbridge`);
  expect(policy.inputs.queueUrl).toBe(
    `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${queue}-physical`,
  );
  return JSON.parse(policy.inputs.policy);
}

const allowRule = (queue: string) => ({
  Sid: "EventBridgeRule",
  Effect: "Allow",
  Principal: { Service: "events.amazonaws.com" },
  Action: ["sqs:SendMessage"],
  Resource: [arn("sqs", `${queue}-physical`)],
  Condition: { ArnEquals: { "aws:SourceArn": RULE } },
});

it("lets only this rule and the fan-out send to the events queue and denies every other sender", () => {
  // Issue 11 changed this: the fan-out's role is excepted (it defers rate-limited records as
  // delayed copies, fanout/requeue.ts), as it already was on the DLQ.
  expect(queuePolicy("events")).toEqual({
    Version: "2012-10-17",
    Statement: [
      allowRule("events"),
      {
        Sid: "OnlyTheRuleAndTheFanout",
        Effect: "Deny",
        Principal: "*",
        Action: ["sqs:SendMessage"],
        Resource: [arn("sqs", "events-physical")],
        Condition: { ArnNotEquals: { "aws:SourceArn": RULE, "aws:PrincipalArn": FANOUT_ROLE } },
      },
    ],
  });
});

it("lets only the rule and the fan-out's role send to the DLQ", () => {
  expect(queuePolicy("dlq")).toEqual({
    Version: "2012-10-17",
    Statement: [
      allowRule("dlq"),
      {
        Sid: "OnlyTheRuleAndTheFanout",
        Effect: "Deny",
        Principal: "*",
        Action: ["sqs:SendMessage"],
        Resource: [arn("sqs", "dlq-physical")],
        Condition: { ArnNotEquals: { "aws:SourceArn": RULE, "aws:PrincipalArn": FANOUT_ROLE } },
      },
    ],
  });
});

describe("the queue policies, evaluated as IAM evaluates a resource policy", () => {
  const someRole = `arn:aws:iam::${ACCOUNT}:role/ci-deployer`;
  const otherRule = arn("events", "rule/someone-elses-rule");
  const send = (queue: string, extra: Partial<AuthorizationRequest>): AuthorizationRequest => ({
    action: "sqs:SendMessage",
    resource: arn("sqs", `${queue}-physical`),
    ...extra,
  });
  const byRule = (queue: string, sourceArn: string) =>
    send(queue, {
      principal: { Service: "events.amazonaws.com" },
      context: { "aws:SourceArn": sourceArn, "aws:SourceAccount": ACCOUNT },
    });
  const byRole = (queue: string, roleArn: string, action = "sqs:SendMessage") => ({
    ...send(queue, { principal: { AWS: roleArn }, context: { "aws:PrincipalArn": roleArn } }),
    action,
  });

  it("allows EventBridge for this rule, to both queues", () => {
    for (const queue of ["events", "dlq"]) {
      expect(evaluate([queuePolicy(queue)], byRule(queue, RULE)).decision).toBe("Allow");
    }
  });

  it("refuses any other sender explicitly, whatever its own IAM policy allows", () => {
    for (const queue of ["events", "dlq"]) {
      expect(evaluate([queuePolicy(queue)], byRole(queue, someRole))).toEqual({
        decision: "ExplicitDeny",
        statement: "OnlyTheRuleAndTheFanout",
      });
      // Another rule of the account is EventBridge too, but not this rule.
      expect(evaluate([queuePolicy(queue)], byRule(queue, otherRule))).toEqual({
        decision: "ExplicitDeny",
        statement: "OnlyTheRuleAndTheFanout",
      });
    }
  });

  it("admits the fan-out's role to the events queue: deferred copies (issue 11)", () => {
    // Changed with issue 11: it used to be denied ("may dead-letter, not fake an event"), but a
    // rate-limited record is now deferred as a delayed copy on the events queue
    // (fanout/requeue.ts, SQS SendMessage DelaySeconds); its identity policy (grants.ts
    // RequeueEvents) allows it, so the queue policy only must not deny it.
    expect(evaluate([queuePolicy("events")], byRole("events", FANOUT_ROLE)).decision).toBe(
      "ImplicitDeny",
    );
  });

  it("leaves the fan-out's dead-lettering and its event source mapping alone", () => {
    // Not denied: the role's identity policy (grants.ts DeadLetterWithReasons) allows it.
    expect(evaluate([queuePolicy("dlq")], byRole("dlq", FANOUT_ROLE)).decision).toBe(
      "ImplicitDeny",
    );
    for (const action of [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
    ]) {
      expect(evaluate([queuePolicy("events")], byRole("events", FANOUT_ROLE, action))).toEqual({
        decision: "ImplicitDeny",
      });
    }
  });
});

it("keeps every URN: each child aliased to its old place at the top of the stack", () => {
  const children = childrenOf(registered, COMPONENT);
  expect(children.map((c) => c.name).sort()).toEqual([
    "codepipeline",
    "codepipeline-to-queue",
    "dlq",
    "dlq-from-eventbridge",
    "events",
    "events-from-eventbridge",
  ]);
  expectAliasedToStackTop(children);
});
