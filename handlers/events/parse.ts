/**
 * Event intake: turns the body of one SQS record (an EventBridge event forwarded from
 * `aws.codepipeline`) into a validated {@link CodePipelineEvent}.
 *
 * The validator is hand-written on purpose: zod would add about 8 MB to the Lambda archive. It is
 * lenient where real events differ from the documented samples (REFERENCE.md, AWS CodePipeline):
 * `version` and `pipeline-execution-attempt` arrive as floats (`3.0`) or numeric strings, the
 * account id sometimes as a number, optional blocks are often absent, and unknown fields appear.
 * It is strict where a wrong value would do harm: the identifiers that key the delivery ledger and
 * the approval calls, and the region, which becomes part of a console hostname.
 *
 * Every string is made well-formed Unicode as the JSON is parsed (`wellFormedReviver`: a lone
 * UTF-16 surrogate, half an emoji, becomes U+FFFD), so no field can carry text that SNS, DynamoDB
 * or a receiver would choke on.
 *
 * Everything here is pure and never throws to its caller, so the fan-out can record a malformed
 * or foreign event with its reason instead of retrying it in a loop.
 */
import {
  CODEPIPELINE_DETAIL_TYPES,
  CODEPIPELINE_SOURCE,
  type CodePipelineStateChangeEvent,
} from "../contracts/codepipeline";
import { readActionType, readResult, readTrigger, type RawDetail } from "./detail";
import {
  compact,
  cut,
  fail,
  isObject,
  isParseFailure,
  optionalNumber,
  optionalString,
  quote,
  requiredId,
  typeName,
  type Unchecked,
  wellFormed,
  wellFormedReviver,
} from "./fields";
import { MAX_ID_CHARS, MAX_TEXT_CHARS, type CodePipelineEvent, type ParseResult } from "./model";

/** The EventBridge envelope as received (the shape of @types/aws-lambda's EventBridgeEvent). */
type RawEnvelope = Unchecked<CodePipelineStateChangeEvent>;

/** What a failed parse can still say about the event, for its audit record. */
type Peeked = { pipeline?: string; executionId?: string; eventId?: string };

/** Longest rejection reason returned, so that a hostile body cannot bloat the audit record. */
const MAX_REASON_CHARS = 300;

/** Region names go into the console hostname, so only real-looking ones pass. */
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** The reason cut to {@link MAX_REASON_CHARS}, well-formed (a JSON error message quotes the body). */
function capReason(reason: string): string {
  const text = wellFormed(reason);
  return text.length > MAX_REASON_CHARS ? `${cut(text, MAX_REASON_CHARS - 1)}…` : text;
}

function readRegion(o: RawEnvelope, detail: RawDetail | undefined): string {
  const raw = o.region ?? detail?.region;
  if (raw === undefined || raw === null) fail("region: missing");
  if (typeof raw !== "string") fail(`region: expected a string, got ${typeName(raw)}`);
  const region = raw.trim();
  if (!REGION_PATTERN.test(region)) fail(`region: ${quote(region)} is not an AWS region`);
  return region;
}

/** Some documented samples carry the account id as a JSON number; leading zeros are restored. */
function readAccount(o: RawEnvelope): string {
  const raw = o.account;
  if (typeof raw === "string" && raw.trim() !== "") return cut(raw.trim(), MAX_ID_CHARS);
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0) {
    return String(raw).padStart(12, "0");
  }
  // Fall back to the account in the pipeline ARN (`arn:aws:codepipeline:<region>:<account>:<name>`).
  const resources: unknown[] = Array.isArray(o.resources) ? o.resources : [];
  const arn = resources.find((r): r is string => typeof r === "string");
  const fromArn = arn?.split(":")[4];
  return fromArn && /^\d{12}$/.test(fromArn) ? fromArn : "";
}

function readTime(o: RawEnvelope): string {
  const time = requiredId(o, "time", "time");
  if (Number.isNaN(Date.parse(time))) fail(`time: ${quote(time)} is not an ISO 8601 timestamp`);
  return time;
}

