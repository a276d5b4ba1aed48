/** The shapes of the secrets the Lambdas read from Secrets Manager (never their values). */
import type { ChannelType } from "./types";

/**
 * Secret settings, as stored (JSON) in the Secrets Manager secret the fan-out reads:
 * `{ "<channel name>": { "<field>": "<value>" } }`.
 */
export type ChannelSecrets = Record<string, Record<string, string>>;

/** Secret settings of the Slack app, stored in the secret the approval handler reads. */
export interface SlackAppSecrets {
  signingSecret: string;
  botToken?: string;
}

/** Secret fields each channel type requires (all but `optional`). */
export const CHANNEL_SECRET_FIELDS: Record<
  ChannelType,
  { required: string[]; optional: string[] }
> = {
  slack: { required: [], optional: ["webhookUrl", "botToken"] },
  pagerduty: { required: ["routingKey"], optional: [] },
  sms: { required: [], optional: [] },
  teams: { required: ["webhookUrl"], optional: [] },
  discord: { required: ["webhookUrl"], optional: [] },
  webhook: { required: ["url"], optional: ["bearerToken"] },
  email: { required: [], optional: [] },
};
