import { NotifierAlarms } from "../../infra/alarms";
import {
  emitBookkeepingFailed,
  emitDeadLettered,
  emitDelivered,
  emitHeartbeat,
  emitRejected,
} from "../../handlers/fanout/metrics";
import { FAILING_SERVICES } from "../../handlers/contracts/metrics";
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
    channels: ["slack-eng", "pagerduty-oncall"],
    heartbeatMinutes: 5,
    heartbeatMissedPeriods: 3,
    tags,
  });
  await settled();
});

/** The product alarms added with issue 12 (declared without aliases: they are new). */
const PRODUCT_ALARMS = [
  "bookkeeping-dynamodb",
  "bookkeeping-other",
  "bookkeeping-secretsmanager",
  "channel-pagerduty-oncall-failed",
  "channel-slack-eng-failed",
  "dlq-sends",
  "heartbeat",
  "rejected-inputs",
];

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

it("keeps every URN: each old child aliased to its old place, the new alarms without aliases", () => {
  const children = childrenOf(registered, COMPONENT);
  const old = children.filter((c) => !PRODUCT_ALARMS.includes(c.name));
  expect(old.map((c) => c.name).sort()).toEqual([
    "approval-errors",
    "dlq-depth",
    "events-age",
    "fanout-errors",
    "ops",
    "ops-email",
    "ops-from-cloudwatch",
  ]);
  expectAliasedToStackTop(old);
  const fresh = children.filter((c) => PRODUCT_ALARMS.includes(c.name));
  expect(
    fresh
      .map((c) => ({ name: c.name, aliases: c.aliases }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  ).toEqual(PRODUCT_ALARMS.map((name) => ({ name, aliases: [] })));
});

describe("alarms on the product's own metrics (issue 12)", () => {
  const common = { alarmActions: [OPS], okActions: [OPS], treatMissingData: "notBreaching", tags };
  // 2 failing one-minute periods of the last 10: a single failed attempt (already retried 3 times
  // by the driver) may be a blip; a second one within 10 minutes (another event, or the same one
  // redelivered after the 6-minute visibility timeout) means the channel is down.
  const repeated = {
    namespace: "DeployNotifier",
    statistic: "Sum",
    period: 60,
    evaluationPeriods: 10,
    datapointsToAlarm: 2,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
  };

  it("one failure alarm per configured channel instance, on Failed with its Channel", () => {
    for (const channel of ["slack-eng", "pagerduty-oncall"]) {
      expect(find(registered, ALARM, `channel-${channel}-failed`).inputs).toEqual({
        ...common,
        ...repeated,
        alarmDescription: `deploy-notifier: deliveries to ${channel} fail (failures in 2 minutes of the last 10)`,
        metricName: "Failed",
        dimensions: { Channel: channel },
      });
    }
  });

  it("one bookkeeping alarm per failing dependency: DynamoDB, Secrets Manager, other", () => {
    for (const [name, service] of [
      ["bookkeeping-dynamodb", "DynamoDB"],
      ["bookkeeping-secretsmanager", "Secrets Manager"],
      ["bookkeeping-other", "other"],
    ]) {
      expect(find(registered, ALARM, name).inputs).toEqual({
        ...common,
        ...repeated,
        alarmDescription: `deploy-notifier: records fail on ${service} (failures in 2 minutes of the last 10)`,
        metricName: "BookkeepingFailed",
        dimensions: { Service: service },
      });
    }
  });

  it("pages on the first DLQ send and the first rejected input", () => {
    const once = {
      ...common,
      namespace: "DeployNotifier",
      statistic: "Sum",
      period: 60,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      dimensions: { Component: "fanout" },
    };
    expect(find(registered, ALARM, "dlq-sends").inputs).toEqual({
      ...once,
      alarmDescription: "deploy-notifier: the fan-out parked a notification in the DLQ",
      metricName: "DeadLettered",
    });
    expect(find(registered, ALARM, "rejected-inputs").inputs).toEqual({
      ...once,
      alarmDescription: "deploy-notifier: events were rejected as unusable",
      metricName: "Rejected",
    });
  });

  it("fires when the heartbeat stops: 3 empty 5-minute periods, missing data breaching", () => {
    // CloudWatch user guide, "Configuring how CloudWatch alarms treat missing data": with
    // `breaching`, missing data points are treated as breaching the threshold — a stopped
    // heartbeat produces no data at all, so `notBreaching` (the others' setting) would never fire.
    expect(find(registered, ALARM, "heartbeat").inputs).toEqual({
      ...common,
      treatMissingData: "breaching",
      alarmDescription:
        "deploy-notifier: no heartbeat for 15 minutes (rule → queue → fan-out broken)",
      namespace: "DeployNotifier",
      metricName: "Heartbeat",
      dimensions: { Component: "fanout" },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
    });
  });
});

describe("what the handler emits is what the alarms watch", () => {
  /** The EMF documents the handler's emitters write, as (namespace, name, dimensions) triples. */
  function emitted(
    run: () => void,
  ): Array<{ namespace: string; name: string; dimensions: Record<string, string> }> {
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, "write").mockImplementation(((chunk: any) => {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      return true;
    }) as any);
    try {
      run();
    } finally {
      spy.mockRestore();
    }
    return lines.flatMap((line) => {
      const doc = JSON.parse(line);
      // EMF specification: each MetricDirective names the Namespace, the dimension keys (whose
      // values are the document's root members) and the metrics.
      return doc._aws.CloudWatchMetrics.flatMap((d: any) =>
        d.Metrics.map((m: any) => ({
          namespace: d.Namespace,
          name: m.Name,
          dimensions: Object.fromEntries(d.Dimensions[0].map((k: string) => [k, doc[k]])),
        })),
      );
    });
  }

  it("every product alarm's namespace, metric and dimensions are emitted exactly so", () => {
    const metrics = emitted(() => {
      const n = { eventId: "e", id: "n", time: new Date().toISOString() } as any;
      emitDelivered(n, [
        { channel: "slack-eng", status: "failed" },
        { channel: "pagerduty-oncall", status: "abandoned" },
      ]);
      for (const service of Object.values(FAILING_SERVICES)) emitBookkeepingFailed(service);
      emitDeadLettered();
      emitRejected("malformed");
      emitHeartbeat();
    });
    for (const name of PRODUCT_ALARMS) {
      const { namespace, metricName, dimensions } = find(registered, ALARM, name).inputs;
      expect({ alarm: name, emitted: metrics }).toEqual({
        alarm: name,
        emitted: expect.arrayContaining([{ namespace, name: metricName, dimensions }]),
      });
    }
  });

  it("a mismatch would show: a Failed count of another channel is not the alarm's metric", () => {
    const metrics = emitted(() =>
      emitDelivered({ eventId: "e", id: "n", time: "" } as any, [
        { channel: "slack-other", status: "failed" },
      ]),
    );
    const { namespace, metricName, dimensions } = find(
      registered,
      ALARM,
      "channel-slack-eng-failed",
    ).inputs;
    expect(metrics).not.toContainEqual({ namespace, name: metricName, dimensions });
  });
});
