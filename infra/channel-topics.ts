/** SNS topics of the SMS and email channels, one per channel, with one subscription per endpoint. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { childOptions, componentType, type Tags } from "./component";

/** Inputs of {@link ChannelTopics}. */
export interface ChannelTopicsArgs {
  /** Every configured channel; only `sms` and `email` ones get a topic. */
  channels: StackConfig["runtime"]["channels"];
  /** The customer managed key every topic is encrypted with (topic-key.ts). */
  kmsKeyArn: pulumi.Input<string>;
  tags: Tags;
}

/**
 * `channel-<name>` topics and their `channel-<name>-<i>` subscriptions (i = the endpoint's index
 * in the config). The fan-out publishes to a topic; SNS sends the SMS and emails.
 */
export class ChannelTopics extends pulumi.ComponentResource {
  /** Topic by channel name, in config order. */
  readonly topics: Record<string, aws.sns.Topic>;
  /** Every topic's ARN, in config order (empty when no channel is SMS or email). */
  readonly arns: pulumi.Output<string[]>;
  /** JSON text `{ [channel]: topicArn }`, the fan-out's `CHANNEL_TOPICS` environment variable. */
  readonly arnsByChannel: pulumi.Output<string>;

  constructor(name: string, args: ChannelTopicsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("ChannelTopics"), name, {}, opts);
    const child = childOptions(this);
    const topics: Record<string, aws.sns.Topic> = {};
    for (const [channelName, channel] of Object.entries(args.channels)) {
      if (channel.type !== "sms" && channel.type !== "email") continue;
      const topic = new aws.sns.Topic(
        `channel-${channelName}`,
        { kmsMasterKeyId: args.kmsKeyArn, tags: args.tags },
        child,
      );
      topics[channelName] = topic;
      const endpoints = channel.type === "sms" ? channel.phoneNumbers : channel.addresses;
      endpoints.forEach((endpoint, i) => {
        new aws.sns.TopicSubscription(
          `channel-${channelName}-${i}`,
          { topic: topic.arn, protocol: channel.type, endpoint },
          child,
        );
      });
    }
    this.topics = topics;
    this.arns = pulumi.all(Object.values(topics).map((t) => t.arn));
    this.arnsByChannel = pulumi
      .all(Object.entries(topics).map(([n, t]) => t.arn.apply((a) => [n, a] as const)))
      .apply((pairs) => JSON.stringify(Object.fromEntries(pairs)));
    this.registerOutputs({ arnsByChannel: this.arnsByChannel });
  }
}
