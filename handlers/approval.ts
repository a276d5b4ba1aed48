/**
 * The Slack approval handler: Slack button click → verified, authorized, first click wins →
 * CodePipeline PutApprovalResult → the Slack message updated → audit records.
 *
 * One Lambda behind a function URL does two jobs:
 * - the **click**: answers Slack within its 3 s budget. It verifies the signature, refuses
 *   replays, authorizes the clicker, claims the decision in DynamoDB (first click wins) and
 *   invokes itself asynchronously with an `approval-work` event;
 * - the **work**: reads the current approval token with GetPipelineState, calls
 *   PutApprovalResult and replaces the buttons in the Slack message via `response_url`.
 *
 * A work event can only come from the Lambda Invoke API (IAM-authorized): a function URL event
 * always carries `requestContext` and its body is a string, so a caller on the URL cannot forge
 * one.
 *
 * Claims (pk `APPROVAL#<pipeline>#<execution id>`, sk `<stage>#<action>`) are kept once the
 * outcome is final: decided, already decided in CodePipeline, expired token, no longer pending,
 * not found. Nobody can decide those from Slack any more, so later clicks are told who clicked
 * first. A claim is released (deleted) only when nothing was decided for a reason that may pass:
 * the self-invoke failed, or CodePipeline timed out, throttled or failed; then the buttons stay
 * and anyone may click again.
 *
 * Rejecting with a reason: when the Slack app secret has a `botToken`, a Reject click by an
 * approver (while nobody decided yet) opens a modal with `views.open` instead of deciding. The
 * `trigger_id` expires 3 s after the click, so the modal is opened before the ack, with a short
 * timeout; if Slack refuses or is slow, the click rejects at once without a reason, as without a
 * bot token. The modal's `view_submission` (same URL, same signature check) re-authorizes the
 * user, claims the decision and hands the same work event, with the reason, to the async work.
 */
