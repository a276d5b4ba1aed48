/**
 * The keys of every item in the one DynamoDB table (`AUDIT_TABLE`) that holds the audit trail and
 * all the exactly-once bookkeeping. This file is the only place in handlers/ that builds a key.
 *
 * | item                       | pk                              | sk                           | written by                |
 * |----------------------------|---------------------------------|------------------------------|---------------------------|
 * | audit record               | `PIPELINE#<pipeline>`           | `<iso time>#<8 hex suffix>`  | store/audit.ts            |
 * | delivery ledger entry      | `DELIVERY#<notification id>`    | `CHANNEL#<slot>` (see below) | store/ledger.ts           |
 * | outcome (collapse) claim   | `OUTCOME#<pipeline>#<exec id>`  | `<outcome>[#<attempt>]`      | store/ledger.ts           |
 * | approval decision claim    | `APPROVAL#<pipeline>#<exec id>` | `<stage>#<action>[#<run>]`   | store/approvals.ts        |
 * | pending approval request   | `PENDING#APPROVAL`              | `<expires iso>#<run key>`    | store/pending.ts          |
 * | Slack replay guard         | `REPLAY#<request signature>`    | `REPLAY`                     | store/approvals.ts        |
 * | open PagerDuty incident(s) | `INCIDENT#<channel name>`       | `<pipeline>`                 | store/incidents.ts        |
 *
 * Their other attributes: an audit record `at` (ISO time) and the AuditRecord fields; a delivery
 * `status` (sending | sent | failed | abandoned), `attempts`, `leaseUntil` (epoch ms), `sentAt`,
 * `receiptId`, `lastError`; an outcome claim `notificationId` (the owner) and `at`; a decision
 * claim the whole claim (user, decision, at, reason, …) and `status: "claimed"`; an incident item
 * `dedupKeys` (a string set); the replay guard nothing else.
 *
 * A delivery's slot is the channel name, or `<channel name>/resolve/<dedup key>` for the resolve
 * of one PagerDuty incident ({@link resolveSlot}), so that a success resolving several incidents
 * claims each resolve on its own.
 *
 * Audit records with an execution id also carry `gsi1pk = EXEC#<execution id>` and
 * `gsi1sk = <iso time>` (the same time as in their sk), so that the `byExecution` global secondary
 * index answers "everything about this execution" in time order. No other item kind has them.
 *
 * Every item carries `expiresAt` (epoch seconds), the table's TTL attribute: `auditRetentionDays`
 * from now for all but the replay guard, which lives only as long as a signature's timestamp is
 * accepted (see store/approvals.ts).
 *
 * The values are stored data: changing any of these formats orphans the items already written.
 */

/** The primary key of one item. */
export interface ItemKey {
  pk: string;
  sk: string;
}

/** The `byExecution` index attributes of an audit record. */
export interface ExecutionIndexKey {
  gsi1pk: string;
  gsi1sk: string;
}

/** Name of the global secondary index keyed by execution id. */
export const EXECUTION_INDEX = "byExecution";

/**
 * The table's keys, index and TTL attribute: the infrastructure declares the table from this, and
 * the local stand-in creates it from this, so the two cannot drift apart.
 */
export const TABLE_SCHEMA = {
  hashKey: "pk",
  rangeKey: "sk",
  index: { name: EXECUTION_INDEX, hashKey: "gsi1pk", rangeKey: "gsi1sk" },
  ttlAttribute: "expiresAt",
} as const;

/** The same object under its earlier name, which infra and the stand-ins import. */
export const AUDIT_TABLE_SCHEMA = TABLE_SCHEMA;

/** Partition of the audit records of `pipeline` (query it for a pipeline's history). */
export function auditPartition(pipeline: string): string {
  return `PIPELINE#${pipeline}`;
}

/**
 * Key of one audit record: `at` is the ISO time of the record, `suffix` makes records written in
 * the same millisecond distinct (8 hex characters in practice).
 */
export function auditKey(pipeline: string, at: string, suffix: string): ItemKey {
  return { pk: auditPartition(pipeline), sk: `${at}#${suffix}` };
}

