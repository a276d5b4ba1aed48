/**
 * Event intake: turns the body of one SQS record (an EventBridge event forwarded from
 * `aws.codepipeline`) into a validated {@link CodePipelineEvent}, and that into a
 * {@link Notification}.
 *
 * The validator is hand-written on purpose: zod would add about 8 MB to the Lambda archive. It is
 * lenient where real events differ from the documented samples (REFERENCE.md, AWS CodePipeline):
 * `version` and `pipeline-execution-attempt` arrive as floats (`3.0`) or numeric strings, the
 * account id sometimes as a number, optional blocks are often absent, and unknown fields appear.
 * It is strict where a wrong value would do harm: the identifiers that key the delivery ledger and
 * the approval calls, and the region, which becomes part of a console hostname.
 *
 * Everything here is pure and never throws to its caller, so the fan-out can record a malformed
 * or foreign event with its reason instead of retrying it in a loop.
 */
import { createHash } from "node:crypto";
import type { EventLevel, Notification, NotificationKind, Severity, SourceRevision } from "./types";

/** The EventBridge `source` of CodePipeline events. */
export const CODEPIPELINE_SOURCE = "aws.codepipeline";

/** The three CodePipeline `detail-type`s and the level each one reports on. */
export const CODEPIPELINE_DETAIL_TYPES: Readonly<Record<string, EventLevel>> = {
  "CodePipeline Pipeline Execution State Change": "pipeline",
  "CodePipeline Stage Execution State Change": "stage",
  "CodePipeline Action Execution State Change": "action",
};

/**
 * Cap of free text (summaries, commit messages, stop comments), in UTF-16 code units. Generous
 * on purpose: each channel truncates further to its own limit, and the full text is worth
 * keeping for the audit trail. A build log pasted into a summary must not make the event fail.
 */
export const MAX_TEXT_CHARS = 64 * 1024;

/**
 * Longest accepted identifier (pipeline, execution id, stage, action, event id, …). CodePipeline
 * names are at most 100 characters; anything near this cap is not a CodePipeline event, and an
 * identifier must never be truncated (it keys the ledger and the approval calls).
 */
export const MAX_ID_CHARS = 1024;

/** Longest external link kept; Slack rejects button URLs over 3000 characters. */
export const MAX_URL_CHARS = 3000;

/** Longest rejection reason returned, so that a hostile body cannot bloat the audit record. */
const MAX_REASON_CHARS = 300;