import { InvokeCommand } from "@aws-sdk/client-lambda";
import type * as CodePipelineSdk from "@aws-sdk/client-codepipeline";
import { DeleteCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { codepipeline, ddb, isConditionFailed, lambda, requireEnv, secretJson } from "./aws";
import { postJson } from "./http";
import { expiresAt, putAudit, UNKNOWN_PIPELINE, type AuditRecord } from "./audit";
import {
  actorLabel,
  alreadyDecidedPlain,
  alreadyDecidedText,
  approvalSummary,
  authorizeApprover,
  decisionLine,
  decisionOf,
  ephemeral,
  mentionOf,
  normalizeReason,
  parseApprovalTarget,
  parseInteraction,
  parseRejectReasonMetadata,
  parseViewSubmission,
  rejectReasonMetadata,
  rejectReasonModal,
  replaceButtons,
  utcTime,
  REJECT_REASON_CALLBACK_ID,
  REJECT_REASON_INPUT_ID,
  type ApprovalDecision,
  type ApprovalTarget,
  type BlockActionsInteraction,
  type SlackActor,
  type SlackMessage,
  type ViewSubmission,
} from "./approval-message";
import { escapeSlackText } from "./slack-text";
import { SLACK_SIGNATURE_MAX_SKEW_SECONDS, verifySlackSignature } from "./slack-signature";
import { ENV, type PipelineRule, type SlackAppSecrets } from "./types";

/** What the approval handler needs from stack config, none of it secret. */
export interface ApprovalHandlerConfig {
  project: string;
  stack: string;
  pipelines: PipelineRule[];
  auditRetentionDays: number;
  /** Base of the Slack Web API (for `views.open`); default https://slack.com/api. */
  slackApiUrl?: string;
}

/** A Lambda function URL request (payload format 2.0), reduced to the fields read here. */
export interface FunctionUrlEvent {
  version?: string;
  rawPath?: string;
  /** Lower-case header names. */
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { http?: { method?: string; path?: string }; timeEpoch?: number };
}

/** A Lambda function URL response. */
export interface FunctionUrlResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
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

/** The event the click sends to this same function (asynchronous invoke) to do the slow work. */
export interface ApprovalWorkEvent {
  "deploy-notifier": "approval-work";
  claim: ApprovalClaim;
  /** The interaction's response_url: a capability URL, never logged. */
  responseUrl?: string;
  /** The approval request message as Slack sent it back, to rebuild it without buttons. */
  message?: SlackMessage;
}

/** What the work did; returned by the handler for work events (logs and tests read it). */
export type ApprovalWorkOutcome =
  | { outcome: "decided" }
  | { outcome: "final-error" | "transient-error" | "invalid"; reason: string };

/** The part of the Lambda context the handler reads. */
export interface ApprovalContext {
  functionName?: string;
}

/** The Lambda handler: function URL requests and this function's own work events. */
export type ApprovalHandler = (
  event: FunctionUrlEvent | ApprovalWorkEvent,
  context?: ApprovalContext,
) => Promise<FunctionUrlResponse | ApprovalWorkOutcome>;

/** Discriminator of work events. */
const WORK_MARKER = "approval-work";

/** Outbound Slack posts from the click path share Slack's 3 s budget with everything else. */
const CLICK_POST_TIMEOUT_MS = 2000;
/**
 * `views.open` must succeed before the trigger_id expires, 3 s after the click, and the ack must
 * still reach Slack within its 3 s: beyond this, fall back to rejecting without a reason.
 */
const VIEWS_OPEN_TIMEOUT_MS = 2000;
const DEFAULT_SLACK_API_URL = "https://slack.com/api";
const WORK_POST_TIMEOUT_MS = 5000;

/** A replay record must outlive the whole window in which the timestamp is accepted. */
const REPLAY_TTL_SECONDS = 2 * SLACK_SIGNATURE_MAX_SKEW_SECONDS + 60;

/** CodePipeline errors after which nothing can be decided from Slack any more (claim kept). */
const FINAL_ERRORS: Record<string, string> = {
  ApprovalAlreadyCompletedException: "already decided in CodePipeline",
  InvalidApprovalTokenException: "this approval has expired or was already handled",
  PipelineNotFoundException: "pipeline not found",
  StageNotFoundException: "stage not found",
  ActionNotFoundException: "action not found",
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorName(err: unknown): string {
  if (err instanceof Error) return err.name;
  if (isRecord(err) && typeof err.name === "string") return err.name;
  return "UnknownError";
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One JSON log line. Callers pass no secrets: no signature, response_url, token or body. */
function log(level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown> = {}) {
  const line = JSON.stringify({ level, msg, component: "approval", ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

function respond(
  statusCode: number,
  body: string,
  contentType = "text/plain",
): FunctionUrlResponse {
  return { statusCode, headers: { "content-type": contentType }, body };
}

/** The opaque answer to anything unverified: no reason goes back to the caller. */
const unauthorized = (): FunctionUrlResponse => respond(401, "unauthorized");
const ok = (): FunctionUrlResponse => respond(200, "");

function header(event: FunctionUrlEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  if (headers[name] !== undefined) return headers[name];
  // Function URLs lower-case header names; other front ends (API Gateway v1) may not.
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function isWorkEvent(event: unknown): event is ApprovalWorkEvent {
  return (
    isRecord(event) && event["deploy-notifier"] === WORK_MARKER && !("requestContext" in event)
  );
}

/**
 * Writes an audit record without failing the flow: the decision in CodePipeline (which records
 * its own summary) matters more than our record of it, and a throw in the work would make Lambda
 * retry the whole asynchronous invocation.
 */
async function audit(config: ApprovalHandlerConfig, record: AuditRecord): Promise<void> {
  try {
    await putAudit(record, config.auditRetentionDays);
  } catch (err: unknown) {
    log("error", "audit write failed", {
      auditAction: record.action,
      pipeline: record.pipeline,
      error: errorMessage(err),
    });
  }
}

/** POSTs a message to a Slack response_url. Never throws; failures are logged without the URL. */
async function postToResponseUrl(
  responseUrl: string | undefined,
  body: Record<string, unknown>,
  timeoutMs: number,
): Promise<boolean> {
  if (!responseUrl) {
    log("warn", "slack response_url missing: cannot answer the user");
    return false;
  }
  try {
    const res = await postJson(responseUrl, body, {
      channel: "slack",
      label: "slack response_url",
      deadline: Date.now() + timeoutMs,
      timeoutMs,
    });
    if (res.status < 200 || res.status >= 300) {
      log("warn", "slack response_url post failed", { status: res.status });
      return false;
    }
    return true;
  } catch (err: unknown) {
    log("warn", "slack response_url post failed", { error: errorName(err) });
    return false;
  }
}

function tableName(): string {
  return requireEnv(ENV.table);
}

function claimKey(target: ApprovalTarget): { pk: string; sk: string } {
  return {
    pk: `APPROVAL#${target.pipeline}#${target.executionId}`,
    sk: `${target.stage}#${target.action}`,
  };
}

/**
 * Records a verified signature; false when it was already recorded (a replay). The signature
 * covers timestamp and body, so only a byte-identical resend within the window collides.
 */
async function recordSignature(signature: string, now: Date): Promise<boolean> {
  try {
    await ddb().send(
      new PutCommand({
        TableName: tableName(),
        Item: {
          pk: `REPLAY#${signature}`,
          sk: "REPLAY",
          expiresAt: Math.floor(now.getTime() / 1000) + REPLAY_TTL_SECONDS,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return true;
  } catch (err: unknown) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}

/** Claims the decision; returns the existing claim when someone was first. */
async function claimDecision(
  config: ApprovalHandlerConfig,
  claim: ApprovalClaim,
): Promise<{ won: true } | { won: false; existing: ApprovalClaim | undefined }> {
  const key = claimKey(claim);
  try {
    await ddb().send(
      new PutCommand({
        TableName: tableName(),
        Item: {
          ...key,
          ...claim,
          status: "claimed",
          expiresAt: expiresAt(config.auditRetentionDays),
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return { won: true };
  } catch (err: unknown) {
    if (!isConditionFailed(err)) throw err;
  }
  const got = await ddb().send(
    new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }),
  );
  return { won: false, existing: got.Item as ApprovalClaim | undefined };
}

/** Releases our claim so that someone can retry; only if it is still ours. */
async function releaseClaim(claim: ApprovalClaim): Promise<void> {
  try {
    await ddb().send(
      new DeleteCommand({
        TableName: tableName(),
        Key: claimKey(claim),
        ConditionExpression: "#user.#id = :user AND #at = :at",
        ExpressionAttributeNames: { "#user": "user", "#id": "id", "#at": "at" },
        ExpressionAttributeValues: { ":user": claim.user.id, ":at": claim.at },
      }),
    );
  } catch (err: unknown) {
    log("error", "approval claim release failed", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: errorName(err),
    });
  }
}

function claimRecord(
  claim: ApprovalClaim,
): Pick<AuditRecord, "pipeline" | "executionId" | "actor"> {
  return {
    pipeline: claim.pipeline,
    executionId: claim.executionId,
    actor: actorLabel(claim.user),
  };
}

function claimDetail(claim: ApprovalClaim): Record<string, unknown> {
  const detail: Record<string, unknown> = {
    stage: claim.stage,
    action: claim.action,
    decision: claim.decision,
    at: claim.at,
  };
  if (claim.reason !== undefined) detail.reason = claim.reason;
  return detail;
}

/** The current claim of an approval, if anyone decided it. */
async function readClaim(target: ApprovalTarget): Promise<ApprovalClaim | undefined> {
  const got = await ddb().send(
    new GetCommand({ TableName: tableName(), Key: claimKey(target), ConsistentRead: true }),
  );
  return got.Item as ApprovalClaim | undefined;
}

/** What became of an attempt to claim a decision and start its work. */
type StartResult =
  | { status: "started" }
  | { status: "taken"; existing: ApprovalClaim | undefined }
  | { status: "failed" };

/**
 * Claims the decision (first click wins) and invokes this function asynchronously to do the
 * work. Audits the claim, or the failure to start (then the claim is released).
 */
async function startDecision(
  config: ApprovalHandlerConfig,
  work: ApprovalWorkEvent,
  context: ApprovalContext | undefined,
  note: Record<string, unknown> = {},
): Promise<StartResult> {
  const { claim } = work;
  const claimed = await claimDecision(config, claim);
  if (!claimed.won) return { status: "taken", existing: claimed.existing };
  try {
    const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME || context?.functionName;
    if (!functionName) throw new Error("environment variable AWS_LAMBDA_FUNCTION_NAME is not set");
    await lambda().send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "Event",
        Payload: Buffer.from(JSON.stringify(work)),
      }),
    );
  } catch (err: unknown) {
    // Nothing was decided: release the claim so that the click can be retried.
    await releaseClaim(claim);
    log("error", "approval self-invoke failed", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: errorMessage(err),
    });
    await audit(config, {
      action: "approval-error",
      ...claimRecord(claim),
      result: `could not start the approval: ${errorName(err)}`,
      detail: claimDetail(claim),
    });
    return { status: "failed" };
  }
  await audit(config, {
    action: "approval-click",
    ...claimRecord(claim),
    result: "claimed",
    detail: { ...claimDetail(claim), ...note },
  });
  return { status: "started" };
}

/** Audits a click or submission that came after someone else decided. */
async function auditAlreadyDecided(
  config: ApprovalHandlerConfig,
  claim: ApprovalClaim,
  first: ApprovalClaim | undefined,
): Promise<void> {
  await audit(config, {
    action: "approval-click",
    ...claimRecord(claim),
    result: first
      ? `already decided by ${actorLabel(first.user)} (${first.decision}) at ${first.at}`
      : "already decided",
    detail: claimDetail(claim),
  });
}

/** Tells the clicker (ephemeral) who decided first, and audits the late click. */
async function tellAlreadyDecided(
  config: ApprovalHandlerConfig,
  claim: ApprovalClaim,
  first: ApprovalClaim | undefined,
  responseUrl: string | undefined,
): Promise<void> {
  const text = first
    ? alreadyDecidedText(first.decision, first.user.id, first.at)
    : "This approval was already decided.";
  await auditAlreadyDecided(config, claim, first);
  await postToResponseUrl(responseUrl, ephemeral(text), CLICK_POST_TIMEOUT_MS);
}

/**
 * Opens a view with Slack's `views.open`; resolves with the view id. Errors name the method and
 * Slack's error code, never the token.
 */
async function openView(
  config: ApprovalHandlerConfig,
  botToken: string,
  triggerId: string,
  view: Record<string, unknown>,
): Promise<string> {
  const base = (config.slackApiUrl ?? DEFAULT_SLACK_API_URL).replace(/\/+$/, "");
  let body: unknown;
  try {
    const res = await postJson(
      `${base}/views.open`,
      { trigger_id: triggerId, view },
      {
        channel: "slack",
        label: "slack views.open",
        deadline: Date.now() + VIEWS_OPEN_TIMEOUT_MS,
        timeoutMs: VIEWS_OPEN_TIMEOUT_MS,
        headers: { authorization: `Bearer ${botToken}` },
        secrets: [botToken],
      },
    );
    if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
    body = JSON.parse(res.body);
  } catch (err: unknown) {
    throw new Error(`slack views.open: ${errorName(err)}: ${errorMessage(err).slice(0, 200)}`, {
      cause: err,
    });
  }
  if (!isRecord(body) || body.ok !== true) {
    const code =
      isRecord(body) && typeof body.error === "string" ? body.error : "unexpected answer";
    throw new Error(`slack views.open: ${code.slice(0, 100)}`);
  }
  return isRecord(body.view) && typeof body.view.id === "string" ? body.view.id : "";
}

/**
 * A Reject click with a bot token: asks for a reason in a modal instead of deciding. Answers the
 * request when it handled the click (modal opened, or already decided); undefined when the click
 * should reject at once instead (the modal could not be opened), with the reason in `fallback`.
 */
async function askForReason(
  config: ApprovalHandlerConfig,
  click: BlockActionsInteraction,
  claim: ApprovalClaim,
  botToken: string,
): Promise<{ answer: FunctionUrlResponse } | { fallback: string }> {
  const first = await readClaim(claim);
  if (first) {
    await tellAlreadyDecided(config, claim, first, click.responseUrl);
    return { answer: ok() };
  }
  if (!click.triggerId) return { fallback: "no trigger_id" };
  if (!click.responseUrl) return { fallback: "no response_url" };
  const metadata = rejectReasonMetadata({
    pipeline: claim.pipeline,
    stage: claim.stage,
    action: claim.action,
    executionId: claim.executionId,
    responseUrl: click.responseUrl,
    channel: click.channelId,
    messageTs: click.messageTs,
    message: click.message,
  });
  if (metadata === undefined) return { fallback: "private_metadata too long" };
  try {
    const viewId = await openView(
      config,
      botToken,
      click.triggerId,
      rejectReasonModal(claim, metadata),
    );
    await audit(config, {
      action: "approval-click",
      ...claimRecord(claim),
      result: "reason requested",
      detail: { ...claimDetail(claim), viewId },
    });
    return { answer: ok() };
  } catch (err: unknown) {
    log("warn", "reject reason modal failed: rejecting without a reason", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: errorMessage(err),
    });
    return { fallback: errorMessage(err) };
  }
}

/**
 * Handles a verified `block_actions` click. Always answers 200: Slack only needs the ack.
 * `botToken` (from the Slack app secret) enables the reject-reason modal.
 */
async function handleClick(
  config: ApprovalHandlerConfig,
  click: BlockActionsInteraction,
  context: ApprovalContext | undefined,
  botToken: string | undefined,
): Promise<FunctionUrlResponse> {
  const decision = decisionOf(click.actionId);
  const target = parseApprovalTarget(click.value);
  if (!decision) {
    await audit(config, {
      action: "ignored",
      pipeline: target?.pipeline ?? UNKNOWN_PIPELINE,
      executionId: target?.executionId,
      actor: actorLabel(click.user),
      result: "unknown action id",
      detail: { actionId: click.actionId.slice(0, 255) },
    });
    return ok();
  }
  if (!target) {
    await audit(config, {
      action: "approval-error",
      pipeline: UNKNOWN_PIPELINE,
      actor: actorLabel(click.user),
      result: "malformed button value",
    });
    await postToResponseUrl(
      click.responseUrl,
      ephemeral("This approval button is malformed; nothing was decided."),
      CLICK_POST_TIMEOUT_MS,
    );
    return ok();
  }
  const claim: ApprovalClaim = {
    ...target,
    decision,
    user: click.user,
    at: new Date().toISOString(),
  };

  const authorization = authorizeApprover(config.pipelines, target.pipeline, click.user.id);
  if (!authorization.allowed) {
    await audit(config, {
      action: "approval-denied",
      ...claimRecord(claim),
      result: authorization.reason === "not-an-approver" ? "not an approver" : "not configured",
      detail: claimDetail(claim),
    });
    await postToResponseUrl(
      click.responseUrl,
      ephemeral(authorization.message),
      CLICK_POST_TIMEOUT_MS,
    );
    return ok();
  }

  const note: Record<string, unknown> = {};
  if (decision === "Rejected" && botToken) {
    const asked = await askForReason(config, click, claim, botToken);
    if ("answer" in asked) return asked.answer;
    note.reasonPrompt = `failed: ${asked.fallback}`;
  }

  const started = await startDecision(
    config,
    {
      "deploy-notifier": WORK_MARKER,
      claim,
      responseUrl: click.responseUrl,
      message: click.message,
    },
    context,
    note,
  );
  switch (started.status) {
    case "started":
      break;
    case "taken":
      await tellAlreadyDecided(config, claim, started.existing, click.responseUrl);
      break;
    case "failed":
      await postToResponseUrl(
        click.responseUrl,
        ephemeral("⚠️ Could not start the approval; nothing was decided. Please try again."),
        CLICK_POST_TIMEOUT_MS,
      );
      break;
    default: {
      const unreachable: never = started;
      throw new Error(`approval: unhandled start result ${JSON.stringify(unreachable)}`);
    }
  }
  return ok();
}

/** The answer to a view_submission that keeps the modal open with an error under the reason. */
function modalError(message: string): FunctionUrlResponse {
  return respond(
    200,
    JSON.stringify({ response_action: "errors", errors: { [REJECT_REASON_INPUT_ID]: message } }),
    "application/json",
  );
}

/**
 * Handles the submitted reject-reason modal: re-validates the metadata, re-authorizes the user,
 * claims the decision and starts the rejection with the reason. An empty 200 closes the modal.
 */
async function handleReasonSubmission(
  config: ApprovalHandlerConfig,
  submission: ViewSubmission,
  context: ApprovalContext | undefined,
): Promise<FunctionUrlResponse> {
  if (submission.callbackId !== REJECT_REASON_CALLBACK_ID) {
    await audit(config, {
      action: "ignored",
      pipeline: UNKNOWN_PIPELINE,
      actor: actorLabel(submission.user),
      result: "unknown view callback_id",
      detail: { callbackId: submission.callbackId.slice(0, 255) },
    });
    return ok();
  }
  const meta = parseRejectReasonMetadata(submission.privateMetadata);
  if (!meta) {
    await audit(config, {
      action: "rejected-input",
      pipeline: UNKNOWN_PIPELINE,
      actor: actorLabel(submission.user),
      result: "malformed reject-reason private_metadata",
    });
    return modalError("This form is malformed; nothing was decided.");
  }
  const reason = normalizeReason(submission.reason);
  if (reason === undefined) return modalError("Please give a reason.");
  const claim: ApprovalClaim = {
    pipeline: meta.pipeline,
    stage: meta.stage,
    action: meta.action,
    executionId: meta.executionId,
    decision: "Rejected",
    user: submission.user,
    at: new Date().toISOString(),
    reason,
  };

  const authorization = authorizeApprover(config.pipelines, claim.pipeline, claim.user.id);
  if (!authorization.allowed) {
    await audit(config, {
      action: "approval-denied",
      ...claimRecord(claim),
      result: authorization.reason === "not-an-approver" ? "not an approver" : "not configured",
      detail: claimDetail(claim),
    });
    return modalError(authorization.message);
  }

  const started = await startDecision(
    config,
    {
      "deploy-notifier": WORK_MARKER,
      claim,
      responseUrl: meta.responseUrl,
      message: meta.message,
    },
    context,
  );
  switch (started.status) {
    case "started":
      return ok();
    case "taken": {
      const first = started.existing;
      await auditAlreadyDecided(config, claim, first);
      return modalError(
        first
          ? alreadyDecidedPlain(first.decision, first.user, first.at)
          : "This approval was already decided.",
      );
    }
    case "failed":
      return modalError("Could not start the rejection; nothing was decided. Please try again.");
    default: {
      const unreachable: never = started;
      throw new Error(`approval: unhandled start result ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The approval token of the claimed action, or why there is none to use. */
function pendingToken(
  state: CodePipelineSdk.GetPipelineStateCommandOutput,
  claim: ApprovalClaim,
): { token: string } | { final: string } {
  const stage = state.stageStates?.find((s) => s.stageName === claim.stage);
  if (!stage) return { final: "stage not found" };
  const action = stage.actionStates?.find((a) => a.actionName === claim.action);
  if (!action) return { final: "action not found" };
  const execution = action.latestExecution;
  if (
    stage.latestExecution?.pipelineExecutionId !== claim.executionId ||
    execution?.status !== "InProgress"
  ) {
    return { final: "this approval is no longer pending" };
  }
  if (!execution.token) return { final: "this approval has expired or was already handled" };
  return { token: execution.token };
}

/** Does the slow part: GetPipelineState → PutApprovalResult → Slack message → audit. */
async function handleWork(
  config: ApprovalHandlerConfig,
  work: ApprovalWorkEvent,
): Promise<ApprovalWorkOutcome> {
  const { claim } = work;
  if (!isRecord(claim) || !parseApprovalTarget(JSON.stringify(claim)) || !claim.user?.id) {
    log("error", "malformed approval work event");
    return { outcome: "invalid", reason: "malformed approval work event" };
  }
  // Only a rejection carries a reason; re-normalized because the event is only as good as its sender.
  const reason = claim.decision === "Rejected" ? normalizeReason(claim.reason) : undefined;
  let result: ApprovalWorkOutcome;
  // Required here, not at the top: only this asynchronous work calls CodePipeline, so the click
  // that Slack waits for does not pay for loading the client.
  const { GetPipelineStateCommand, PutApprovalResultCommand } =
    require("@aws-sdk/client-codepipeline") as typeof CodePipelineSdk;
  try {
    const state = await codepipeline().send(new GetPipelineStateCommand({ name: claim.pipeline }));
    const pending = pendingToken(state, claim);
    if ("final" in pending) {
      result = { outcome: "final-error", reason: pending.final };
    } else {
      await codepipeline().send(
        new PutApprovalResultCommand({
          pipelineName: claim.pipeline,
          stageName: claim.stage,
          actionName: claim.action,
          result: {
            status: claim.decision,
            summary: approvalSummary(claim.decision, claim.user, reason),
          },
          token: pending.token,
        }),
      );
      result = { outcome: "decided" };
    }
  } catch (err: unknown) {
    const name = errorName(err);
    const final = FINAL_ERRORS[name];
    result = final
      ? { outcome: "final-error", reason: final }
      : { outcome: "transient-error", reason: `CodePipeline error ${name}` };
    log("warn", "approval CodePipeline call failed", {
      pipeline: claim.pipeline,
      executionId: claim.executionId,
      error: name,
      message: errorMessage(err),
    });
  }

  const verb = claim.decision === "Approved" ? "approve" : "reject";
  switch (result.outcome) {
    case "decided":
      await postToResponseUrl(
        work.responseUrl,
        replaceButtons(work.message, decisionLine(claim.decision, claim.user.id, claim.at, reason)),
        WORK_POST_TIMEOUT_MS,
      );
      await audit(config, {
        action: "approval-decided",
        ...claimRecord(claim),
        result: claim.decision,
        detail: claimDetail(claim),
      });
      break;
    case "final-error":
      await postToResponseUrl(
        work.responseUrl,
        replaceButtons(
          work.message,
          `⚠️ Could not ${verb}: ${escapeSlackText(result.reason)} (${mentionOf(claim.user.id)} at ${utcTime(claim.at)}).`,
        ),
        WORK_POST_TIMEOUT_MS,
      );
      await audit(config, {
        action: "approval-error",
        ...claimRecord(claim),
        result: result.reason,
        detail: claimDetail(claim),
      });
      break;
    case "transient-error":
    case "invalid":
      // Nothing was decided and trying again may work: keep the buttons, release the claim.
      await releaseClaim(claim);
      await postToResponseUrl(
        work.responseUrl,
        ephemeral(
          `⚠️ Could not ${verb} now (CodePipeline did not answer); nothing was decided. Please try again.`,
        ),
        WORK_POST_TIMEOUT_MS,
      );
      await audit(config, {
        action: "approval-error",
        ...claimRecord(claim),
        result: `${result.reason}; claim released`,
        detail: claimDetail(claim),
      });
      break;
    default: {
      const unreachable: never = result;
      throw new Error(`approval: unhandled outcome ${JSON.stringify(unreachable)}`);
    }
  }
  log("info", "approval work done", {
    pipeline: claim.pipeline,
    executionId: claim.executionId,
    outcome: result.outcome,
  });
  return result;
}

/** Handles a function URL request from Slack. */
async function handleRequest(
  config: ApprovalHandlerConfig,
  event: FunctionUrlEvent,
  context: ApprovalContext | undefined,
): Promise<FunctionUrlResponse> {
  const now = new Date();
  const rawBody = event.isBase64Encoded
    ? Buffer.from(event.body ?? "", "base64")
    : Buffer.from(event.body ?? "", "utf8");
  const signature = header(event, "x-slack-signature");
  if (!signature || !header(event, "x-slack-request-timestamp")) {
    // Not even an attempt at a Slack request: refuse before touching Secrets Manager.
    log("warn", "slack request rejected", { reason: "missing signature headers" });
    return unauthorized();
  }

  let secrets: SlackAppSecrets;
  try {
    secrets = await secretJson<SlackAppSecrets>(requireEnv(ENV.slackAppSecretArn));
  } catch (err: unknown) {
    log("error", "slack app secret unavailable", { error: errorMessage(err) });
    return respond(500, "internal error");
  }
  const verified = verifySlackSignature({
    signingSecret: secrets.signingSecret,
    timestamp: header(event, "x-slack-request-timestamp"),
    signature,
    rawBody,
    now,
  });
  if (!verified.ok) {
    log("warn", "slack request rejected", { reason: verified.reason });
    return unauthorized();
  }
  if (!(await recordSignature(signature as string, now))) {
    log("warn", "slack request rejected", { reason: "replay of a used signature" });
    return unauthorized();
  }

  const text = rawBody.toString("utf8");
  const contentType = header(event, "content-type") ?? "";
  if (contentType.includes("json") || text.trimStart().startsWith("{")) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return respond(400, "bad request");
    }
    if (isRecord(body) && body.type === "url_verification" && typeof body.challenge === "string") {
      return respond(200, body.challenge);
    }
    await audit(config, {
      action: "ignored",
      pipeline: UNKNOWN_PIPELINE,
      result: "unsupported JSON request",
    });
    return ok();
  }

  const form = new URLSearchParams(text);
  if (form.get("ssl_check") === "1") return ok();
  const payload = form.get("payload");
  if (payload === null) {
    await audit(config, { action: "ignored", pipeline: UNKNOWN_PIPELINE, result: "no payload" });
    return ok();
  }
  const rejectInput = async (reason: string): Promise<FunctionUrlResponse> => {
    log("warn", "slack interaction rejected", { reason });
    await audit(config, { action: "rejected-input", pipeline: UNKNOWN_PIPELINE, result: reason });
    return respond(400, "bad request");
  };
  const parsed = parseInteraction(payload);
  if (!parsed.ok) return rejectInput(parsed.reason);
  if (parsed.interaction.type === "view_submission") {
    const submission = parseViewSubmission(payload);
    if (!submission.ok) return rejectInput(submission.reason);
    return handleReasonSubmission(config, submission.submission, context);
  }
  if (parsed.interaction.type !== "block_actions") {
    await audit(config, {
      action: "ignored",
      pipeline: UNKNOWN_PIPELINE,
      result: `interaction type ${parsed.interaction.type.slice(0, 64)}`,
    });
    return ok();
  }
  return handleClick(
    config,
    parsed.interaction as BlockActionsInteraction,
    context,
    secrets.botToken,
  );
}

/**
 * Builds the approval Lambda handler. This is the only entry point: `index.ts` hands it to
 * `CallbackFunction` as `callbackFactory: () => createApprovalHandler(config)`.
 *
 * Environment: `AUDIT_TABLE`, `SLACK_APP_SECRET_ARN` (JSON `{ signingSecret, botToken? }`) and
 * `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda; the function invokes itself asynchronously).
 */
export function createApprovalHandler(config: ApprovalHandlerConfig): ApprovalHandler {
  return async (event, context) => {
    if (isWorkEvent(event)) return handleWork(config, event);
    if (!isRecord(event) || !isRecord(event.requestContext)) {
      log("warn", "approval handler received an unknown event");
      return unauthorized();
    }
    try {
      return await handleRequest(config, event as FunctionUrlEvent, context);
    } catch (err: unknown) {
      // DynamoDB or Lambda down: Slack shows the user an error and nothing was decided.
      log("error", "approval request failed", { error: errorMessage(err) });
      return respond(500, "internal error");
    }
  };
}
