/**
 * Readers of the optional blocks of an event's `detail`: `execution-trigger`,
 * `execution-result` and the action `type`. Each returns undefined when the block is absent,
 * not an object, or holds nothing usable.
 */
import type {
  CodePipelineActionType,
  CodePipelineEventDetail,
  CodePipelineExecutionResult,
  CodePipelineExecutionTrigger,
} from "../contracts/codepipeline";
import { compact, isObject, optionalString, type Unchecked } from "./fields";
import { MAX_ID_CHARS, MAX_TEXT_CHARS, type CodePipelineEvent } from "./model";

/** `detail` as received. */
export type RawDetail = Unchecked<CodePipelineEventDetail>;

/** `detail.execution-trigger`; text cut to its cap is recorded in `truncated`. */
export function readTrigger(
  detail: RawDetail,
  truncated: string[],
): CodePipelineEvent["trigger"] | undefined {
  const raw: unknown = detail["execution-trigger"];
  if (!isObject(raw)) return undefined;
  const t: Unchecked<CodePipelineExecutionTrigger> = raw;
  const p = "detail.execution-trigger";
  const read = (key: keyof CodePipelineExecutionTrigger, max: number) =>
    optionalString(t, key, `${p}.${key}`, max, truncated);
  const trigger: NonNullable<CodePipelineEvent["trigger"]> = {
    type: read("trigger-type", MAX_ID_CHARS),
    detail: read("trigger-detail", MAX_ID_CHARS),
    branch: read("branch-name", MAX_ID_CHARS),
    tag: read("tag-name", MAX_ID_CHARS),
    commitId: read("commit-id", MAX_ID_CHARS),
    commitMessage: read("commit-message", MAX_TEXT_CHARS),
    author: read("author-display-name", 256) ?? read("author-id", 256),
    repository: read("full-repository-name", MAX_ID_CHARS),
    providerType: read("provider-type", 256),
  };
  const kept = compact(trigger);
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** `detail.execution-result`; text cut to its cap is recorded in `truncated`. */
export function readResult(
  detail: RawDetail,
  truncated: string[],
): CodePipelineEvent["result"] | undefined {
  const raw: unknown = detail["execution-result"];
  if (!isObject(raw)) return undefined;
  const r: Unchecked<CodePipelineExecutionResult> = raw;
  const p = "detail.execution-result";
  const read = (key: keyof CodePipelineExecutionResult, max: number) =>
    optionalString(r, key, `${p}.${key}`, max, truncated);
  const result = compact({
    externalExecutionUrl: read("external-execution-url", MAX_TEXT_CHARS),
    externalExecutionSummary: read("external-execution-summary", MAX_TEXT_CHARS),
    externalExecutionId: read("external-execution-id", MAX_ID_CHARS),
    errorCode: read("error-code", 256),
  });
  return Object.keys(result).length > 0 ? result : undefined;
}

/** `detail.type` of action events. */
export function readActionType(
  detail: RawDetail,
  truncated: string[],
): CodePipelineEvent["actionType"] {
  const raw: unknown = detail.type;
  if (!isObject(raw)) return undefined;
  const t: Unchecked<CodePipelineActionType> = raw;
  const read = (key: keyof CodePipelineActionType) =>
    optionalString(t, key, `detail.type.${key}`, 256, truncated);
  const type = compact({
    owner: read("owner"),
    category: read("category"),
    provider: read("provider"),
    // The action type version is documented as a string ("1") but is a plain number in some events.
    version: read("version") ?? (typeof t.version === "number" ? String(t.version) : undefined),
  });
  return Object.keys(type).length > 0 ? type : undefined;
}
