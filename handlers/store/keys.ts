/**
 * The keys of every item in the one DynamoDB table (`AUDIT_TABLE`) that holds the audit trail and
 * all the exactly-once bookkeeping. This file is the only place in handlers/ that builds a key.
 *
 * | item                       | pk                              | sk                           | written by                |
 * |----------------------------|---------------------------------|------------------------------|---------------------------|
 * | audit record               | `PIPELINE#<pipeline key>`       | `<iso time>#<8 hex suffix>`  | store/audit.ts            |
 * | delivery record (ledger)   | `DELIVERY#PIPELINE#<pipeline key>` | `<event time>#<notif id>#<slot>` | store/ledger.ts       |
 * | (old ledger entry, read-only) | `DELIVERY#<notification id>` | `CHANNEL#<slot>`             | before issue 12           |
 * | outcome (collapse) claim   | `OUTCOME#<pipeline key>#<exec id>` | `<outcome>[#<attempt>]`      | store/ledger.ts           |
 * | approval decision claim    | `APPROVAL#<pipeline key>#<exec id>` | `<stage>#<action>[#<run>]`   | store/approvals.ts        |
 * | pending approval request   | `PENDING#APPROVAL`              | `<expires iso>#<run key>`    | store/pending.ts          |
 * | Slack replay guard         | `REPLAY#<request signature>`    | `REPLAY`                     | store/approvals.ts        |
 * | open PagerDuty incident    | `INCIDENT#<channel name>`       | `<pipeline key>`             | store/incidents.ts        |
 * | Slack thread of an execution | `THREAD#<channel name>#<pipeline key>#<exec id>` | `THREAD` | store/threads.ts |
 * | send pacing of a channel   | `PACE#<channel name>`           | `PACE`                       | store/pacing.ts           |
 * | digest delivery (ledger)   | `DELIVERY#PIPELINE#DIGEST#<channel>` | `<window start iso>#digest/<channel>/<window start ms>#digest/<window start ms>` | fanout/digest-build.ts |
 *
 * `<pipeline key>` is contracts/pipeline-id.ts `pipelineKeyOf` (issue 14): a pipeline is
 * (account, region, name), and its key is the bare name in the notifier's own account and region
 * (`HOME_ACCOUNT`, `AWS_REGION`; every account when `HOME_ACCOUNT` is unset, as in a stack without
 * sources), else the pipeline's ARN (`arn:aws:codepipeline:<region>:<account>:<name>`). So a
 * single-account stack's keys are what they were before issue 14, and same-named pipelines of two
 * accounts or regions never share an item. The notification id (events/normalize.ts) is made from
 * the same key, so the ledger's sort keys differ too.
 *
 * Their other attributes: an audit record `at` (ISO time) and the AuditRecord fields (with
 * `account` and `region` since issue 14); a delivery record `status` (sending | sent | failed |
 * abandoned), `attempts`, `leaseUntil` (epoch ms), `sentAt`, `receiptId`, `lastError`,
 * `ambiguous` (true when an earlier attempt's outcome was unknown, store/ledger.ts), the
 * AuditRecord fields `pipeline`, `account`, `region`, `executionId`, `channel`,
 * `notificationId`, `eventId`, and once it is settled `at`, `action`, `result`, `detail`;
 * an outcome claim `notificationId` (the owner) and `at`; a decision
 * claim the whole claim (user, decision, at, reason, …) and `status: "claimed"`; an incident item
 * the open incident's `dedupKey`, `failures`, `openedAt`, `openedBy`, `lastExecution`,
 * `lastNotification` and what the last success resolved (`resolving`, `resolvedBy`; bounded, see
 * store/incidents.ts; items from before issue 11 hold a `dedupKeys` string set instead); the
 * replay guard nothing else.
 *
 * A delivery's slot is the channel name, or `<channel name>/resolve/<dedup key>` for the resolve
 * of one PagerDuty incident ({@link resolveSlot}), so that a success resolving several incidents
 * claims each resolve on its own.
 *
 * Audit records with an execution id also carry `gsi1pk = EXEC#<execution id>` and
 * `gsi1sk = <iso time>` (the same time as in their sk), so that the `byExecution` global secondary
 * index answers "everything about this execution" in time order. A delivery record gets them
 * (with the time it was settled) when it is marked sent or ambiguous, not at its claim: an index
 * write costs a write unit, and a slot still being sent is no record yet. One grouped into a
 * digest (issue 11, store/digest.ts) has `gsi1pk = DIGEST#<channel>#<window start ms>`,
 * `gsi1sk = <event time>#<notification id>` instead: its flush Queries them. No other item has them.
 *
 * The audit trail of a pipeline is two partitions, both ordered by time: `PIPELINE#<pipeline>`
 * (decisions: append-only, IAM grants PutItem only, `putAudit` writes with
 * `attribute_not_exists`) and `DELIVERY#PIPELINE#<pipeline>` (one record per delivered
 * (notification, slot): the exactly-once ledger itself, so it is claimed and then updated —
 * `sending` → `sent` / `failed` / `abandoned` — by UpdateItem; a delivery needs no separate audit
 * write). What a delivery record says once `sent` is final: nothing updates a sent slot again (the
 * claim's condition refuses it). Failures, retries, duplicates and collapses stay append-only
 * audit records.
 *
 * Every item carries `expiresAt` (epoch seconds), the table's TTL attribute: `auditRetentionDays`
 * from now for all but the replay guard, which lives only as long as a signature's timestamp is
 * accepted (see store/approvals.ts).
 *
 * Every key is at most DynamoDB's limit (partition key 2048 bytes, sort key 1024 bytes, UTF-8;
 * the same for the index's keys): a key built from input that would be longer keeps its beginning
 * and ends in a SHA-256 of the whole ({@link fitKey}). Keys within the limit are unchanged.
 *
 * The values are stored data: changing any of these formats orphans the items already written.
 */