/** A validated CodePipeline event. All strings are trimmed; free text is capped. */
export interface CodePipelineEvent {
  /** EventBridge event id. Not stable across duplicates: see {@link notificationId}. */
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
 * Outcome of {@link parseEventBridgeEvent}. A failure is `malformed` (broken or incomplete input)
 * or `foreign` (a well-formed event that is not a CodePipeline execution state change); the
 * identifiers are filled in when they could be read, so the audit record can name the pipeline.
 */
export type ParseResult =
  | { ok: true; event: CodePipelineEvent }
  | {
      ok: false;
      kind: "malformed" | "foreign";
      reason: string;
      pipeline?: string;
      executionId?: string;
      eventId?: string;
    };

type Json = Record<string, unknown>;

/** Thrown inside the parser only; turned into a failed ParseResult at its boundary. */
type ParseFailure = Error & { parseFailure: "malformed" | "foreign" };

function fail(reason: string, kind: "malformed" | "foreign" = "malformed"): never {
  throw Object.assign(new Error(reason), { parseFailure: kind }) as ParseFailure;
}

function isParseFailure(err: unknown): err is ParseFailure {
  return err instanceof Error && "parseFailure" in err;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Quotes a value for a reason, short enough to never flood a log line. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

function capReason(reason: string): string {
  return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason;
}

/** Cuts at `max` code units without splitting a surrogate pair. */
function cut(text: string, max: number): string {
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

function requiredId(obj: Json, key: string, path: string): string {
  const value = obj[key];
  if (value === undefined || value === null) fail(`${path}: missing`);
  if (typeof value !== "string") fail(`${path}: expected a string, got ${typeName(value)}`);
  const trimmed = value.trim();
  if (trimmed === "") fail(`${path}: empty`);
  if (trimmed.length > MAX_ID_CHARS) fail(`${path}: longer than ${MAX_ID_CHARS} characters`);
  return trimmed;
}

/**
 * An optional string. A value of the wrong type is dropped rather than rejecting the event: a
 * notification without, say, the action provider is still worth sending.
 */
function optionalString(
  obj: Json,
  key: string,
  path: string,
  max: number,
  truncated: string[],
): string | undefined {
  const value = obj[key];
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  if (trimmed.length <= max) return trimmed;
  truncated.push(path);
  return cut(trimmed, max);
}

/** `3`, `3.0`, `"3"` and `"3.0"` are all 3; anything else is absent. */
function optionalNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/** Region names go into the console hostname, so only real-looking ones pass. */
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

function readRegion(o: Json, detail: Json | undefined): string {
  const raw = o.region ?? detail?.region;
  if (raw === undefined || raw === null) fail("region: missing");
  if (typeof raw !== "string") fail(`region: expected a string, got ${typeName(raw)}`);
  const region = raw.trim();
  if (!REGION_PATTERN.test(region)) fail(`region: ${quote(region)} is not an AWS region`);
  return region;
}

/** Some documented samples carry the account id as a JSON number; leading zeros are restored. */
function readAccount(o: Json): string {
  const raw = o.account;
  if (typeof raw === "string" && raw.trim() !== "") return raw.trim().slice(0, MAX_ID_CHARS);
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0) {
    return String(raw).padStart(12, "0");
  }
  // Fall back to the account in the pipeline ARN (`arn:aws:codepipeline:<region>:<account>:<name>`).
  const resources = Array.isArray(o.resources) ? o.resources : [];
  const arn = resources.find((r): r is string => typeof r === "string");
  const fromArn = arn?.split(":")[4];
  return fromArn && /^\d{12}$/.test(fromArn) ? fromArn : "";
}

function readTime(o: Json): string {
  const time = requiredId(o, "time", "time");
  if (Number.isNaN(Date.parse(time))) fail(`time: ${quote(time)} is not an ISO 8601 timestamp`);
  return time;
}

function decodeBody(body: unknown): unknown {
  if (typeof body !== "string") fail(`body: expected a string, got ${typeName(body)}`);
  if (body.trim() === "") fail("body: empty");
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err: unknown) {
    fail(`body: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  // Some forwarders JSON-encode the event a second time; unwrap exactly once.
  if (typeof parsed === "string") {
    try {
      parsed = JSON.parse(parsed);
    } catch (err: unknown) {
      fail(
        `body: double-encoded string is not JSON (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }
  return parsed;
}

function readTrigger(detail: Json, truncated: string[]): CodePipelineEvent["trigger"] | undefined {
  const raw = detail["execution-trigger"];
  if (!isObject(raw)) return undefined;
  const p = "detail.execution-trigger";
  const trigger: NonNullable<CodePipelineEvent["trigger"]> = {
    type: optionalString(raw, "trigger-type", `${p}.trigger-type`, MAX_ID_CHARS, truncated),
    detail: optionalString(raw, "trigger-detail", `${p}.trigger-detail`, MAX_ID_CHARS, truncated),
    branch: optionalString(raw, "branch-name", `${p}.branch-name`, MAX_ID_CHARS, truncated),
    tag: optionalString(raw, "tag-name", `${p}.tag-name`, MAX_ID_CHARS, truncated),
    commitId: optionalString(raw, "commit-id", `${p}.commit-id`, MAX_ID_CHARS, truncated),
    commitMessage: optionalString(
      raw,
      "commit-message",
      `${p}.commit-message`,
      MAX_TEXT_CHARS,
      truncated,
    ),
    author:
      optionalString(raw, "author-display-name", `${p}.author-display-name`, 256, truncated) ??
      optionalString(raw, "author-id", `${p}.author-id`, 256, truncated),
    repository: optionalString(
      raw,
      "full-repository-name",
      `${p}.full-repository-name`,
      MAX_ID_CHARS,
      truncated,
    ),
    providerType: optionalString(raw, "provider-type", `${p}.provider-type`, 256, truncated),
  };
  const kept = compact(trigger);
  return Object.keys(kept).length > 0 ? kept : undefined;
}

function readResult(detail: Json, truncated: string[]): CodePipelineEvent["result"] | undefined {
  const raw = detail["execution-result"];
  if (!isObject(raw)) return undefined;
  const p = "detail.execution-result";
  const result = compact({
    externalExecutionUrl: optionalString(
      raw,
      "external-execution-url",
      `${p}.external-execution-url`,
      MAX_TEXT_CHARS,
      truncated,
    ),
    externalExecutionSummary: optionalString(
      raw,
      "external-execution-summary",
      `${p}.external-execution-summary`,
      MAX_TEXT_CHARS,
      truncated,
    ),
    externalExecutionId: optionalString(
      raw,
      "external-execution-id",
      `${p}.external-execution-id`,
      MAX_ID_CHARS,
      truncated,
    ),
    errorCode: optionalString(raw, "error-code", `${p}.error-code`, 256, truncated),
  });
  return Object.keys(result).length > 0 ? result : undefined;
}

function readActionType(detail: Json, truncated: string[]): CodePipelineEvent["actionType"] {
  const raw = detail.type;
  if (!isObject(raw)) return undefined;
  const p = "detail.type";
  const type = compact({
    owner: optionalString(raw, "owner", `${p}.owner`, 256, truncated),
    category: optionalString(raw, "category", `${p}.category`, 256, truncated),
    provider: optionalString(raw, "provider", `${p}.provider`, 256, truncated),
    // The action type version is documented as a string ("1") but is a plain number in some events.
    version:
      optionalString(raw, "version", `${p}.version`, 256, truncated) ??
      (typeof raw.version === "number" ? String(raw.version) : undefined),
  });
  return Object.keys(type).length > 0 ? type : undefined;
}

/** Drops keys whose value is undefined, so results compare and snapshot cleanly. */
function compact<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}

function parseOrFail(
  body: unknown,
  ctx: { pipeline?: string; executionId?: string; eventId?: string },
): CodePipelineEvent {
  const parsed = decodeBody(body);
  if (!isObject(parsed)) fail(`body: expected a JSON object, got ${typeName(parsed)}`);
  const o = parsed;
  const detail = isObject(o.detail) ? o.detail : undefined;

  // Best effort, before any check can fail: lets the audit record of a rejected event name it.
  const peek = (v: unknown): string | undefined =>
    typeof v === "string" && v.trim() !== "" ? v.trim().slice(0, MAX_ID_CHARS) : undefined;
  ctx.eventId = peek(o.id);
  ctx.pipeline = peek(detail?.pipeline);
  ctx.executionId = peek(detail?.["execution-id"]);

  const source = requiredId(o, "source", "source");
  if (source !== CODEPIPELINE_SOURCE) {
    fail(`source ${quote(source)} is not ${CODEPIPELINE_SOURCE}`, "foreign");
  }
  const detailType = requiredId(o, "detail-type", "detail-type");
  const level = Object.prototype.hasOwnProperty.call(CODEPIPELINE_DETAIL_TYPES, detailType)
    ? CODEPIPELINE_DETAIL_TYPES[detailType]
    : undefined;
  if (level === undefined) {
    fail(
      `detail-type ${quote(detailType)} is not a CodePipeline execution state change`,
      "foreign",
    );
  }

  const id = requiredId(o, "id", "id");
  const time = readTime(o);
  if (o.detail === undefined || o.detail === null) fail("detail: missing");
  if (detail === undefined) fail(`detail: expected an object, got ${typeName(o.detail)}`);
  const region = readRegion(o, detail);
  const account = readAccount(o);

  const pipeline = requiredId(detail, "pipeline", "detail.pipeline");
  const executionId = requiredId(detail, "execution-id", "detail.execution-id");
  const state = requiredId(detail, "state", "detail.state").toUpperCase();

  const truncated: string[] = [];
  // Stage and action names key the ledger and the approval calls: required where they apply.
  const stage = level === "pipeline" ? undefined : requiredId(detail, "stage", "detail.stage");
  const action = level === "action" ? requiredId(detail, "action", "detail.action") : undefined;

  const event: CodePipelineEvent = {
    id,
    detailType,
    level,
    account,
    region,
    time,
    pipeline,
    executionId,
    state,
    version: optionalNumber(detail.version),
    stage,
    action,
    actionType: level === "action" ? readActionType(detail, truncated) : undefined,
    result: readResult(detail, truncated),
    trigger: readTrigger(detail, truncated),
    startTime: optionalString(detail, "start-time", "detail.start-time", 64, truncated),
    attempt: optionalNumber(detail["pipeline-execution-attempt"]),
    actionExecutionId:
      level === "action"
        ? optionalString(
            detail,
            "action-execution-id",
            "detail.action-execution-id",
            MAX_ID_CHARS,
            truncated,
          )
        : undefined,
    actionRegion:
      level === "action"
        ? optionalString(detail, "region", "detail.region", 64, truncated)
        : undefined,
    stopComments: optionalString(
      detail,
      "stop-execution-comments",
      "detail.stop-execution-comments",
      MAX_TEXT_CHARS,
      truncated,
    ),
    truncated: truncated.length > 0 ? truncated : undefined,
  };
  return compact(event);
}

/**
 * Parses and validates the body of one SQS record: an EventBridge event from `aws.codepipeline`
 * (or that event JSON-encoded a second time). Never throws: every problem becomes a failed result
 * whose `reason` names the field, e.g. `detail.execution-id: missing`.
 */
export function parseEventBridgeEvent(body: string): ParseResult {
  const ctx: { pipeline?: string; executionId?: string; eventId?: string } = {};
  try {
    return { ok: true, event: parseOrFail(body, ctx) };
  } catch (err: unknown) {
    const kind = isParseFailure(err) ? err.parseFailure : "malformed";
    const message = err instanceof Error ? err.message : String(err);
    const reason = isParseFailure(err) ? message : `internal: ${message}`;
    return compact({ ok: false as const, kind, reason: capReason(reason), ...ctx });
  }
}

/**
 * CodePipeline console link of an execution (REFERENCE.md, AWS CodePipeline):
 * `https://<region>.console.aws.amazon.com/codesuite/codepipeline/pipelines/<pipeline>/executions/<execution-id>/timeline?region=<region>`.
 * Path segments are percent-encoded; valid CodePipeline names are left unchanged by that.
 */
export function consoleUrl(region: string, pipeline: string, executionId: string): string {
  const r = encodeURIComponent(region);
  return (
    `https://${r}.console.aws.amazon.com/codesuite/codepipeline/pipelines/` +
    `${encodeURIComponent(pipeline)}/executions/${encodeURIComponent(executionId)}/timeline?region=${r}`
  );
}

/**
 * Stable id of the notification an event produces, from its content: pipeline, execution id,
 * level, stage, action, state and execution attempt. Not the EventBridge id: CodePipeline events
 * are at-least-once, and a duplicate may carry a different event id. The attempt is part of it
 * because a retried stage that fails again is a new failure that people must hear about.
 * 24 hex characters (96 bits) of SHA-256.
 */
export function notificationId(ev: CodePipelineEvent): string {
  const content = JSON.stringify([
    "v1",
    ev.pipeline,
    ev.executionId,
    ev.level,
    ev.stage ?? "",
    ev.action ?? "",
    ev.state,
    ev.attempt ?? 1,
  ]);
  return createHash("sha256").update(content).digest("hex").slice(0, 24);
}

const REJECTED = /\bRejected\b/;

/**
 * True when an execution summary says a manual approval was rejected ("Rejected by …"). The
 * enrichment step needs this too: pipeline-level FAILED events carry no summary of their own.
 */
export function isRejectionSummary(summary: string | undefined): boolean {
  return summary !== undefined && REJECTED.test(summary);
}

/**
 * Who rejected, from a summary like "Rejected by Jane Doe (U012ABC) via Slack" or
 * "Rejected by arn:aws:sts::123456789012:assumed-role/Deployers/jane". Undefined when it does not say.
 */
export function rejectedBy(summary: string | undefined): string | undefined {
  if (summary === undefined) return undefined;
  const at = summary.indexOf("Rejected by ");
  if (at < 0) return undefined;
  let who = summary.slice(at + "Rejected by ".length).split("\n")[0];
  // Stop at " via <tool>" and at sentence punctuation; ARNs contain ":" but never ": ".
  who = who.split(" via ")[0].split(/[.;,]\s|:\s| - | — /)[0];
  who = who.trim().replace(/[.;,]$/, "");
  return who === "" ? undefined : cut(who, 200);
}

function isApprovalAction(ev: CodePipelineEvent): boolean {
  return ev.level === "action" && ev.actionType?.category?.toLowerCase() === "approval";
}

/**
 * What an event means for people. FAILED is a `failure` unless a manual approval was rejected
 * (an Approval action FAILED, or a summary saying "Rejected"): a `rejection` never pages.
 */
export function classify(ev: CodePipelineEvent): NotificationKind {
  switch (ev.state) {
    case "FAILED":
      return isApprovalAction(ev) || isRejectionSummary(ev.result?.externalExecutionSummary)
        ? "rejection"
        : "failure";
    case "SUCCEEDED":
      return "success";
    case "SUPERSEDED":
      return "superseded";
    case "CANCELED":
      return "canceled";
    case "STOPPED":
    case "STOPPING":
      return "stopped";
    case "STARTED":
      return isApprovalAction(ev) ? "approval-request" : "status";
    default:
      // RESUMED, ABANDONED and any state CodePipeline adds later.
      return "status";
  }
}

/**
 * Returns the URL when it is an absolute http(s) URL, with any user info removed, and
 * percent-encoded so that `<`, `>` and spaces cannot break a channel's link syntax. Anything else
 * (`javascript:`, `data:`, relative, unparsable, too long) is dropped.
 */
export function safeHttpUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  url.username = "";
  url.password = "";
  return url.href.length <= MAX_URL_CHARS ? url.href : undefined;
}

/** `execution-trigger` in words, e.g. "StartPipelineExecution by arn:aws:sts::…" or "WebhookV2 on branch main". */
export function describeTrigger(trigger: CodePipelineEvent["trigger"]): string | undefined {
  if (trigger === undefined) return undefined;
  const git =
    trigger.commitId !== undefined || trigger.branch !== undefined || trigger.tag !== undefined;
  let words = trigger.type ?? (git ? `${trigger.providerType ?? "source"} change` : undefined);
  if (words === undefined) return undefined;
  if (trigger.detail !== undefined) {
    const byPerson = trigger.type === "StartPipelineExecution" || trigger.type === "ManualRollback";
    words += byPerson ? ` by ${trigger.detail}` : ` (${trigger.detail})`;
  }
  if (trigger.branch !== undefined) words += ` on branch ${trigger.branch}`;
  else if (trigger.tag !== undefined) words += ` on tag ${trigger.tag}`;
  return words;
}

/** Commit links for the hosted providers whose URL layout is public knowledge. */
function commitUrl(
  provider: string | undefined,
  repository: string | undefined,
  id: string | undefined,
): string | undefined {
  if (!provider || !repository || !id) return undefined;
  if (!/^[0-9a-f]{7,64}$/i.test(id) || !/^[\w.-]+(\/[\w.-]+)+$/.test(repository)) return undefined;
  switch (provider) {
    case "GitHub":
      return `https://github.com/${repository}/commit/${id}`;
    case "GitLab":
      return `https://gitlab.com/${repository}/-/commit/${id}`;
    case "Bitbucket":
      return `https://bitbucket.org/${repository}/commits/${id}`;
    default:
      // Self-managed GitLab, GitHub Enterprise Server: the host is not in the event.
      return undefined;
  }
}

/**
 * CodeStarSourceConnection (GitHub, GitLab, Bitbucket) reports its summary as JSON,
 * `{"ProviderType":"GitHub","CommitMessage":"…"}`: people should see the commit message.
 */
function sourceSummaryText(summary: string | undefined): string | undefined {
  if (summary === undefined || !summary.startsWith("{")) return summary;
  try {
    const parsed: unknown = JSON.parse(summary);
    if (isObject(parsed) && typeof parsed.CommitMessage === "string") {
      return parsed.CommitMessage.trim() || summary;
    }
  } catch {
    // Not JSON after all (or cut by the cap): show it as it is.
  }
  return summary;
}

function isSourceAction(ev: CodePipelineEvent): boolean {
  return ev.level === "action" && ev.actionType?.category === "Source";
}

function revisionOf(ev: CodePipelineEvent): SourceRevision | undefined {
  const t = ev.trigger;
  if (t?.commitId !== undefined || t?.commitMessage !== undefined) {
    return compact({
      id: t.commitId,
      message: t.commitMessage,
      author: t.author,
      url: commitUrl(t.providerType, t.repository, t.commitId),
    });
  }
  // A source action's result is the revision it fetched: commit id, message and link.
  if (isSourceAction(ev) && ev.state === "SUCCEEDED") {
    const r = ev.result;
    if (r?.externalExecutionId !== undefined) {
      return compact({
        id: r.externalExecutionId,
        message: sourceSummaryText(r.externalExecutionSummary),
        url: safeHttpUrl(r.externalExecutionUrl),
      });
    }
  }
  return undefined;
}

/**
 * Turns a validated event into the one {@link Notification} model every channel formats. Fills
 * everything the event itself says; the enrichment step adds what only the CodePipeline API knows.
 */
export function normalize(
  ev: CodePipelineEvent,
  route: { tier: string; severity: Severity },
): Notification {
  const kind = classify(ev);
  const resultSummary = ev.result?.externalExecutionSummary;
  const summary =
    (isSourceAction(ev) ? sourceSummaryText(resultSummary) : resultSummary) ?? ev.stopComments;
  const notes: string[] = [];
  const rawUrl = ev.result?.externalExecutionUrl;
  const externalUrl = safeHttpUrl(rawUrl);
  if (rawUrl !== undefined && externalUrl === undefined) {
    notes.push("external link dropped: not a usable http(s) URL");
  }
  for (const path of ev.truncated ?? []) {
    notes.push(`${path} truncated to ${MAX_TEXT_CHARS} characters`);
  }
  return compact({
    id: notificationId(ev),
    eventId: ev.id,
    kind,
    level: ev.level,
    pipeline: ev.pipeline,
    executionId: ev.executionId,
    state: ev.state,
    stage: ev.stage,
    action: ev.action,
    actionCategory: ev.actionType?.category,
    actionProvider: ev.actionType?.provider,
    errorCode: ev.result?.errorCode,
    summary,
    externalUrl,
    account: ev.account,
    region: ev.region,
    time: ev.time,
    consoleUrl: consoleUrl(ev.region, ev.pipeline, ev.executionId),
    tier: route.tier,
    severity: route.severity,
    decidedBy: kind === "rejection" ? rejectedBy(summary) : undefined,
    revision: revisionOf(ev),
    trigger: describeTrigger(ev.trigger),
    notes: notes.length > 0 ? notes : undefined,
  });
}
