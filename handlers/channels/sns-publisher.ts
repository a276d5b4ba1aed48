/** The SNS publisher of the sms and email channels (channels/types.ts `SnsPublisher`). */
import type * as SnsSdk from "@aws-sdk/client-sns";
import { sns } from "../aws";
import type { SnsPublisher } from "./types";

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
