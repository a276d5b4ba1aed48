/**
 * The wire contract of the CodePipeline events the notifier consumes: their EventBridge `source`
 * and the three `detail-type`s (REFERENCE.md, AWS CodePipeline; "Monitoring CodePipeline events",
 * https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html).
 *
 * One definition for both sides: the fan-out Lambda's parser (handlers/events) accepts exactly
 * these, and the EventBridge rule (infra/patterns.ts) matches exactly these.
 */
import type { EventBridgeEvent } from "aws-lambda";
import type { EventLevel } from "../types";

/** The EventBridge `source` of CodePipeline events. */
export const CODEPIPELINE_SOURCE = "aws.codepipeline";

/** The `detail-type` of each event level, by name. */
export const DETAIL_TYPE = {
  pipeline: "CodePipeline Pipeline Execution State Change",
  stage: "CodePipeline Stage Execution State Change",
  action: "CodePipeline Action Execution State Change",
} as const;

/** One of the three CodePipeline execution state change `detail-type`s. */
export type CodePipelineDetailType = (typeof DETAIL_TYPE)[EventLevel];

/** The three CodePipeline `detail-type`s and the level each one reports on. */
export const CODEPIPELINE_DETAIL_TYPES: Readonly<Record<string, EventLevel>> = {
  [DETAIL_TYPE.pipeline]: "pipeline",
  [DETAIL_TYPE.stage]: "stage",
  [DETAIL_TYPE.action]: "action",
};

/**
 * `detail.execution-trigger` of V2 pipeline events. Git-triggered executions carry the commit
 * instead of (or beside) `trigger-type` / `trigger-detail`.
 */
export interface CodePipelineExecutionTrigger {
  "trigger-type"?: string;
  "trigger-detail"?: string;
  "branch-name"?: string;
  "tag-name"?: string;
  "commit-id"?: string;
  "commit-message"?: string;
  "author-display-name"?: string;
  "author-id"?: string;
  /** "owner/repo" */
  "full-repository-name"?: string;
  /** "GitHub", "GitLab", "Bitbucket", … */
  "provider-type"?: string;
}

/** `detail.execution-result` of action events. */
export interface CodePipelineExecutionResult {
  "external-execution-url"?: string;
  "external-execution-summary"?: string;
  "external-execution-id"?: string;
  "error-code"?: string;
}

/** `detail.type` of action events. Documented as strings; `version` is a number in some events. */
export interface CodePipelineActionType {
  owner?: string;
  category?: string;
  provider?: string;
  version?: string;
}

/**
 * `detail` of a CodePipeline execution state change as documented; the fields of stages and
 * actions are absent from pipeline events. Real events differ (numbers as strings and back,
 * unknown fields): the parser reads every value as `unknown`.
 */
export interface CodePipelineEventDetail {
  pipeline: string;
  "execution-id": string;
  /** e.g. "STARTED", "FAILED". */
  state: string;
  /** Pipeline structure version; `3`, `3.0` or `"3"` in the wild. */
  version?: number;
  stage?: string;
  action?: string;
  /** Action events: where the action ran (cross-region actions). */
  region?: string;
  type?: CodePipelineActionType;
  "execution-result"?: CodePipelineExecutionResult;
  "execution-trigger"?: CodePipelineExecutionTrigger;
  /** ISO 8601. */
  "start-time"?: string;
  /** 1 for the first run, 2 after the first retry, … */
  "pipeline-execution-attempt"?: number;
  "action-execution-id"?: string;
  /** STOPPING / STOPPED pipeline events. */
  "stop-execution-comments"?: string;
}

/** A CodePipeline execution state change as EventBridge delivers it (the SQS record body). */
export type CodePipelineStateChangeEvent = EventBridgeEvent<
  CodePipelineDetailType,
  CodePipelineEventDetail
>;
