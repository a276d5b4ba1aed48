/** The SNS publisher of the sms and email channels (channels/types.ts `SnsPublisher`). */
import type * as SnsSdk from "@aws-sdk/client-sns";
import { sns } from "../aws";
import type { ChannelType } from "../types";
import type { SnsPublisher } from "./types";

/** The channel types that publish through SNS. */
const SNS_CHANNELS: readonly ChannelType[] = ["sms", "email"];

/**
 * Adapts an SDK v3 SNS client to {@link SnsPublisher}; without one, the function's own client
 * (aws.ts `sns`), created on the first publish. `@aws-sdk/client-sns` is required there, not at
 * the top: every channel send is handed a publisher, and a top-level import would load the SNS
 * client on every cold start of the fan-out, whether or not it sends an SMS or email (issue 12).
 */
export function snsPublisher(client?: SnsSdk.SNSClient): SnsPublisher {
  return {
    async publish(input) {
      const { PublishCommand } = require("@aws-sdk/client-sns") as typeof SnsSdk;
      const out = await (client ?? sns()).send(new PublishCommand(input));
      return { MessageId: out.MessageId };
    },
  };
}

/**
 * Loads the function's SNS client (aws.ts `sns`: `require("@aws-sdk/client-sns")` and the client)
 * in the next turn of the event loop, once a delivery of `type` (sms or email) has claimed its
 * slot and is about to wait — for its pacing call, or for the enrichment's verdict (issue 12): on
 * a cold start, that load (about 8–15 ms) is then off the way to the first publish. Any other
 * type: nothing; a loaded client is reused. Never throws: a client that cannot be created fails
 * the publish, with its error.
 */
export function warmSnsFor(type: ChannelType): void {
  if (!SNS_CHANNELS.includes(type)) return;
  setImmediate(() => {
    try {
      sns();
    } catch {
      // The publish creates it again and reports the error.
    }
  });
}