import { createHash } from "node:crypto";
import { cutToUtf8Bytes } from "../events/fields";

/**
 * Longest partition key value, in bytes of its UTF-8 encoding (DynamoDB Developer Guide,
 * "Constraints in Amazon DynamoDB" (formerly the quotas' "Partition keys and sort keys"):
 * "The maximum length of a partition key value is 2048 bytes";
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-partition-sort-keys).
 * Global secondary index keys have the same limits.
 */
export const MAX_PARTITION_KEY_BYTES = 2048;

/** Longest sort key value, in UTF-8 bytes (same page: "maximum length … is 1024 bytes"). */
export const MAX_SORT_KEY_BYTES = 1024;

/** What replaces the end of a key over its budget: this marker and 64 hex digits of SHA-256. */
const HASH_MARK = "#sha256:";
const HASHED_TAIL_BYTES = HASH_MARK.length + 64;

/**
 * `key` when its UTF-8 encoding is at most `maxBytes`, byte for byte; else its longest beginning
 * (whole code points) that leaves room for `#sha256:<64 hex digits of SHA-256 of the whole key>`,
 * followed by that. Distinct keys stay distinct (the hash is of the whole), the same input always
 * gives the same key, and a prefix query (`sk < :upper`, `begins_with`) still finds the item by
 * its beginning. Lone surrogates (not text; intake replaces them) are made U+FFFD first, since
 * they cannot be encoded. Use {@link MAX_PARTITION_KEY_BYTES} or {@link MAX_SORT_KEY_BYTES}.
 */
export function fitKey(key: string, maxBytes: number): string {
  const text = wellFormedKey(key);
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  const hash = createHash("sha256").update(text, "utf8").digest("hex");
  return `${cutToUtf8Bytes(text, maxBytes - HASHED_TAIL_BYTES)}${HASH_MARK}${hash}`;
}

function wellFormedKey(key: string): string {
  const s = key as string & { toWellFormed?: () => string };
  return typeof s.toWellFormed === "function" ? s.toWellFormed() : key;
}

/** A primary key whose pk and sk fit DynamoDB's limits ({@link fitKey}). */
function fitted(pk: string, sk: string): ItemKey {
  return { pk: fitKey(pk, MAX_PARTITION_KEY_BYTES), sk: fitKey(sk, MAX_SORT_KEY_BYTES) };
}

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
  return fitKey(`PIPELINE#${pipeline}`, MAX_PARTITION_KEY_BYTES);
}

/**
 * Key of one audit record: `at` is the ISO time of the record, `suffix` makes records written in
 * the same millisecond distinct (8 hex characters in practice).
 */
export function auditKey(pipeline: string, at: string, suffix: string): ItemKey {
  return { pk: auditPartition(pipeline), sk: fitKey(`${at}#${suffix}`, MAX_SORT_KEY_BYTES) };
}

/** Hash key of the `byExecution` index for `executionId` (query it for an execution's records). */
export function executionPartition(executionId: string): string {
  return fitKey(`EXEC#${executionId}`, MAX_PARTITION_KEY_BYTES);
}

