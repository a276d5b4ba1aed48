/**
 * Which configured channel instance a delivery belongs to. The receivers know the channel from
 * the URL path, except PagerDuty (one Events API endpoint for every channel: the routing key
 * says which) and SNS (the topic ARN says).
 */
import type { Delivery } from "../testing";

/** Attributes deliveries, SNS topics and PagerDuty routing keys to channel names. */
export interface ChannelAttribution {
  /** The channel of a receiver delivery: by routing key for PagerDuty, else the URL's name. */
  ofDelivery(delivery: Delivery): string;
  /** The channel that publishes to an SNS topic ARN, or undefined when none does. */
  ofTopic(topicArn: string | undefined): string | undefined;
  /** The PagerDuty channel of a routing key; `"pagerduty"` when no channel has that key. */
  ofRoutingKey(routingKey: string): string;
}

/**
 * Builds the attribution from the channel → routing key map (`pointAtReceivers`' secrets) and
 * the channel → topic ARN map (the fan-out's `CHANNEL_TOPICS`).
 */
export function attributeChannels(
  routingKeys: Record<string, string>,
  topics: Record<string, string>,
): ChannelAttribution {
  const byKey = Object.fromEntries(Object.entries(routingKeys).map(([name, key]) => [key, name]));
  const byTopic = Object.fromEntries(Object.entries(topics).map(([name, arn]) => [arn, name]));
  const ofRoutingKey = (key: string): string => byKey[key] ?? "pagerduty";
  return {
    ofDelivery(delivery) {
      if (delivery.receiver !== "pagerduty") return delivery.name;
      return ofRoutingKey(
        (delivery.body as { routing_key?: string } | undefined)?.routing_key ?? "",
      );
    },
    ofTopic: (topicArn) => byTopic[topicArn ?? ""],
    ofRoutingKey,
  };
}
