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

it("redrives the events queue to the DLQ after 4 receives", () => {
  expect(find(registered, QUEUE, "events").inputs).toEqual({
    visibilityTimeoutSeconds: 360,
    messageRetentionSeconds: 4 * 86400,
    sqsManagedSseEnabled: true,
    redrivePolicy: JSON.stringify({
      deadLetterTargetArn: arn("sqs", "dlq-physical"),
      maxReceiveCount: 4,
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

it("lets only this rule send to the events queue and denies every other sender", () => {
  expect(queuePolicy("events")).toEqual({
    Version: "2012-10-17",
    Statement: [
      allowRule("events"),
      {
        Sid: "OnlyTheRule",
        Effect: "Deny",
        Principal: "*",
        Action: ["sqs:SendMessage"],
        Resource: [arn("sqs", "events-physical")],
        Condition: { ArnNotEquals: { "aws:SourceArn": RULE } },
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
        statement: queue === "events" ? "OnlyTheRule" : "OnlyTheRuleAndTheFanout",
      });
      // Another rule of the account is EventBridge too, but not this rule.
      expect(evaluate([queuePolicy(queue)], byRule(queue, otherRule))).toEqual({
        decision: "ExplicitDeny",
        statement: queue === "events" ? "OnlyTheRule" : "OnlyTheRuleAndTheFanout",
      });
    }
    // The fan-out's role may dead-letter, not fake an event.
    expect(evaluate([queuePolicy("events")], byRole("events", FANOUT_ROLE)).decision).toBe(
      "ExplicitDeny",
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