function decodeBody(body: unknown): unknown {
  if (typeof body !== "string") fail(`body: expected a string, got ${typeName(body)}`);
  if (body.trim() === "") fail("body: empty");
  let parsed: unknown;
  try {
    // Every string well-formed from here on: the reviver replaces lone surrogates by U+FFFD.
    parsed = JSON.parse(body, wellFormedReviver);
  } catch (err: unknown) {
    fail(`body: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  // Some forwarders JSON-encode the event a second time; unwrap exactly once.
  if (typeof parsed === "string") {
    try {
      parsed = JSON.parse(parsed, wellFormedReviver);
    } catch (err: unknown) {
      fail(
        `body: double-encoded string is not JSON (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }
  return parsed;
}

/** Best effort, before any check can fail: lets the audit record of a rejected event name it. */
function peek(o: RawEnvelope, detail: RawDetail | undefined, into: Peeked): void {
  const text = (v: unknown): string | undefined =>
    typeof v === "string" && v.trim() !== "" ? cut(v.trim(), MAX_ID_CHARS) : undefined;
  into.eventId = text(o.id);
  into.pipeline = text(detail?.pipeline);
  into.executionId = text(detail?.["execution-id"]);
}

/** `source` and `detail-type`: a well-formed event from elsewhere is `foreign`, not malformed. */
function readLevel(o: RawEnvelope): { detailType: string; level: CodePipelineEvent["level"] } {
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
  return { detailType, level };
}

function parseOrFail(body: unknown, peeked: Peeked): CodePipelineEvent {
  const parsed = decodeBody(body);
  if (!isObject(parsed)) fail(`body: expected a JSON object, got ${typeName(parsed)}`);
  const o: RawEnvelope = parsed;
  const detail: RawDetail | undefined = isObject(o.detail) ? o.detail : undefined;
  peek(o, detail, peeked);

  const { detailType, level } = readLevel(o);
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
  const isAction = level === "action";
  const action = isAction ? requiredId(detail, "action", "detail.action") : undefined;
  const actionType = isAction ? readActionType(detail, truncated) : undefined;
  const result = readResult(detail, truncated);
  const trigger = readTrigger(detail, truncated);
  const startTime = optionalString(detail, "start-time", "detail.start-time", 64, truncated);
  const actionExecutionId = isAction
    ? optionalString(
        detail,
        "action-execution-id",
        "detail.action-execution-id",
        MAX_ID_CHARS,
        truncated,
      )
    : undefined;
  const actionRegion = isAction
    ? optionalString(detail, "region", "detail.region", 64, truncated)
    : undefined;
  const stopComments = optionalString(
    detail,
    "stop-execution-comments",
    "detail.stop-execution-comments",
    MAX_TEXT_CHARS,
    truncated,
  );

  return compact<CodePipelineEvent>({
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
    actionType,
    result,
    trigger,
    startTime,
    attempt: optionalNumber(detail["pipeline-execution-attempt"]),
    actionExecutionId,
    actionRegion,
    stopComments,
    truncated: truncated.length > 0 ? truncated : undefined,
  });
}

/**
 * Parses and validates the body of one SQS record: an EventBridge event from `aws.codepipeline`
 * (or that event JSON-encoded a second time). Never throws: every problem becomes a failed result
 * whose `reason` names the field, e.g. `detail.execution-id: missing`.
 */
export function parseEventBridgeEvent(body: string): ParseResult {
  const peeked: Peeked = {};
  try {
    return { ok: true, event: parseOrFail(body, peeked) };
  } catch (err: unknown) {
    const kind = isParseFailure(err) ? err.parseFailure : "malformed";
    const message = err instanceof Error ? err.message : String(err);
    const reason = isParseFailure(err) ? message : `internal: ${message}`;
    return compact({ ok: false as const, kind, reason: capReason(reason), ...peeked });
  }
}
