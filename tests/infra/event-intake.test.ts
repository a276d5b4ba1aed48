import { EventIntake } from "../../infra/event-intake";
import {
  ACCOUNT,
  childrenOf,
  expectAliasedToStackTop,
  find,
  recordResources,
  REGION,
  settled,
  type Registered,
} from "./mocks";

const COMPONENT = "deploy-notifier:infra:EventIntake";
const QUEUE = "aws:sqs/queue:Queue";
const tags = { team: "platform" };
const arn = (service: string, name: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}`;
let registered: Registered[];

beforeAll(async () => {
  registered = await recordResources();
  new EventIntake("intake", {
    eventPattern: '{"source":["aws.codepipeline"]}',
    description: "d",
    tags,
  });
  await settled();
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

it("lets only this rule send to either queue", () => {
  for (const queue of ["events", "dlq"]) {
    const policy = find(registered, "aws:sqs/queuePolicy:QueuePolicy", `${queue}-from-eventbridge`);
    expect(policy.inputs.queueUrl).toBe(
      `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${queue}-physical`,
    );
    expect(JSON.parse(policy.inputs.policy)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "EventBridgeRule",
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: ["sqs:SendMessage"],
          Resource: [arn("sqs", `${queue}-physical`)],
          Condition: { ArnEquals: { "aws:SourceArn": arn("cloudwatch", "codepipeline-physical") } },
        },
      ],
    });
  }
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
