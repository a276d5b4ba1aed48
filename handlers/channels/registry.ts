/**
 * Every channel type's driver. Adding a channel type = one module plus one line here. A plain
 * object literal: a module-level Map would not survive closure serialization.
 */
import type { ChannelType } from "../types";
import { discordDriver } from "./discord";
import { emailDriver } from "./email";
import { pagerdutyDriver } from "./pagerduty";
import { slackDriver } from "./slack";
import { smsDriver } from "./sms";
import { teamsDriver } from "./teams";
import type { ChannelDriver } from "./types";
import { webhookDriver } from "./webhook";

/** The driver of each channel type. */
export const CHANNEL_DRIVERS: Record<ChannelType, ChannelDriver<any>> = {
  slack: slackDriver,
  pagerduty: pagerdutyDriver,
  sms: smsDriver,
  teams: teamsDriver,
  discord: discordDriver,
  webhook: webhookDriver,
  email: emailDriver,
};
