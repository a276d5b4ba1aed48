import { NotifierAlarms } from "../../infra/alarms";
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

const COMPONENT = "deploy-notifier:infra:NotifierAlarms";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const tags = { team: "platform" };
const OPS = `arn:aws:sns:${REGION}:${ACCOUNT}:ops-physical`;
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/topics`;
let registered: Registered[];

beforeAll(async () => {
  registered = await recordResources();
  new NotifierAlarms("alarms", {
    opsEmail: "ops@example.com",
    accountId: ACCOUNT,
    kmsKeyArn: KEY,
    deadLetterQueueName: "dlq-1",
    eventsQueueName: "events-1",
    functions: { fanout: "p-fanout", approval: "p-approval" },
    tags,
  });
  await settled();
});

it("emails the ops topic, which only this account's CloudWatch may publish to", () => {
  // A customer managed key: CloudWatch cannot publish to a topic under alias/aws/sns.
  expect(find(registered, "aws:sns/topic:Topic", "ops").inputs).toEqual({
    kmsMasterKeyId: KEY,
    tags,
  });
  expect(
    find(registered, "aws:sns/topicSubscription:TopicSubscription", "ops-email").inputs,
  ).toEqual({
    topic: OPS,
    protocol: "email",
    endpoint: "ops@example.com",
  });
  const policy = find(registered, "aws:sns/topicPolicy:TopicPolicy", "ops-from-cloudwatch");
  expect(policy.inputs.arn).toBe(OPS);
  expect(JSON.parse(policy.inputs.policy).Statement).toEqual([
    {
      Sid: "CloudWatchAlarms",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: ["sns:Publish"],
      Resource: [OPS],
      Condition: { StringEquals: { "AWS:SourceAccount": ACCOUNT } },
    },
  ]);
});

it("alarms on DLQ depth, a stuck queue and each Lambda's errors, on alarm and on recovery", () => {
  const common = { alarmActions: [OPS], okActions: [OPS], treatMissingData: "notBreaching", tags };
  expect(find(registered, ALARM, "dlq-depth").inputs).toEqual({
    ...common,
    alarmDescription: "deploy-notifier: notifications are in the dead-letter queue",
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: "dlq-1" },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
  });
  expect(find(registered, ALARM, "events-age").inputs).toEqual({
    ...common,
    alarmDescription: "deploy-notifier: events wait in the queue for over 10 minutes",
    namespace: "AWS/SQS",
    metricName: "ApproximateAgeOfOldestMessage",
    dimensions: { QueueName: "events-1" },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 5,
    threshold: 600,
    comparisonOperator: "GreaterThanThreshold",
  });
  for (const fn of ["fanout", "approval"]) {
    expect(find(registered, ALARM, `${fn}-errors`).inputs).toEqual({
      ...common,
      alarmDescription: `deploy-notifier: the ${fn} Lambda is failing`,
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: `p-${fn}` },
      statistic: "Sum",
      period: 60,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
  }
});

it("keeps every URN: each child aliased to its old place at the top of the stack", () => {
  const children = childrenOf(registered, COMPONENT);
  expect(children.map((c) => c.name).sort()).toEqual([
    "approval-errors",
    "dlq-depth",
    "events-age",
    "fanout-errors",
    "ops",
    "ops-email",
    "ops-from-cloudwatch",
  ]);
  expectAliasedToStackTop(children);
});
