/**
 * The audit trail and delivery ledger share one DynamoDB table (`AUDIT_TABLE`):
 *
 * | item                    | pk                              | sk                          |
 * |-------------------------|---------------------------------|-----------------------------|
 * | audit record            | `PIPELINE#<pipeline>`           | `<iso time>#<unique suffix>`|
 * | delivery ledger entry   | `DELIVERY#<notification id>`    | `CHANNEL#<channel name>`    |
 * | collapse claim          | `OUTCOME#<pipeline>#<exec id>`  | `<outcome>`                 |
 * | approval decision claim | `APPROVAL#<pipeline>#<exec id>` | `<stage>#<action>`          |
 * | open PagerDuty incident | `INCIDENT#<channel>`            | `<pipeline>`                |
 *
 * Audit records also carry `gsi1pk = EXEC#<execution id>` and `gsi1sk = <iso time>` so that the
 * `byExecution` index answers "everything about this execution". Every item has `expiresAt`
 * (epoch seconds), the table's TTL attribute, set from `auditRetentionDays`.
 */
import { randomUUID } from "node:crypto";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ddb, requireEnv } from "./aws";
import { ENV } from "./types";

/** Name of the global secondary index keyed by execution id. */
export const EXECUTION_INDEX = "byExecution";

/**
 * The table's keys, index and TTL attribute: the infrastructure declares the table from this, and
 * the local stand-in creates it from this, so the two cannot drift apart.
 */
export const AUDIT_TABLE_SCHEMA = {
  hashKey: "pk",
  rangeKey: "sk",
  index: { name: EXECUTION_INDEX, hashKey: "gsi1pk", rangeKey: "gsi1sk" },
  ttlAttribute: "expiresAt",
} as const;

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
  | "incident-resolved";

/** One audit record, as written to DynamoDB (minus keys). */
export interface AuditRecord {
  action: AuditAction;
  pipeline: string;
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

/** Seconds since the epoch `days` from `now`: the TTL of an item. */
export function expiresAt(days: number, now: Date = new Date()): number {
  return Math.floor(now.getTime() / 1000) + Math.round(days * 86400);
}

/** Pipeline name used for records that cannot be tied to a pipeline (malformed input). */
export const UNKNOWN_PIPELINE = "(unknown)";

/**
 * Writes one audit record. `retentionDays` sets its TTL. Returns the item written.
 */
export async function putAudit(
  record: AuditRecord,
  retentionDays: number,
  now: Date = new Date(),
): Promise<Record<string, unknown>> {
  const at = now.toISOString();
  const item: Record<string, unknown> = {
    pk: `PIPELINE#${record.pipeline || UNKNOWN_PIPELINE}`,
    sk: `${at}#${randomUUID().slice(0, 8)}`,
    at,
    ...record,
    expiresAt: expiresAt(retentionDays, now),
  };
  if (record.executionId) {
    item.gsi1pk = `EXEC#${record.executionId}`;
    item.gsi1sk = at;
  }
  await ddb().send(new PutCommand({ TableName: requireEnv(ENV.table), Item: item }));
  return item;
}