/** Hash key of the `byExecution` index for `executionId` (query it for an execution's records). */
export function executionPartition(executionId: string): string {
  return `EXEC#${executionId}`;
}

/** The `byExecution` index attributes of an audit record of `executionId` written at ISO time `at`. */
export function executionIndexKey(executionId: string, at: string): ExecutionIndexKey {
  return { gsi1pk: executionPartition(executionId), gsi1sk: at };
}

/**
 * Key of the delivery ledger entry of notification `notificationId` in ledger slot `slot`: a
 * channel instance name, or a {@link resolveSlot}.
 */
export function deliveryKey(notificationId: string, slot: string): ItemKey {
  return { pk: `DELIVERY#${notificationId}`, sk: `CHANNEL#${slot}` };
}

/** The ledger slot of resolving PagerDuty incident `dedupKey` on channel instance `channel`. */
export function resolveSlot(channel: string, dedupKey: string): string {
  return `${channel}/resolve/${dedupKey}`;
}

/**
 * Key of the claim on the one message of an execution's `outcome` (e.g. `FAILED`) in its
 * `attempt` (`pipeline-execution-attempt`, 1 when absent): a retried stage that fails again is a
 * new failure with a message of its own (REFERENCE.md, CodePipeline's lifecycle). Attempt 1 keeps
 * the sort key it had before attempts were told apart, so items already written stay valid.
 */
export function outcomeKey(
  pipeline: string,
  executionId: string,
  outcome: string,
  attempt = 1,
): ItemKey {
  return {
    pk: `OUTCOME#${pipeline}#${executionId}`,
    sk: attempt > 1 ? `${outcome}#${attempt}` : outcome,
  };
}

/** Key of the open PagerDuty incidents of `pipeline` on channel instance `channel`. */
export function incidentKey(channel: string, pipeline: string): ItemKey {
  return { pk: `INCIDENT#${channel}`, sk: pipeline };
}

/** Partition of all approval decision claims of one execution (query it for its decisions). */
export function approvalPartition(pipeline: string, executionId: string): string {
  return `APPROVAL#${pipeline}#${executionId}`;
}

/**
 * Key of the decision claim of one run of a manual approval action: a decision belongs to exactly
 * one run (`actionExecutionId`; each run has its own token, REFERENCE.md, CodePipeline's
 * lifecycle). A target without a run (buttons posted before runs were told apart) keeps the old
 * sort key `<stage>#<action>`.
 */
export function approvalKey(target: {
  pipeline: string;
  executionId: string;
  stage: string;
  action: string;
  actionExecutionId?: string;
}): ItemKey {
  const run = target.actionExecutionId ? `#${target.actionExecutionId}` : "";
  return {
    pk: approvalPartition(target.pipeline, target.executionId),
    sk: `${target.stage}#${target.action}${run}`,
  };
}

/**
 * Partition of the pending approval requests (one item per posted request, until it is decided
 * or expires): the reminder scan queries it by expiry time. Few items at any time (one per
 * approval waiting on people), so one partition is enough.
 */
export const PENDING_APPROVALS_PARTITION = "PENDING#APPROVAL";

/**
 * Key of the pending approval request of one approval run, sorted by when it expires (`expiresAt`,
 * ISO 8601 UTC, so that string order is time order). The rest of the sort key is the run:
 * `<pipeline>#<execution id>#<stage>#<action>#<action execution id or ->`.
 */
export function pendingApprovalKey(
  expiresAtIso: string,
  run: {
    pipeline: string;
    executionId: string;
    stage: string;
    action: string;
    actionExecutionId?: string;
  },
): ItemKey {
  const id = [run.pipeline, run.executionId, run.stage, run.action, run.actionExecutionId ?? "-"];
  return { pk: PENDING_APPROVALS_PARTITION, sk: `${expiresAtIso}#${id.join("#")}` };
}

/** Key of the replay guard of one verified Slack request signature (`v0=<hex>`). */
export function replayKey(signature: string): ItemKey {
  return { pk: `REPLAY#${signature}`, sk: "REPLAY" };
}
