/**
 * A digest's own ledger record (fanout/digest-flush.ts `digestRef`): what a copy of a grouped
 * entry reads to know whether that digest has it (fanout/grouped-copy.ts), and the `sent` mark a
 * flush finishes later when its own failed for good after the send (issue 12).
 *
 * The flush's claim writes the digest's list (`detail`: `kind` digest, `count`, `pipelines`,
 * `windowStart`, `notifications`, the ids it read, oldest first, cut at 200) before anything is
 * sent, so that a record still `sending` says what its digest holds: a "sent" mark that DynamoDB
 * refused until the Lambda stopped no longer leaves a record that cannot be read.
 */
import { GetCommand, UpdateCommand, type UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import type { DigestSentMark } from "../contracts/digest-flush";
import { isConditionFailed, withStoreRetries } from "./claim";
import { deliveryRecordKey } from "./keys";
import { writeWithRetries, type DeliveryRef } from "./ledger";
import { tableName } from "./table";

function recordKey(ref: DeliveryRef) {
  return deliveryRecordKey(ref.pipeline, ref.eventTime, ref.notificationId, ref.slot);
}

/** What {@link digestRecord} reads of a digest's record. */
export interface DigestRecord {
  /** `sending`, `sent`, `failed` or `abandoned` (store/ledger.ts). */
  status: string;
  /** The ids it listed (`detail.notifications`: written by the claim, kept by the mark). */
  notifications?: string[];
  /** How many entries it carried (`detail.count`); more than `notifications` when cut at 200. */
  count?: number;
  /** An attempt of it got no answer after its request went out: it may have arrived. */
  mayHaveArrived?: true;
}

/**
 * The ledger record of a digest (`ref`: fanout/digest-flush.ts `digestRef`), undefined when there
 * is none (the flush has not claimed it yet, or it found the window empty). One strongly
 * consistent GetItem, retried through throttling until `deadline` (epoch ms); errors are thrown.
 */
export async function digestRecord(
  ref: DeliveryRef,
  deadline: number,
): Promise<DigestRecord | undefined> {
  const out = await withStoreRetries(
    () =>
      ddb().send(
        new GetCommand({
          TableName: tableName(),
          Key: recordKey(ref),
          ConsistentRead: true,
          ProjectionExpression: "#s, detail, mayHaveArrived",
          ExpressionAttributeNames: { "#s": "status" },
        }),
      ),
    { deadline },
  );
  if (!out.Item) return undefined;
  const detail = (out.Item.detail ?? {}) as { notifications?: unknown; count?: unknown };
  return {
    status: String(out.Item.status),
    ...(Array.isArray(detail.notifications) && { notifications: detail.notifications.map(String) }),
    ...(typeof detail.count === "number" && { count: detail.count }),
    ...(out.Item.mayHaveArrived === true && { mayHaveArrived: true as const }),
  };
}

/**
 * Finishes the `sent` mark of the digest `ref` that the claim `mark.claimId` sent: the fields
 * store/ledger.ts `markSent` writes, keeping the list its claim wrote in `detail`. One
 * conditional UpdateItem (`claimId` still this claim's and the slot still `sending`), retried
 * through throttling until `deadline`. Resolves false when the slot is no longer that claim's
 * `sending` slot (marked already: this very write applied, its reply lost; or taken over after
 * its lease by a flush that sends and marks it itself); other errors are thrown.
 */
export async function finishDigestSent(
  ref: DeliveryRef,
  mark: DigestSentMark,
  deadline: number,
  now: Date = new Date(),
): Promise<boolean> {
  const result = mark.ambiguous
    ? "sent; possibly a duplicate: an earlier attempt's outcome is unknown"
    : "sent";
  const input = {
    TableName: tableName(),
    Key: recordKey(ref),
    UpdateExpression:
      "SET #s = :sent, sentAt = :at, receiptId = :rid, #at = :at, #a = :sent, #r = :r," +
      " #amb = :amb" +
      (mark.shortened ? ", #d.shortened = :true" : "") +
      " REMOVE leaseUntil, lastError",
    ConditionExpression: "claimId = :cid AND #s = :sending",
    ExpressionAttributeNames: {
      "#s": "status",
      "#at": "at",
      "#a": "action",
      "#r": "result",
      "#amb": "ambiguous",
      ...(mark.shortened && { "#d": "detail" }),
    },
    ExpressionAttributeValues: {
      ":sent": "sent",
      ":sending": "sending",
      ":at": now.toISOString(),
      ":rid": mark.receiptId,
      ":r": result,
      ":amb": mark.ambiguous,
      ":cid": mark.claimId,
      ...(mark.shortened && { ":true": true }),
    },
  };
  return updateUnlessRefused(input, deadline);
}

/**
 * One conditional UpdateItem `input`, retried through throttling until `deadline` (store/ledger.ts
 * `writeWithRetries`). Resolves false when its condition failed, true when applied; other errors
 * are thrown.
 */
export async function updateUnlessRefused(
  input: UpdateCommandInput,
  deadline: number,
): Promise<boolean> {
  try {
    await writeWithRetries(() => ddb().send(new UpdateCommand(input)), deadline);
    return true;
  } catch (err: unknown) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}
