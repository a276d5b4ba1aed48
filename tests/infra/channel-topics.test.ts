import { ChannelTopics } from "../../infra/channel-topics";
import {
  ACCOUNT,
  childrenOf,
  expectAliasedToStackTop,
  find,
  recordResources,
  REGION,
  settled,
  valueOf,
  type Registered,
} from "./mocks";

const COMPONENT = "deploy-notifier:infra:ChannelTopics";
const TOPIC = "aws:sns/topic:Topic";
const SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription";
const tags = { team: "platform" };
const topicArn = (name: string) => `arn:aws:sns:${REGION}:${ACCOUNT}:channel-${name}-physical`;
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/topics`;
let registered: Registered[];
let withTopics: ChannelTopics;
let without: ChannelTopics;

beforeAll(async () => {
  registered = await recordResources();
  withTopics = new ChannelTopics("channels", {
    channels: {
      "slack-eng": { type: "slack", mode: "webhook" },
      oncall: { type: "sms", phoneNumbers: ["+15550100", "+15550101"] },
      leads: { type: "email", addresses: ["lead@example.com"] },
    },
    kmsKeyArn: KEY,
    tags,
  });
  without = new ChannelTopics("none", {
    channels: { "slack-eng": { type: "slack", mode: "webhook" } },
    kmsKeyArn: KEY,
    tags,
  });
  await settled();
});

it("declares a topic per SMS or email channel, one subscription per endpoint", () => {
  const children = childrenOf(registered, COMPONENT);
  expect(children.map((c) => `${c.type} ${c.name}`)).toEqual(
    expect.arrayContaining([`${TOPIC} channel-oncall`, `${TOPIC} channel-leads`]),
  );
  expect(children.filter((c) => c.type === TOPIC)).toHaveLength(2);
  // Encrypted at rest with the notifier's customer managed key (topic-key.ts).
  expect(find(registered, TOPIC, "channel-oncall").inputs).toEqual({ kmsMasterKeyId: KEY, tags });
  expect(find(registered, TOPIC, "channel-leads").inputs).toEqual({ kmsMasterKeyId: KEY, tags });
  expect(find(registered, SUBSCRIPTION, "channel-oncall-0").inputs).toEqual({
    topic: topicArn("oncall"),
    protocol: "sms",
    endpoint: "+15550100",
  });
  expect(find(registered, SUBSCRIPTION, "channel-oncall-1").inputs.endpoint).toBe("+15550101");
  expect(find(registered, SUBSCRIPTION, "channel-leads-0").inputs).toEqual({
    topic: topicArn("leads"),
    protocol: "email",
    endpoint: "lead@example.com",
  });
});

it("gives the fan-out the topic ARNs, by channel, in config order", async () => {
  expect(await valueOf(withTopics.arns)).toEqual([topicArn("oncall"), topicArn("leads")]);
  expect(JSON.parse(await valueOf(withTopics.arnsByChannel))).toEqual({
    oncall: topicArn("oncall"),
    leads: topicArn("leads"),
  });
  expect(await valueOf(without.arns)).toEqual([]);
  expect(await valueOf(without.arnsByChannel)).toBe("{}");
});

it("keeps every URN: each child aliased to its old place at the top of the stack", () => {
  const children = childrenOf(registered, COMPONENT);
  expect(children).toHaveLength(5);
  expectAliasedToStackTop(children);
});
