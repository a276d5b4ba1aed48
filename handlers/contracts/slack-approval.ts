/**
 * The wire contract between the Slack approval request that the fan-out posts
 * (`handlers/channels/slack.ts`) and the approval Lambda that receives the click
 * (`handlers/approval/`): the `action_id`s of the buttons, the JSON `value` they carry, and the ids
 * of the reject-reason modal. Both sides import this module; nothing else defines these values.
 */
import { homeOf, pipelineKey, type PipelineRef } from "./pipeline-id";

/** Prefix of the `action_id` of every button we post (approve, reject and the link buttons). */
export const ACTION_ID_PREFIX = "deploy-notifier.";
/** `action_id` of the Approve button; the approval handler matches it exactly. */
export const APPROVE_ACTION_ID = "deploy-notifier.approve";
/** `action_id` of the Reject button; the approval handler matches it exactly. */
export const REJECT_ACTION_ID = "deploy-notifier.reject";
/** `callback_id` of the "reject with a reason" modal opened by a Reject click. */
export const REJECT_REASON_CALLBACK_ID = "deploy-notifier.reject-reason";
/** `block_id` and `action_id` of the reason input in that modal. */
export const REJECT_REASON_INPUT_ID = "reason";

/**
 * The `value` of the Approve / Reject buttons (JSON): the one run of the manual approval action
 * being decided, nothing secret. Every field is non-empty in a value the approval side accepts.
 * `actionExecutionId` names the run the request was posted for (REFERENCE.md, CodePipeline's
 * lifecycle: each run of an approval action has its own action execution id and token); buttons
 * posted before it existed carry none, and decide only while their execution's current run is
 * pending. `account` and `region` (issue 14) name where the pipeline lives; they are set
 * together, and only for a pipeline outside the notifier's own account and region: a value
 * without them (every button posted before issue 14) means the home account and region.
 */
export interface ApprovalButtonValue {
  pipeline: string;
  stage: string;
  action: string;
  executionId: string;
  actionExecutionId?: string;
  /** 12-digit AWS account id of the pipeline; absent = the home account (`HOME_ACCOUNT`). */
  account?: string;
  /** AWS region of the pipeline; absent = the home region (`AWS_REGION`). */
  region?: string;
  /**
   * The execution's attempt the request was posted in (the event's `pipeline-execution-attempt`:
   * 1, then 2 after the first stage retry, REFERENCE.md). A decision carries it, so that the
   * fan-out never reads a rejection of attempt 1 into a later attempt's failure. Absent on
   * buttons posted before it existed.
   */
  attempt?: number;
}

/** An AWS account id: 12 digits. */
const ACCOUNT_ID = /^\d{12}$/;
/** An AWS region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`). */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/**
 * The pipeline an approval stands for: its account and region, the home ones when the value
 * carries none (`homeOf()`, contracts/pipeline-id.ts).
 */
export function approvalPipelineRef(
  value: Pick<ApprovalButtonValue, "pipeline" | "account" | "region">,
  env: NodeJS.ProcessEnv = process.env,
): PipelineRef {
  const home = homeOf(env);
  return {
    account: value.account ?? home.account ?? "",
    region: value.region ?? home.region ?? "",
    name: value.pipeline,
  };
}

/**
 * The audit fields that name an approval's pipeline (issue 14): `pipeline`, its key (the name at
 * home, else its ARN: pipeline-id.ts `pipelineKey`), and `account` and `region` when known.
 */
export function approvalAuditPipeline(
  value: Pick<ApprovalButtonValue, "pipeline" | "account" | "region">,
): { pipeline: string; account?: string; region?: string } {
  const ref = approvalPipelineRef(value);
  return {
    pipeline: pipelineKey(ref),
    ...(ref.account && { account: ref.account }),
    ...(ref.region && { region: ref.region }),
  };
}

/** Approved or rejected, as CodePipeline's PutApprovalResult spells it. */
export type ApprovalDecision = "Approved" | "Rejected";

/**
 * The button `value` for an approval: JSON with the keys in a fixed order (pipeline, stage,
 * action, executionId). Slack caps a button value at 2000 characters; the caller checks that.
 */
export function encodeApprovalButtonValue(value: ApprovalButtonValue): string {
  const { pipeline, stage, action, executionId, actionExecutionId, account, region, attempt } =
    value;
  return JSON.stringify({
    pipeline,
    stage,
    action,
    executionId,
    actionExecutionId,
    account,
    region,
    attempt,
  });
}

/**
 * Parses a button value (or any JSON that carries the same four fields) into the approval it
 * stands for; undefined when it is not JSON or any required field is missing, not a string or
 * empty, `actionExecutionId` is present but not a non-empty string, `attempt` is present but not
 * a positive integer, or `account` / `region` are not both absent or both valid (12 digits; a
 * region name). Extra fields are dropped.
 */
export function parseApprovalButtonValue(
  value: string | undefined,
): ApprovalButtonValue | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const { pipeline, stage, action, executionId, actionExecutionId, account, region, attempt } =
    parsed as Record<string, unknown>;
  if (
    typeof pipeline !== "string" ||
    typeof stage !== "string" ||
    typeof action !== "string" ||
    typeof executionId !== "string" ||
    !pipeline ||
    !stage ||
    !action ||
    !executionId
  ) {
    return undefined;
  }
  const where = whereOfValue(account, region);
  if (where === null) return undefined;
  if (attempt !== undefined && !(Number.isInteger(attempt) && (attempt as number) >= 1)) {
    return undefined;
  }
  const inAttempt = attempt === undefined ? {} : { attempt: attempt as number };
  if (actionExecutionId === undefined)
    return { pipeline, stage, action, executionId, ...where, ...inAttempt };
  if (typeof actionExecutionId !== "string" || !actionExecutionId) return undefined;
  return { pipeline, stage, action, executionId, actionExecutionId, ...where, ...inAttempt };
}

/** `{ account, region }` of a value (both or neither); null when malformed. */
function whereOfValue(
  account: unknown,
  region: unknown,
): { account?: string; region?: string } | null {
  if (account === undefined && region === undefined) return {};
  if (typeof account !== "string" || !ACCOUNT_ID.test(account)) return null;
  if (typeof region !== "string" || !REGION.test(region)) return null;
  return { account, region };
}

/** Maps a button's `action_id` to the decision it asks for; undefined for any other button. */
export function decisionOf(actionId: string): ApprovalDecision | undefined {
  if (actionId === APPROVE_ACTION_ID) return "Approved";
  if (actionId === REJECT_ACTION_ID) return "Rejected";
  return undefined;
}
