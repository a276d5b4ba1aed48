/**
 * Grouping defaults and bounds (issue 11), read by the config (config/index.ts, config key
 * `grouping`) and by the fan-out (fanout/grouping.ts): one contract, so the two cannot disagree.
 */
import type { ChannelType, GroupingRule } from "../types";

/**
 * Each channel type's grouping when config says nothing (`undefined`: never grouped). Chat,
 * webhook and email show 3 messages per 60 s window and then one digest at the window's end (a
 * person reads a handful of lines, not a scrolling flood; Slack's 1 message per second per
 * channel would otherwise take minutes to drain a storm); the on-call phone gets 1 text per
 * 120 s window plus one "N more — see <slack channel>" text; PagerDuty is never grouped (one open
 * incident per pipeline already bounds its pages, store/incidents.ts).
 */
export const DEFAULT_GROUPING: Readonly<Record<ChannelType, GroupingRule | undefined>> = {
  slack: { windowSeconds: 60, maxIndividual: 3 },
  teams: { windowSeconds: 60, maxIndividual: 3 },
  discord: { windowSeconds: 60, maxIndividual: 3 },
  webhook: { windowSeconds: 60, maxIndividual: 3 },
  email: { windowSeconds: 60, maxIndividual: 3 },
  sms: { windowSeconds: 120, maxIndividual: 1 },
  pagerduty: undefined,
};

/** Shortest grouping window, seconds. */
export const MIN_WINDOW_SECONDS = 10;

/**
 * Longest grouping window, seconds: the flush message waits up to the window plus a few seconds
 * on the events queue, and SQS delays a message at most 900 s (SendMessage `DelaySeconds`:
 * "Valid values: 0 to 900").
 */
export const MAX_WINDOW_SECONDS = 600;

/** Most notifications sent on their own per window. */
export const MAX_INDIVIDUAL = 100;
