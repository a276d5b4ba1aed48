/** The model of a digest (issue 11 grouping): what the grouping sends instead of many messages. */
import type { NotificationKind, Severity } from "./types";

/**
 * One notification that went into a digest instead of its own message (issue 11 grouping): what
 * a person needs to act on it — which pipeline, what happened, and the link.
 */
export interface DigestEntry {
  notificationId: string;
  kind: NotificationKind;
  pipeline: string;
  /** Source account and region (issue 14), and the account's alias when configured. */
  account: string;
  region: string;
  accountAlias?: string;
  executionId: string;
  stage?: string;
  /** ISO 8601 time of the event. */
  time: string;
  /** Console link of the execution. */
  consoleUrl: string;
  /** The error summary, already redacted and cut (at most 200 characters). */
  summary?: string;
}

/**
 * Several notifications for one channel within one grouping window, sent as one message
 * ("37 pipelines failed in the last 2 minutes"), listed one line per pipeline with its count
 * (channels/digest-groups.ts). `count` may exceed `entries.length` (a shortened digest keeps only
 * its first pipelines' entries), and `pipelines` the pipelines among the entries: a medium's list
 * then says how many pipelines are not shown.
 */
export interface Digest {
  /** Stable id of the digest: channel name and window start (the ledger slot of its delivery). */
  id: string;
  /** Channel instance name. */
  channel: string;
  /** ISO 8601 bounds of the grouping window. */
  windowStart: string;
  windowEnd: string;
  /** How many notifications the digest stands for. */
  count: number;
  /** Distinct pipelines among them. */
  pipelines: number;
  /** The grouped notifications, oldest first. */
  entries: DigestEntry[];
  /** The highest severity among them. */
  severity: Severity;
  /** Only for paging channels (SMS): the channel where the full list is, e.g. `slack-oncall`. */
  seeChannel?: string;
}
