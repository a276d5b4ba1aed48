/**
 * Shared domain types of the Lambda handlers.
 *
 * These types are the contract between the Pulumi program (which validates stack config with zod
 * and hands the handlers a plain `RuntimeConfig`) and the handler code (which must stay free of
 * `@pulumi/*` and zod so that its serialized archive stays small).
 */
import type { ChannelConfig } from "../config/schema";

/** CodePipeline execution states (pipeline, stage and action level). */
export const PIPELINE_STATES = [
  "STARTED",
  "SUCCEEDED",
  "RESUMED",
  "FAILED",
  "CANCELED",
  "STOPPED",
  "STOPPING",
  "SUPERSEDED",
] as const;
export type PipelineState = (typeof PIPELINE_STATES)[number];

/** PagerDuty Events API v2 severities; also used as the urgency of a tier. */
export const SEVERITIES = ["critical", "error", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The channel types this product can deliver to. */
export const CHANNEL_TYPES = [
  "slack",
  "pagerduty",
  "sms",
  "teams",
  "discord",
  "webhook",
  "email",
] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** Level of the CodePipeline event a notification came from. */
export type EventLevel = "pipeline" | "stage" | "action";

/**
 * What a notification means for people. `rejection` is a FAILED execution caused by a rejected
 * manual approval: it is never reported as a failure and never pages. `approval-expired` is a
 * manual approval that nobody answered within its timeout (7 days by default): CodePipeline ends
 * it as a FAILED Approval action with no "Rejected by" summary (REFERENCE.md, CodePipeline's
 * lifecycle); it never pages either.
 */
export type NotificationKind =
  | "failure"
  | "success"
  | "rejection"
  | "approval-request"
  | "approval-expired"
  | "superseded"
  | "canceled"
  | "stopped"
  | "status";

/** The source revision of an execution, where CodePipeline knows it. */
export interface SourceRevision {
  /** Commit id (or S3 version / image digest). */
  id?: string;
  /** Commit message, untrusted user text. */
  message?: string;
  /** Author, untrusted user text. */
  author?: string;
  /** Link to the commit. */
  url?: string;
}

/** CodePipeline execution modes (API reference, `PipelineExecution.executionMode`). */
export type ExecutionMode = "SUPERSEDED" | "QUEUED" | "PARALLEL";

/**
 * What a rollback execution undid (pipeline type V2; API reference, `ExecutionTrigger` and
 * `PipelineRollbackMetadata`): executions of type `ROLLBACK`, started by `AutomatedRollback` (a
 * stage failed) or `ManualRollback` (RollbackStage).
 */
export interface RollbackInfo {
  trigger: "AutomatedRollback" | "ManualRollback";
  /** The execution the stage was rolled back to (`rollbackTargetPipelineExecutionId`). */
  targetExecutionId?: string;
  /** The execution whose failure caused an automated rollback, when CodePipeline says. */
  failedExecutionId?: string;
}

/** Details of a pending manual approval (approval requests only). */
export interface ApprovalDetails {
  /** The approval action's configured custom data (untrusted). */
  customData?: string;
  /** The approval action's configured external link for review. */
  reviewUrl?: string;
  /** When the approval times out (ISO 8601). */
  expiresAt?: string;
  /**
   * The approval action's `timeoutInMinutes` (API reference, `ActionDeclaration`: manual approval
   * actions only), when GetPipeline said; absent means CodePipeline's default, 7 days.
   */
  timeoutMinutes?: number;
  /** Slack user ids allowed to decide. */
  approvers: string[];
}

/**
 * One normalized notification: the single model that every channel formats, whatever the
 * CodePipeline event (pipeline, stage or action level) it came from.
 */
export interface Notification {
  /** Stable id: the same event (or its redelivery) always yields the same id. Ledger key. */
  id: string;
  /** The EventBridge event id this notification was made from. */
  eventId: string;
  kind: NotificationKind;
  level: EventLevel;
  pipeline: string;
  executionId: string;
  state: PipelineState | string;
  stage?: string;
  action?: string;
  /** `type.category` of an action event, e.g. "Build", "Deploy", "Approval". */
  actionCategory?: string;
  /** `type.provider` of an action event, e.g. "CodeBuild", "Manual". */
  actionProvider?: string;
  errorCode?: string;
  /** Error or result summary: untrusted text from the pipeline. */
  summary?: string;
  /** Link to the external execution, e.g. the CodeBuild run and its logs. */
  externalUrl?: string;
  account: string;
  region: string;
  /** The account's alias from config `sources[].alias` (issue 14), when configured. */
  accountAlias?: string;
  /**
   * Messages name the account and region (issue 14, channels/common.ts `originOf`): set when the
   * pipeline is not in the notifier's own account and region, or the stack has `sources`.
   */
  showOrigin?: boolean;
  /** Event time, ISO 8601. */
  time: string;
  /** CodePipeline console link of the execution. */
  consoleUrl: string;
  /** Tier of the pipeline, from stack config. */
  tier: string;
  severity: Severity;
  /** Who decided, for rejections ("Jane Doe (U012ABC)"). */
  decidedBy?: string;
  revision?: SourceRevision;
  /** What started the run, e.g. "Webhook", "StartPipelineExecution by arn:…". */
  trigger?: string;
  approval?: ApprovalDetails;
  /**
   * `pipeline-execution-attempt`: 1 for the first run of the execution, 2 after the first
   * RetryStageExecution, … (REFERENCE.md, CodePipeline's lifecycle). Absent means 1.
   */
  attempt?: number;
  /**
   * `action-execution-id` of an action event: one run of one action. For an approval request it
   * identifies the run (and so the token) that the request's buttons decide.
   */
  actionExecutionId?: string;
  /** Set when this execution is a rollback (type `ROLLBACK`). */
  rollback?: RollbackInfo;
  /** The pipeline's execution mode, when the CodePipeline API said. */
  executionMode?: ExecutionMode;
  /** Caveats shown to people, e.g. "details unavailable: CodePipeline API timed out". */
  notes?: string[];
}

export type { Digest, DigestEntry } from "./digest-model";

/**
 * A pipeline selector from stack config: exact name or name prefix, optionally only in one source
 * account and/or region (issue 14; absent: any account / region the stack admits).
 */
export type PipelineMatch = ({ name: string } | { prefix: string }) & {
  /** 12-digit AWS account id. */
  account?: string;
  /** AWS region, e.g. `eu-west-1`. */
  region?: string;
};

/** Slack approvals for a pipeline. */
export interface ApprovalConfig {
  /** Name of the slack channel instance the approval request goes to. */
  channel: string;
  /** Slack user ids (U…/W…) allowed to approve or reject. */
  approvers: string[];
  /**
   * Hours before a pending request expires at which its approvers get one reminder (default
   * {@link DEFAULT_REMINDER_BEFORE_HOURS}; 0: no reminder). Read by handlers/reminders.
   */
  reminderBeforeHours?: number;
}

/** Default `reminderBeforeHours` of an approvals config: one day before the request expires. */
export const DEFAULT_REMINDER_BEFORE_HOURS = 24;

/** A configured pipeline (or pipeline family, by prefix). */
export interface PipelineRule {
  match: PipelineMatch;
  tier: string;
  /** Pipeline execution states that notify. */
  states: PipelineState[];
  approvals?: ApprovalConfig;
}

/**
 * Non-secret settings of a channel instance (secret settings live in Secrets Manager), inferred
 * from the stack config schema, the one definition (config/schema.ts `channelSchema`). A type-only
 * import: erased at compile time, so zod never reaches an archive.
 */
export type { ChannelConfig } from "../config/schema";

/** The settings of one channel type, e.g. `ChannelConfigOf<"slack">` (what its driver receives). */
export type ChannelConfigOf<T extends ChannelType> = Extract<ChannelConfig, { type: T }>;

/** Routing of one tier. */
export interface TierRoute {
  channels: string[];
  severity: Severity;
}

/** A recurring or one-off maintenance window that suppresses notifications. */
export type DowntimeWindow = {
  name: string;
  /** Pipeline names; an entry ending in `*` is a prefix. Empty or absent: all pipelines. */
  pipelines?: string[];
  /** Let critical-tier failures through during this window. */
  allowCritical: boolean;
} & (
  | {
      kind: "weekly";
      timeZone: string;
      /** Lower-case three-letter day names: mon … sun. */
      days: string[];
      /** Local "HH:MM"; `end` ≤ `start` means the window crosses midnight. */
      start: string;
      end: string;
    }
  | {
      kind: "cron";
      timeZone: string;
      /**
       * Five-field cron expression (minute hour day-of-month month day-of-week) in `timeZone`, read
       * by croner with the options of handlers/downtime.ts; the window starts when it fires.
       */
      cron: string;
      /** Real minutes the window lasts from each fire time: 1 to 10080 (config/downtime.ts). */
      durationMinutes: number;
    }
  | {
      kind: "once";
      /** ISO 8601 instants. */
      from: string;
      to: string;
    }
);

/** Everything the handlers need from stack config, none of it secret. */
export interface RuntimeConfig {
  project: string;
  stack: string;
  pipelines: PipelineRule[];
  channels: Record<string, ChannelConfig>;
  routing: Record<string, TierRoute>;
  downtime: DowntimeWindow[];
  auditRetentionDays: number;
  /**
   * The source accounts whose CodePipeline events the central bus admits (issue 14). Absent or
   * empty: only the notifier's own account and region (`HOME_ACCOUNT`, `AWS_REGION`).
   */
  sources?: SourceAccount[];
  /**
   * Grouping into digests (issue 11, config key `grouping`, fanout/grouping.ts), resolved per
   * channel instance. Absent: each channel type's default (fanout/grouping.ts
   * `DEFAULT_GROUPING`).
   */
  grouping?: GroupingConfig;
}

/** How one channel instance groups: at most `maxIndividual` messages per window, then a digest. */
export interface GroupingRule {
  /** Length of a grouping window, seconds (AWS time). */
  windowSeconds: number;
  /** Notifications sent on their own per window (≥ 1); the rest go in the window's digest. */
  maxIndividual: number;
}

/** The runtime view of config key `grouping`. */
export interface GroupingConfig {
  /** false: nothing is grouped (every notification is a message of its own). */
  enabled: boolean;
  /** Per channel instance: its rule, or false (never grouped); absent: its type's default. */
  channels: Record<string, GroupingRule | false>;
}

/** One source account of a multi-account stack (config key `sources[]`), none of it secret. */
export interface SourceAccount {
  /** 12-digit AWS account id. */
  account: string;
  /** Regions whose CodePipeline events are forwarded to the central bus. */
  regions: string[];
  /** Human name shown in messages instead of the account id (e.g. `payments-prod`). */
  alias?: string;
}

export { CHANNEL_SECRET_FIELDS } from "./secrets-model";
export type { ChannelSecrets, SlackAppSecrets } from "./secrets-model";
export { ENV } from "./env";
