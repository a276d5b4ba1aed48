/**
 * The whole composition in process, with trivial handlers: which resources it declares, under
 * which components, and that every one keeps its URN on an existing stack (see infra/component.ts).
 * tests/infra.test.ts evaluates the real program, handlers included, in a fresh Node process.
 */
import { readStackConfig } from "../../testing";
import { expectAliasedToStackTop, declareForTest, recordResources, type Registered } from "./mocks";

let registered: Registered[];

/** Resources added since the components existed (issue 13): new, so nothing to alias. */
const NEW_RESOURCES = [
  "aws:kms/alias:Alias topics-key",
  "aws:kms/key:Key topics-key",
  // The approval reminder scan (issue 10): a schedule rule that sends to the events queue.
  "aws:cloudwatch/eventRule:EventRule approval-reminders",
  "aws:cloudwatch/eventTarget:EventTarget approval-reminders-to-queue",
  // Issue 12: the heartbeat's schedule rule, and the alarms on the product's own metrics (one
  // per configured channel of the prod stack: pagerduty-oncall, slack-eng, slack-releases,
  // sms-oncall).
  "aws:cloudwatch/eventRule:EventRule heartbeat",
  "aws:cloudwatch/eventTarget:EventTarget heartbeat-to-queue",
  ...[
    "bookkeeping-dynamodb",
    "bookkeeping-other",
    "bookkeeping-secretsmanager",
    "channel-pagerduty-oncall-failed",
    "channel-slack-eng-failed",
    "channel-slack-releases-failed",
    "channel-sms-oncall-failed",
    "dlq-sends",
    "heartbeat",
    "rejected-inputs",
  ].map((name) => `aws:cloudwatch/metricAlarm:MetricAlarm ${name}`),
];

/** Every resource of the prod stack before the components existed, as `<type> <name>`. */
const PROD_RESOURCES = [
  "aws:cloudwatch/eventRule:EventRule codepipeline",
  "aws:cloudwatch/eventTarget:EventTarget codepipeline-to-queue",
  "aws:cloudwatch/logGroup:LogGroup approval-logs",
  "aws:cloudwatch/logGroup:LogGroup fanout-logs",
  "aws:cloudwatch/metricAlarm:MetricAlarm approval-errors",
  "aws:cloudwatch/metricAlarm:MetricAlarm dlq-depth",
  "aws:cloudwatch/metricAlarm:MetricAlarm events-age",
  "aws:cloudwatch/metricAlarm:MetricAlarm fanout-errors",
  "aws:dynamodb/table:Table audit",
  "aws:iam/role:Role approval-role",
  "aws:iam/role:Role fanout-role",
  "aws:iam/rolePolicy:RolePolicy approval-policy",
  "aws:iam/rolePolicy:RolePolicy fanout-policy",
  "aws:lambda/eventSourceMapping:EventSourceMapping fanout-from-queue",
  "aws:lambda/function:Function approval",
  "aws:lambda/function:Function fanout",
  "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig approval-async",
  "aws:lambda/functionUrl:FunctionUrl approval-url",
  "aws:secretsmanager/secret:Secret channel-secrets",
  "aws:secretsmanager/secret:Secret slack-app",
  "aws:secretsmanager/secretVersion:SecretVersion channel-secrets",
  "aws:secretsmanager/secretVersion:SecretVersion slack-app",
  "aws:sns/topic:Topic channel-sms-oncall",
  "aws:sns/topic:Topic ops",
  "aws:sns/topicPolicy:TopicPolicy ops-from-cloudwatch",
  "aws:sns/topicSubscription:TopicSubscription channel-sms-oncall-0",
  "aws:sns/topicSubscription:TopicSubscription ops-email",
  "aws:sqs/queue:Queue dlq",
  "aws:sqs/queue:Queue events",
  "aws:sqs/queuePolicy:QueuePolicy dlq-from-eventbridge",
  "aws:sqs/queuePolicy:QueuePolicy events-from-eventbridge",
];

beforeAll(async () => {
  registered = await recordResources();
  await declareForTest(readStackConfig("prod").raw);
}, 120_000);

it("declares the same resources as before, under the same logical names", () => {
  const census = registered.filter((r) => r.custom).map((r) => `${r.type} ${r.name}`);
  expect(census.sort()).toEqual([...PROD_RESOURCES, ...NEW_RESOURCES].sort());
});

it("groups them into one component per concern, at the top of the stack", () => {
  const components = registered.filter((r) => !r.custom);
  expect(components.map((c) => `${c.type} ${c.name}`).sort()).toEqual([
    "deploy-notifier:infra:ChannelTopics channels",
    "deploy-notifier:infra:EventIntake intake",
    "deploy-notifier:infra:NotifierAlarms alarms",
    "deploy-notifier:infra:NotifierFunction approval",
    "deploy-notifier:infra:NotifierFunction fanout",
    "deploy-notifier:infra:NotifierSecrets secrets",
    "deploy-notifier:infra:StateTable state",
    "deploy-notifier:infra:TopicKey keys",
  ]);
  for (const c of components)
    expect({ c: c.name, parent: c.parent }).toEqual({ c: c.name, parent: "" });
  for (const r of registered.filter((x) => x.custom)) {
    expect(r.parent).toMatch(/::deploy-notifier:infra:[A-Za-z]+::/);
  }
});

it("keeps every resource's URN on an existing stack: aliased to its old place", () => {
  const old = registered.filter((r) => r.custom && !NEW_RESOURCES.includes(`${r.type} ${r.name}`));
  expectAliasedToStackTop(old);
  for (const r of registered.filter((x) => NEW_RESOURCES.includes(`${x.type} ${x.name}`))) {
    expect({ r: r.name, aliases: r.aliases }).toEqual({ r: r.name, aliases: [] });
  }
});
