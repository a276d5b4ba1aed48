/**
 * The types shared by the approval Lambda's modules: its config, the claim of a decision, the
 * asynchronous work event and what the handler answers.
 */
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from "aws-lambda";
import type { Logger } from "../channels/types";
import type { ApprovalButtonValue, ApprovalDecision } from "../contracts/slack-approval";
import type { PipelineRule, SourceAccount } from "../types";
import type { RunEnd } from "./ended";

/** What the approval handler needs from stack config, none of it secret. */
export interface ApprovalHandlerConfig {
  project: string;
  stack: string;
  pipelines: PipelineRule[];
  /**
   * The configured source accounts and their regions (config key `sources`, issue 14): an
   * approval for a pipeline in any other (account, region) than these and the notifier's own is
   * refused and audited (authorize.ts). Absent or empty: the home account and region only.
   */
  sources?: SourceAccount[];
  /** How long audit records and decision claims are kept, in days (the items' TTL). */
  auditRetentionDays: number;
  /** Base of the Slack Web API (`views.open`, `chat.update`); default https://slack.com/api. */
  slackApiUrl?: string;
  /**
   * The approval function's timeout in seconds (infra's `SETTINGS.approvalTimeoutSeconds`): a claim
   * whose work has not settled within this plus `CLAIM_MARGIN_MS` (decision.ts) is taken over by
   * the next click. Default: Lambda's maximum timeout, 900 s (Lambda quotas), which never takes
   * over a live work.
   */
  workTimeoutSeconds?: number;
}

/** The approval a button stands for (the button value of the wire contract). */
export type ApprovalTarget = ApprovalButtonValue;

/** The Slack user who clicked or submitted. */
export interface SlackActor {
  id: string;
  username?: string;
  name?: string;
}

/**
 * The subset of a Slack message that the flow reads back from the interaction payload. Its blocks
 * are Slack's JSON as sent back (our own blocks, but unchecked), hence not typed further.
 */
export interface SlackMessage {
  text?: string;
  blocks?: Record<string, unknown>[];
}

/** A claimed decision: who decided what, and when. Stored in DynamoDB and passed to the work. */
export interface ApprovalClaim extends ApprovalTarget {
  decision: ApprovalDecision;
  user: SlackActor;
  /** When the click was claimed (ISO 8601). */
  at: string;
  /** Why it was rejected, when given in the reject-reason modal (normalized, ≤ 500 chars). */
  reason?: string;
}

/** Discriminator of work events: the value of their `"deploy-notifier"` field. */
export const WORK_MARKER = "approval-work";

/** The event the click sends to this same function (asynchronous invoke) to do the slow work. */
export interface ApprovalWorkEvent {
  "deploy-notifier": typeof WORK_MARKER;
  claim: ApprovalClaim;
  /** The interaction's response_url: a capability URL, never logged. */
  responseUrl?: string;
  /**
   * When Slack issued `responseUrl` (ISO 8601; the click, which for a reject-with-reason is
   * earlier than the claim). A response_url works for 30 minutes (REFERENCE.md, Slack); absent:
   * the claim's `at`.
   */
  responseUrlAt?: string;
  /** The channel id and `ts` of the request message, for `chat.update` when response_url fails. */
  channel?: string;
  messageTs?: string;
  /** The approval request message as Slack sent it back, to rebuild it without buttons. */
  message?: SlackMessage;
  /**
   * The `approval-click` audit record of the claim (its result and detail), which the work
   * writes: written here, off the click's 3 s path (absent: an event from before it moved).
   */
  clickAudit?: { result: string; detail: Record<string, unknown> };
  /**
   * Set when the click could not learn within its budget whether DynamoDB applied its claim (the
   * answer did not come: `reason`, the last error's name, e.g. `AbortError`): the work settles
   * that first (unconfirmed.ts) — proceeds on the click's own claim, claims an absent item
   * itself, or tells the clicker who holds it.
   */
  unconfirmed?: { reason: string };
}

/**
 * What the work did; returned by the handler for work events (logs and tests read it).
 * `superseded`: the run the request was posted for was replaced by a newer run.
 * `mayHaveDecided` (a `transient-error`): CodePipeline may have taken the decision (its reply was
 * lost and the run could not be read back), so the clicker is not told "nothing was decided".
 */
export type ApprovalWorkOutcome =
  /** Decided; `stopping`: its execution is stopping and goes no further (token.ts `RunToken`). */
  | { outcome: "decided"; stopping?: boolean }
  /**
   * The claimed run can no longer be decided and CodePipeline says why (ended.ts `RunEnd`):
   * decided by someone else (who, when), expired, or its execution stopped / superseded /
   * cancelled; `reason` is what the clicker is told.
   */
  | { outcome: "ended"; reason: string; end: RunEnd }
  | {
      outcome: "final-error" | "transient-error" | "invalid" | "superseded";
      reason: string;
      mayHaveDecided?: boolean;
    };

/** The answer to a function URL request: always the structured form, with a text body. */
export type ApprovalResponse = Extract<LambdaFunctionURLResult, object> & {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
};

/** The Lambda handler: function URL requests and this function's own work events. */
export type ApprovalHandler = (
  event: LambdaFunctionURLEvent | ApprovalWorkEvent,
  context?: Context,
) => Promise<ApprovalResponse | ApprovalWorkOutcome>;

/** What every step of one invocation needs: the config, the logger and the Lambda context. */
export interface ApprovalRuntime {
  config: ApprovalHandlerConfig;
  /** The invocation's logger; callers pass no secrets (signature, response_url, token, body). */
  log: Logger;
  /** Undefined when the caller gave no context (tests). */
  context: Context | undefined;
  /** A Slack request's time budget (budget.ts); undefined in the asynchronous work. */
  ack?: AckBudget;
}

/**
 * The time a Slack request (click, modal submission) has before its answer must be on its way:
 * Slack waits 3 s for the acknowledgement, then shows the user an error (REFERENCE.md, Slack;
 * Slack docs, "Handling user interaction": "respond … within 3 seconds").
 */
export interface AckBudget {
  /** Epoch ms by which the handler returns its answer. */
  answerBy: number;
  /** Epoch ms by which DynamoDB calls on the path have ended (time left to post an ephemeral). */
  storeBy: number;
  /** Aborted at `storeBy`: DynamoDB calls on the path pass it as their `abortSignal`. */
  signal: AbortSignal;
}
