/**
 * The marks of a delivery slot claimed in store/ledger.ts (`claimDelivery`): `sent` with its
 * audit fields ({@link markSent}), or `failed` / `abandoned` ({@link markFailed}), each one
 * UpdateItem retried through throttling into the invocation's margin ({@link writeWithRetries}:
 * a throttled mark-sent of a delivered message still ends `sent`; issue 12).
 */
import { UpdateCommand, type UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { isConditionFailed, withStoreRetries } from "./claim";
import { deliveryRecordKey, executionIndexKey } from "./keys";
import type { DeliveryRef } from "./ledger";
import { tableName } from "./table";

function key(ref: DeliveryRef) {
  return deliveryRecordKey(ref.pipeline, ref.eventTime, ref.notificationId, ref.slot);
}

/**
 * Runs `write` until it succeeds, up to 5 times (store/claim.ts
 * `withStoreRetries`' backoff), never waiting past `deadline` (epoch ms): a throttled or failed
 * mark-sent would leave a delivered slot `sending`, and the redelivery would send it again.
 * Errors a retry cannot fix (a failed condition, an invalid request, a denial), and the last
 * error, are thrown.
 */
export async function writeWithRetries(
  write: () => Promise<unknown>,
  deadline: number,
  sleep?: (ms: number) => Promise<void>,
): Promise<void> {
  // 5 attempts of a mark write in all (the SDK's own 3 are inside each).
  await withStoreRetries(write, { deadline, sleep, attempts: 5 });
}

/** What a sent delivery's record says (its audit fields). */
export interface SentRecord {
  /** `sent`, or `incident-resolved` for a PagerDuty resolve. */
  action: "sent" | "incident-resolved";
  /** The provider's receipt id (`-` when it gave none). */
  receiptId?: string;
  /** An earlier attempt's outcome was unknown and the receiver has no idempotency. */
  ambiguous: boolean;
  /** Details for the audit trail, never secrets. */
  detail: Record<string, unknown>;
}

/**
 * Records a successful delivery: the ledger's `sent` and the delivery's audit record in one
 * UpdateItem, with the `byExecution` index attributes; retried until `deadline`
 * ({@link writeWithRetries}). An ambiguous send says so in `result` and `ambiguous`.
 */
export async function markSent(
  ref: DeliveryRef,
  sent: SentRecord,
  deadline: number,
  now: Date = new Date(),
): Promise<void> {
  const at = now.toISOString();
  const index = ref.executionId ? executionIndexKey(ref.executionId, at) : undefined;
  const result = sent.ambiguous
    ? "sent; possibly a duplicate: an earlier attempt's outcome is unknown"
    : "sent";
  await updateRecord(
    ref,
    {
      UpdateExpression:
        "SET #s = :sent, sentAt = :at, receiptId = :rid, #at = :at, #a = :a, #r = :r," +
        " #d = :d, #amb = :amb" +
        (index ? ", gsi1pk = :g1, gsi1sk = :g2" : "") +
        " REMOVE leaseUntil, lastError",
      ExpressionAttributeNames: {
        "#s": "status",
        "#at": "at",
        "#a": "action",
        "#r": "result",
        "#d": "detail",
        "#amb": "ambiguous",
      },
      ExpressionAttributeValues: {
        ":sent": "sent",
        ":at": at,
        ":rid": sent.receiptId ?? "-",
        ":a": sent.action,
        ":r": result,
        ":d": sent.detail,
        ":amb": sent.ambiguous,
        ...(index ? { ":g1": index.gsi1pk, ":g2": index.gsi1sk } : {}),
      },
    },
    deadline,
  );
}

/** One UpdateItem of `ref`'s record, retried until `deadline` ({@link writeWithRetries}). */
function updateRecord(
  ref: DeliveryRef,
  update: Omit<UpdateCommandInput, "TableName" | "Key">,
  deadline: number,
): Promise<void> {
  const input = { TableName: tableName(), Key: key(ref), ...update };
  return writeWithRetries(() => ddb().send(new UpdateCommand(input)), deadline);
}

/**
 * Records a failed delivery: `failed` may be retried by a redelivery; `abandoned` (permanent) is
 * not. `error` must already be redacted. Retried until `deadline` (a lost mark leaves the slot
 * `sending`). The failure's audit record is written apart. `opts.unsent`: nothing was sent (a slot
 * released, fanout/gate.ts), so the claim's attempt is taken back: the next claim is no retry.
 * `opts.mayHaveArrived`: an attempt got no answer after its request was sent; the slot keeps
 * saying so, and its next claim is `unconfirmed` (a possible repeat, recorded as such).
 * With `ref.claimId`, only a slot still this claim's is changed (`sending` under it, or `grouped`
 * by it: a grouping that failed after its mark gives the slot back, store/digest.ts): when the
 * lease ran out and another invocation claimed the slot, sent it or gave it up, this release must
 * not turn its `sent` back into `failed` (a second send on the next receive) or free its live
 * lease. A slot claimed `unconfirmed` (`ref.unconfirmed`) keeps `mayHaveArrived` when released.
 * A released grouped mark loses its `action`, `result`, `digestId`, `entry` and `DIGEST#` index
 * keys (the audit trail read it as grouped; red-team finding). `opts.mayBeInDigest`: a digest
 * sent may list the mark: the slot says so (and `mayHaveArrived`); its next claim is `inDigest`.
 * Resolves false when the condition failed (the slot was no longer this claim's, or an SDK
 * repeat of this very write found it done), true otherwise.
 */
export async function markFailed(
  ref: DeliveryRef,
  error: string,
  permanent: boolean,
  deadline: number,
  opts: { unsent?: boolean; mayHaveArrived?: boolean; mayBeInDigest?: boolean } = {},
): Promise<boolean> {
  const mine = ref.claimId !== undefined;
  const arrived = opts.mayHaveArrived || opts.mayBeInDigest || ref.unconfirmed;
  try {
    await updateRecord(
      ref,
      {
        UpdateExpression:
          "SET #s = :s, lastError = :e, leaseUntil = :zero" +
          (arrived ? ", mayHaveArrived = :arr" : "") +
          (opts.mayBeInDigest ? ", mayBeInDigest = :arr" : "") +
          // A grouped mark given back is in no digest: its record stops saying so, and leaves the
          // digest's index (a failed item keeping them read as "grouped into digest …").
          (mine ? " REMOVE #a, #r, digestId, #entry, gsi1pk, gsi1sk" : "") +
          " ADD attempts :back",
        ...(mine && { ConditionExpression: "claimId = :cid AND #s IN (:sending, :grouped)" }),
        ExpressionAttributeNames: {
          "#s": "status",
          ...(mine && { "#a": "action", "#r": "result", "#entry": "entry" }),
        },
        ExpressionAttributeValues: {
          ":s": permanent ? "abandoned" : "failed",
          ":e": error,
          ":zero": 0,
          ":back": opts.unsent ? -1 : 0,
          ...(arrived && { ":arr": true }),
          ...(mine && { ":sending": "sending", ":grouped": "grouped", ":cid": ref.claimId }),
        },
      },
      deadline,
    );
    return true;
  } catch (err: unknown) {
    if (mine && isConditionFailed(err)) return false;
    throw err;
  }
}
