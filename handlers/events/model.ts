/**
 * The validated CodePipeline event that the parser produces, its outcome type, and the limits the
 * parser applies.
 */
import type { EventLevel } from "../types";

/**
 * Cap of free text (summaries, commit messages, stop comments), in UTF-16 code units. Generous
 * on purpose: each channel truncates further to its own limit, and the full text is worth
 * keeping for the audit trail. A build log pasted into a summary must not make the event fail.
 */
export const MAX_TEXT_CHARS = 64 * 1024;

/**
 * Longest accepted identifier (pipeline, execution id, stage, action, event id, …). CodePipeline
 * names are at most 100 characters; anything near this cap is not a CodePipeline event, and an
 * identifier must never be truncated (it keys the ledger and the approval calls). A longer one
 * rejects the event (audited with the reason `<field>: longer than 1024 characters`). Within the
 * cap, every key fits DynamoDB whatever the characters: handlers/store/keys.ts hashes the end of
 * a key that would pass DynamoDB's byte limits (1024 characters can be 4096 UTF-8 bytes).
 */
export const MAX_ID_CHARS = 1024;

/** A validated CodePipeline event. All strings are trimmed; free text is capped. */
export interface CodePipelineEvent {
  /** EventBridge event id. Not stable across duplicates: see `notificationId`. */
  id: string;
  detailType: string;
  level: EventLevel;
  account: string;
  region: string;
  /** EventBridge event time, ISO 8601. */
  time: string;
  pipeline: string;
  executionId: string;
  /** Upper-cased state, e.g. "FAILED". */
  state: string;
  /** Pipeline structure version. */
  version?: number;
  stage?: string;
  action?: string;
  actionType?: { owner?: string; category?: string; provider?: string; version?: string };
  result?: {
    externalExecutionUrl?: string;
    externalExecutionSummary?: string;
    externalExecutionId?: string;
    errorCode?: string;
  };
  /**
   * `execution-trigger` of V2 pipeline events. Git-triggered executions carry the commit instead
   * of (or beside) `trigger-type`/`trigger-detail`.
   */
  trigger?: {
    type?: string;
    detail?: string;
    branch?: string;
    tag?: string;
    commitId?: string;
    commitMessage?: string;
    author?: string;
    /** "owner/repo" */
    repository?: string;
    /** "GitHub", "GitLab", "Bitbucket", … */
    providerType?: string;
  };
  /** `start-time`: when the pipeline execution started (ISO 8601). */
  startTime?: string;
  /** `pipeline-execution-attempt`: 1 for the first run, 2 after the first retry, … */
  attempt?: number;
  /** `action-execution-id` (action events). */
  actionExecutionId?: string;
  /** `detail.region` of action events: where the action ran (cross-region actions). */
  actionRegion?: string;
  /** `stop-execution-comments` of STOPPING/STOPPED pipeline events. Untrusted text. */
  stopComments?: string;
  /** Paths of fields that were cut to {@link MAX_TEXT_CHARS}, e.g. `detail.execution-result.external-execution-summary`. */
  truncated?: string[];
}

/**
 * Outcome of `parseEventBridgeEvent`. A failure is `malformed` (broken or incomplete input) or
 * `foreign` (a well-formed event that is not a CodePipeline execution state change); the
 * identifiers are filled in when they could be read, so the audit record can name the pipeline.
 * `unconfigured-source` (issue 14, events/sources.ts `admitSource`): a valid event from an account
 * or region that is neither the notifier's own nor a configured source; it carries the event's
 * `account` and `region`, and `pipeline` is its pipeline key (contracts/pipeline-id.ts).
 */
export type ParseResult =
  | { ok: true; event: CodePipelineEvent }
  | {
      ok: false;
      kind: "malformed" | "foreign" | "unconfigured-source";
      reason: string;
      pipeline?: string;
      executionId?: string;
      eventId?: string;
      account?: string;
      region?: string;
    };