/** The `byExecution` index attributes of an audit record of `executionId` written at ISO time `at`. */
export function executionIndexKey(executionId: string, at: string): ExecutionIndexKey {
  return { gsi1pk: executionPartition(executionId), gsi1sk: fitKey(at, MAX_SORT_KEY_BYTES) };
}

/**
 * Key of the delivery ledger entry of notification `notificationId` in ledger slot `slot`: a
 * channel instance name, or a {@link resolveSlot}.
 */
export function deliveryKey(notificationId: string, slot: string): ItemKey {
  return fitted(`DELIVERY#${notificationId}`, `CHANNEL#${slot}`);
}

/** The ledger slot of resolving PagerDuty incident `dedupKey` on channel instance `channel`. */
export function resolveSlot(channel: string, dedupKey: string): string {
  return `${channel}/resolve/${dedupKey}`;
}

/**
 * Partition of the delivery records of `pipeline`: the ledger entries the fan-out writes since
 * the ledger became the audit record of a delivery (query it, with the `PIPELINE#` partition, for
 * a pipeline's history). Under the `DELIVERY#` prefix, so that IAM's `dynamodb:LeadingKeys` tells
 * these mutable items from the append-only audit records (infra/grants.ts `ITEM_KINDS`).
 */
export function deliveryPartition(pipeline: string): string {
  return fitKey(`DELIVERY#PIPELINE#${pipeline}`, MAX_PARTITION_KEY_BYTES);
}

/**
 * Key of the delivery record (ledger entry and audit record in one item) of notification
 * `notificationId` in ledger `slot`: `eventTime` is the event's own time (ISO 8601 UTC, the same
 * for every redelivery and duplicate of the event), so the sort key is deterministic — the
 * condition of the claim needs that — and a pipeline's delivery records sort by time like its
 * audit records.
 */
export function deliveryRecordKey(
  pipeline: string,
  eventTime: string,
  notificationId: string,
  slot: string,
): ItemKey {
  return fitted(deliveryPartition(pipeline), `${eventTime}#${notificationId}#${slot}`);
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
  return fitted(
    `OUTCOME#${pipeline}#${executionId}`,
    attempt > 1 ? `${outcome}#${attempt}` : outcome,
  );
}

/**
 * Key of the one open PagerDuty incident of a pipeline on channel instance `channel` (issue 11):
 * `pipeline` is its `pipelineKeyOf` key (contracts/pipeline-id.ts), so same-named pipelines of
 * two accounts have two items.
 */
export function incidentKey(channel: string, pipeline: string): ItemKey {
  return fitted(`INCIDENT#${channel}`, pipeline);
}

/**
 * Key of a channel instance's send pacing (issue 11, store/pacing.ts): one item per channel,
 * `PACE#<channel>` / `PACE`, shared by every concurrent invocation.
 */
export function paceKey(channel: string): ItemKey {
  return fitted(`PACE#${channel}`, "PACE");
}

/** `byExecution` hash key of `channel`'s digest of the window from `windowStart` (epoch ms). */
export function digestPartition(channel: string, windowStart: number): string {
  return fitKey(`DIGEST#${channel}#${Math.round(windowStart)}`, MAX_PARTITION_KEY_BYTES);
}

/** Partition of all approval decision claims of one execution (query it for its decisions). */
export function approvalPartition(pipeline: string, executionId: string): string {
  return fitKey(`APPROVAL#${pipeline}#${executionId}`, MAX_PARTITION_KEY_BYTES);
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
    sk: fitKey(`${target.stage}#${target.action}${run}`, MAX_SORT_KEY_BYTES),
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
  return fitted(PENDING_APPROVALS_PARTITION, `${expiresAtIso}#${id.join("#")}`);
}

/**
 * Key of the Slack thread of one execution on channel instance `channel` (bot mode, issue 11): the
 * parent message's `ts` and channel id. `pipeline` is the pipeline's key
 * (contracts/pipeline-id.ts `pipelineKeyOf`: the bare name at home, else the ARN).
 */
export function threadKey(channel: string, pipeline: string, executionId: string): ItemKey {
  return fitted(`THREAD#${channel}#${pipeline}#${executionId}`, "THREAD");
}

/** Key of the replay guard of one verified Slack request signature (`v0=<hex>`). */
export function replayKey(signature: string): ItemKey {
  return fitted(`REPLAY#${signature}`, "REPLAY");
}
