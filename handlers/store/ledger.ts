/**
 * The fan-out's exactly-once bookkeeping (keys in store/keys.ts):
 * - the delivery ledger: one item per (notification, slot), claimed with a conditional write
 *   before sending, so a duplicated or redelivered event never sends twice to a channel that
 *   already got it, and a failed channel is retried alone. The item is also the delivery's audit
 *   record (same TTL, in the pipeline's `DELIVERY#PIPELINE#` partition by time, and in the
 *   `byExecution` index once settled): a delivery costs two writes, the claim and the mark (a
 *   grouped first attempt in a window known spent costs one, claim and mark together:
 *   store/digest.ts `claimGrouped`, as nothing outside happens between them);
 * - outcome claims: the first of an execution's action / stage / pipeline FAILED events of one
 *   attempt claims the message for that outcome; the others are collapsed into it. A later
 *   attempt (RetryStageExecution) claims anew: its failure is a new failure.
 *
 * When a slot may be taken again (issue 12: DynamoDB throttling alone never causes a second
 * send). A claim holds the slot `sending` under a lease that lasts until the claiming Lambda has
 * certainly stopped (fanout/invocation.ts `claimLease`: its deadline plus the handler's margin
 * plus clock skew), so no concurrent or overrunning receive takes a slot whose invocation may
 * still be sending or marking it; nothing is claimed after the deadline. Every delivery of a
 * record settles before the record ends (a sibling's failed claim does not cut a send short).
 * The marks are retried through throttling into the margin (fanout/invocation.ts
 * `markDeadline`), so a throttled mark-sent of a delivered message ends `sent`. Only when
 * DynamoDB refuses every mark write until the Lambda stops (an outage, not throttling) does a
 * delivered slot stay `sending`; its next claim is `unconfirmed`, sent again and recorded as
 * ambiguous where the receiver has no idempotency (deduplicated by the receiver where it has).
 * The marks (sent, failed, abandoned) and their retries are store/marks.ts's.
 */
import { randomUUID } from "node:crypto";
import { claimOrRead } from "./claim";
import { claimFields, excludedOf } from "./slot-fields";
import { deliveryRecordKey } from "./keys";
import { tableName } from "./table";

/** Which delivery record: the event's pipeline and own time, the notification and the slot. */
export interface DeliveryRef {
  /**
   * The pipeline's key (contracts/pipeline-id.ts `pipelineKeyOf`: its name at home, else its
   * ARN): the record's partition, so same-named pipelines of two accounts keep two ledgers.
   */
  pipeline: string;
  /** The pipeline's account and region (issue 14): audit fields of the record, when known. */
  account?: string;
  region?: string;
  /** The event's time (ISO 8601 UTC): the same for every redelivery of the event. */
  eventTime: string;
  notificationId: string;
  /** Ledger slot (store/keys.ts): the channel name, or the resolve slot of an incident. */
  slot: string;
  /** Audit fields of the record. */
  channel: string;
  executionId?: string;
  eventId?: string;
  /**
   * The claim this invocation holds on the slot (`claimId` of a successful
   * {@link claimDelivery}; the caller sets it): store/marks.ts `markFailed` then changes the slot
   * only while it is still this very claim's (`sending`, or `grouped` by it).
   */
  claimId?: string;
  /** The claim took over an unconfirmed slot (the caller sets it): a release keeps saying so. */
  unconfirmed?: boolean;
}

/**
 * Result of claiming a delivery. Refused: the slot is `sent`, `abandoned`, `grouped` (final too,
 * into `digestId`: store/digest.ts) or `sending` under another claim's live lease.
 * `unconfirmed`: the slot was `sending` under a lease that expired (an earlier attempt never said
 * how its send ended: a timeout or crash during or after the request, or a mark-sent that failed
 * for good), so this send may repeat a message the receiver already has.
 */
export type DeliveryClaim =
  | {
      claimed: true;
      attempts: number;
      unconfirmed: boolean;
      claimId: string;
      /** An earlier attempt's grouped mark may be in a digest sent (`markFailed` `mayBeInDigest`). */
      inDigest?: true;
      /** A digest's entries taken out by copies (store/digest-record.ts `excludeFromDigest`). */
      excluded?: string[];
    }
  | {
      claimed: false;
      status: "sent" | "sending" | "abandoned" | "grouped";
      sentAt?: string;
      digestId?: string;
    };

function key(ref: DeliveryRef) {
  return deliveryRecordKey(ref.pipeline, ref.eventTime, ref.notificationId, ref.slot);
}

/**
 * Claims the right to send `ref` until `leaseUntil` (epoch ms). Fails when the slot was already
 * sent, was given up for good, or another invocation holds a live lease (a concurrent duplicate
 * of the same event). One UpdateItem (ReturnValues ALL_OLD: what the slot was before; a refusal
 * returns the item that refused it, store/claim.ts). `detail`, when given, is written as the
 * record's `detail` by the claim itself (a digest's list: fanout/digest-flush.ts). DynamoDB
 * errors are thrown.
 */
export async function claimDelivery(
  ref: DeliveryRef,
  leaseUntil: number,
  retentionDays: number,
  now = Date.now(),
  deadline?: number,
  detail?: Record<string, unknown>,
): Promise<DeliveryClaim> {
  // Names this claim: a repeat of it (applied, its reply lost) knows its lease from another's.
  const claimId = randomUUID();
  const f = claimFields(ref, claimId, retentionDays);
  const withDetail = detail ? ", #d = :d" : "";
  const result = await claimOrRead(
    {
      kind: "update",
      TableName: tableName(),
      Key: key(ref),
      UpdateExpression: `SET #s = :sending, #lease = :lease, ${f.set}${withDetail} ADD #att :one`,
      ConditionExpression:
        // No status: a digest's record holding only exclusions (store/digest-record.ts).
        "attribute_not_exists(#s) OR #s = :failed OR (#s = :sending AND #lease < :now)",
      ExpressionAttributeNames: {
        ...f.names,
        "#s": "status",
        "#lease": "leaseUntil",
        "#att": "attempts",
        ...(detail && { "#d": "detail" }),
      },
      ExpressionAttributeValues: {
        ...f.values,
        ...(detail && { ":d": detail }),
        ":sending": "sending",
        ":failed": "failed",
        ":lease": leaseUntil,
        ":now": now,
        ":one": 1,
      },
      ReturnValues: "ALL_OLD",
    },
    { deadline },
  );
  if (result.claimed) {
    const old = result.item;
    return {
      claimed: true,
      attempts: Number(old?.attempts ?? 0) + 1,
      unconfirmed: old?.status === "sending" || old?.mayHaveArrived === true,
      claimId,
      ...(old?.mayBeInDigest === true && { inDigest: true as const }),
      ...excludedOf(old),
    };
  }
  const status = result.existing?.status;
  if (status === "sending" && result.existing?.claimId === claimId) {
    // Our own claim, applied by an attempt whose reply was lost. What the slot was before is
    // lost with that reply: counted as unconfirmed (a possible repeat is recorded, never a loss).
    const attempts = Number(result.existing.attempts ?? 1);
    const inDigest = result.existing.mayBeInDigest === true && { inDigest: true as const };
    const excluded = excludedOf(result.existing);
    return { claimed: true, attempts, unconfirmed: true, claimId, ...inDigest, ...excluded };
  }
  return {
    claimed: false,
    status:
      status === "sent" || status === "abandoned" || status === "grouped" ? status : "sending",
    sentAt: result.existing?.sentAt as string | undefined,
    digestId: result.existing?.digestId as string | undefined,
  };
}
