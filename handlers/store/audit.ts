/**
 * The audit trail: one item per decision of either Lambda (key and index attributes in
 * store/keys.ts), read by pipeline and time, or by execution through the `byExecution` index.
 */
import { randomUUID } from "node:crypto";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { pipelineKeyOf } from "../contracts/pipeline-id";
import { isConditionFailed } from "./claim";
import { auditKey, executionIndexKey } from "./keys";
import { expiresAt, tableName } from "./table";

/** What an audit record says happened. */
export type AuditAction =
  | "sent"
  | "failed"
  | "retried"
  | "suppressed"
  | "deduplicated"
  | "collapsed"
  | "rejected-input"
  | "ignored"
  | "approval-requested"
  | "approval-click"
  | "approval-denied"
  | "approval-decided"
  | "approval-error"
  /** A click on a request whose approval run was replaced by a newer run (refused). */
  | "approval-superseded"
  /** A pending approval's reminder was posted to its approvers. */
  | "approval-reminder"
  /** A pending approval reached its timeout with no decision; its request was marked expired. */
  | "approval-expired"
  /**
   * A pending approval's run ended without a Slack decision (decided in CodePipeline, its
   * execution ended, replaced by a retry); its request was rewritten without buttons.
   */
  | "approval-ended"
  /** A decided, expired or ended request's Slack message could not be updated (reason in `result`). */
  | "message-not-updated"
  | "incident-resolved";

/** One audit record, as written to DynamoDB (minus keys). */
export interface AuditRecord {
  action: AuditAction;
  /**
   * The pipeline's key (contracts/pipeline-id.ts `pipelineKeyOf`): its name in the notifier's own
   * account and region, else its ARN, so that same-named pipelines of two accounts keep two trails.
   */
  pipeline: string;
  /** The pipeline's 12-digit account id and region (issue 14), when known. */
  account?: string;
  region?: string;
  executionId?: string;
  /** Channel instance name, for delivery records. */
  channel?: string;
  notificationId?: string;
  eventId?: string;
  /** Who acted (Slack user id and name), for approval records. */
  actor?: string;
  /** Outcome or reason in words: "sent", "window weekly-maintenance", "not an approver", … */
  result?: string;
  /** Free-form details, never secrets. */
  detail?: Record<string, unknown>;
}

/**
 * The audit fields that say which pipeline a record is about: `pipeline` is its key
 * ({@link pipelineKeyOf}: the bare name at home, so a single-account stack's records and their
 * keys are what they were), plus its `account` and `region`.
 */
export function pipelineFields(n: {
  pipeline: string;
  account: string;
  region: string;
}): Pick<AuditRecord, "pipeline" | "account" | "region"> {
  return { pipeline: pipelineKeyOf(n), account: n.account, region: n.region };
}

/** Pipeline name used for records that cannot be tied to a pipeline (malformed input). */
export const UNKNOWN_PIPELINE = "(unknown)";

/** Attempts at a fresh random suffix when a record's key is taken (practically never). */
const AUDIT_KEY_ATTEMPTS = 3;

/**
 * Writes one audit record at `now`, with a TTL of `retentionDays`, and the `byExecution` index
 * attributes when it names an execution. Returns the item written; DynamoDB errors are thrown.
 *
 * Append-only: the put is conditional on `attribute_not_exists(pk)`, so it never replaces a record
 * already written; IAM lets both Lambdas only PutItem `PIPELINE#` items (infra/grants.ts
 * `auditAppend`) but cannot demand the condition. The key's sort part is the time plus 8 random
 * hex characters; should it be taken, the write is retried with a new suffix, up to
 * {@link AUDIT_KEY_ATTEMPTS} times, and then fails with ConditionalCheckFailedException.
 */
export async function putAudit(
  record: AuditRecord,
  retentionDays: number,
  now: Date = new Date(),
): Promise<Record<string, unknown>> {
  const at = now.toISOString();
  for (let attempt = 1; ; attempt++) {
    const item: Record<string, unknown> = {
      ...auditKey(record.pipeline || UNKNOWN_PIPELINE, at, randomUUID().slice(0, 8)),
      at,
      ...record,
      expiresAt: expiresAt(retentionDays, now),
    };
    if (record.executionId) Object.assign(item, executionIndexKey(record.executionId, at));
    try {
      await ddb().send(
        new PutCommand({
          TableName: tableName(),
          Item: item,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return item;
    } catch (err: unknown) {
      if (!isConditionFailed(err) || attempt >= AUDIT_KEY_ATTEMPTS) throw err;
    }
  }
}
