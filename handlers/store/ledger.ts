/**
 * The fan-out's exactly-once bookkeeping (keys in store/keys.ts):
 * - the delivery ledger: one item per (notification, channel), claimed with a conditional write
 *   before sending, so a duplicated or redelivered event never sends twice to a channel that
 *   already got it, and a failed channel is retried alone;
 * - outcome claims: the first of an execution's action / stage / pipeline FAILED events of one
 *   attempt claims the message for that outcome; the others are collapsed into it. A later
 *   attempt (RetryStageExecution) claims anew: its failure is a new failure.
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { claimOrRead } from "./claim";
import { deliveryKey, outcomeKey } from "./keys";
import { expiresAt, tableName } from "./table";

/** Result of claiming a delivery. */
export type DeliveryClaim =
  | { claimed: true; attempts: number }
  | { claimed: false; status: "sent" | "sending" | "abandoned"; sentAt?: string };

/**
 * Claims the right to send notification `id` in ledger `slot` (a channel, or a PagerDuty resolve:
 * store/keys.ts) until `leaseUntil` (epoch ms). Fails when the slot was already sent, was given up
 * for good, or another invocation holds a live lease (a concurrent duplicate of the same event).
 * DynamoDB errors are thrown.
 */
export async function claimDelivery(
  id: string,
  slot: string,
  leaseUntil: number,
  retentionDays: number,
  now = Date.now(),
): Promise<DeliveryClaim> {
  const result = await claimOrRead({
    kind: "update",
    TableName: tableName(),
    Key: deliveryKey(id, slot),
    UpdateExpression: "SET #s = :sending, leaseUntil = :lease, expiresAt = :exp ADD attempts :one",
    ConditionExpression:
      "attribute_not_exists(pk) OR #s = :failed OR (#s = :sending AND leaseUntil < :now)",
    ExpressionAttributeNames: { "#s": "status" },
    ExpressionAttributeValues: {
      ":sending": "sending",
      ":failed": "failed",
      ":lease": leaseUntil,
      ":now": now,
      ":one": 1,
      ":exp": expiresAt(retentionDays),
    },
    ReturnValues: "ALL_NEW",
  });
  if (result.claimed) return { claimed: true, attempts: Number(result.item?.attempts ?? 1) };
  const status = result.existing?.status;
  return {
    claimed: false,
    status: status === "sent" || status === "abandoned" ? status : "sending",
    sentAt: result.existing?.sentAt as string | undefined,
  };
}

/** Records a successful delivery, with the provider's receipt id (`-` when it gave none). */
export async function markSent(
  id: string,
  slot: string,
  receiptId: string | undefined,
): Promise<void> {
  await ddb().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: deliveryKey(id, slot),
      UpdateExpression:
        "SET #s = :sent, sentAt = :at, receiptId = :rid REMOVE leaseUntil, lastError",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: {
        ":sent": "sent",
        ":at": new Date().toISOString(),
        ":rid": receiptId ?? "-",
      },
    }),
  );
}

/**
 * Records a failed delivery: `failed` may be retried by a redelivery of the event; `abandoned`
 * (a permanent error) is not tried again. `error` must already be redacted.
 */
export async function markFailed(
  id: string,
  slot: string,
  error: string,
  permanent: boolean,
): Promise<void> {
  await ddb().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: deliveryKey(id, slot),
      UpdateExpression: "SET #s = :s, lastError = :e, leaseUntil = :zero",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: {
        ":s": permanent ? "abandoned" : "failed",
        ":e": error,
        ":zero": 0,
      },
    }),
  );
}

/**
 * Claims the one message of an execution's outcome (e.g. FAILED) in `attempt`
 * (`pipeline-execution-attempt`, default 1) for notification `id`. Returns the id that owns the
 * outcome: `id` itself when it won (or already owned it), another id when this event is to be
 * collapsed into that one.
 */
export async function claimOutcome(
  pipeline: string,
  executionId: string,
  outcome: string,
  id: string,
  retentionDays: number,
  attempt = 1,
): Promise<string> {
  const result = await claimOrRead({
    kind: "put",
    TableName: tableName(),
    Item: {
      ...outcomeKey(pipeline, executionId, outcome, attempt),
      notificationId: id,
      at: new Date().toISOString(),
      expiresAt: expiresAt(retentionDays),
    },
    ConditionExpression: "attribute_not_exists(pk) OR notificationId = :id",
    ExpressionAttributeValues: { ":id": id },
  });
  if (result.claimed) return id;
  return String(result.existing?.notificationId ?? id);
}
