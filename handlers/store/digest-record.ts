/**
 * A digest's own ledger record (fanout/digest-build.ts `digestRef`): what a copy of a grouped
 * entry learns from it, taking its entry out unless listed (fanout/grouped-copy.ts), and the
 * `sent` mark a flush finishes later when its own failed for good after the send (issue 12).
 *
 * The flush's claim writes the digest's list (`detail`: `kind` digest, `count`, `pipelines`,
 * `windowStart`, `notifications`, the ids it read, oldest first, up to {@link MAX_LISTED_IDS})
 * before anything is
 * sent, so that a record still `sending` says what its digest holds: a "sent" mark that DynamoDB
 * refused until the Lambda stopped no longer leaves a record that cannot be read.
 */
import { UpdateCommand, type UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import type { DigestSentMark } from "../contracts/digest-flush";
import { claimOrRead, isConditionFailed } from "./claim";
import { deliveryRecordKey } from "./keys";
import type { DeliveryRef } from "./ledger";
import { writeWithRetries } from "./marks";
import { tableName } from "./table";

/**
 * The most ids a digest's record lists (`detail.notifications`): 10,000, about 250 KB (a
 * notification id is 24 characters, events/normalize.ts; a list element costs its length plus
 * 1 byte: developer guide, "DynamoDB item sizes and formats"), within DynamoDB's 400 KB item
 * limit. It was 200: a digest of more entries went out with all of them, and a copy of an entry
 * past the cut, arriving after the flush, could not find it listed and moved it into the next
 * digest, which sent it again (a certain second send counted as a possible one; red team of
 * issue 12). A write costs 1 unit per KB of the item, refused or not (developer guide, "DynamoDB
 * read and write operations"): a digest's claim and mark, and each copy's {@link excludeFromDigest}
 * (only copies past their window's flush), cost about 1 unit more per 40 entries listed.
 */
export const MAX_LISTED_IDS = 10_000;

function recordKey(ref: DeliveryRef) {
  return deliveryRecordKey(ref.pipeline, ref.eventTime, ref.notificationId, ref.slot);
}

/** What a copy learns of a digest's record ({@link excludeFromDigest}). */
export interface DigestRecord {
  /** `sending`, `sent`, `failed` or `abandoned` (store/ledger.ts, store/digest-drop.ts). */
  status: string;
  /** The ids it listed (`detail.notifications`: written by the claim, kept by the mark). */
  notifications?: string[];
  /** How many entries it carried (`detail.count`); more than `notifications` when cut. */
  count?: number;
  /** An attempt of it got no answer after its request went out: it may have arrived. */
  mayHaveArrived?: true;
}

/**
 * Whether the digest whose record is `record` has the notification `id`: `listed` (sent, or
 * sending: it goes out without a copy's help), `absent` (a move lists it once) or `maybe` (a
 * move may list it twice: a list cut at {@link MAX_LISTED_IDS} that does not name it, a record without list,
 * a `failed` or `abandoned` digest listing it whose attempt may have arrived).
 */
export function digestHas(
  record: DigestRecord | undefined,
  id: string,
): "listed" | "absent" | "maybe" {
  if (!record) return "absent";
  const out = record.status === "sent" || record.status === "sending";
  const named = record.notifications?.includes(id);
  if (named && out) return "listed";
  // Never went out, unless an attempt may have arrived (a list it does not name: not in it).
  if (!out) return record.mayHaveArrived && named !== false ? "maybe" : "absent";
  const complete =
    record.notifications !== undefined && record.notifications.length >= (record.count ?? 0);
  return complete ? "absent" : "maybe";
}

/** The {@link DigestRecord} of a digest's ledger item; undefined for none, or one never claimed. */
function recordOf(item: Record<string, unknown> | undefined): DigestRecord | undefined {
  if (item?.status === undefined) return undefined;
  const detail = (item.detail ?? {}) as { notifications?: unknown; count?: unknown };
  return {
    status: String(item.status),
    ...(Array.isArray(detail.notifications) && { notifications: detail.notifications.map(String) }),
    ...(typeof detail.count === "number" && { count: detail.count }),
    ...(item.mayHaveArrived === true && { mayHaveArrived: true as const }),
  };
}

/** Seconds an exclusion outlives its write when it creates the record (TTL): a day. */
const EXCLUSION_TTL_SECONDS = 86_400;

/**
 * Takes the notification `id` out of the digest `ref` (fanout/digest-build.ts `digestRef`) for a
 * copy that finds its slot still grouped into it past its flush (fanout/grouped-copy.ts), unless
 * that digest, sent or sending, lists it; says whether it has it ({@link digestHas}).
 *
 * One conditional UpdateItem of the digest's own record, `ADD excluded :id` (creating the item
 * with no status when no flush claimed it yet), refused when `sending` or `sent` and its list
 * names `id`; the item before (`ALL_OLD`), or the one that refused it, says what the digest had.
 * Why a write, not a read (issue 12, red-team findings): the flush reads its window's index and
 * then claims this record, whose `ALL_OLD` carries the exclusions; both writes of one item are
 * serialized by DynamoDB, so either the claim comes first (its list names `id`: refused,
 * `listed`, the copy is deduplicated; or it does not: the digest never sends it) or the
 * exclusion does (every claim after it leaves `id` out, store/ledger.ts `claimDelivery`
 * `excluded`). A read could fall between the flush's read and its claim, and both sent it. And
 * the fan-out's role has no GetItem on `DELIVERY#` items (infra/grants.ts `LedgerAndIncidents`):
 * AWS refused the read that was here. Retried through throttling until `deadline` (a repeat
 * after a lost reply that is refused by its own exclusion answers `maybe`); errors are thrown.
 */
export async function excludeFromDigest(
  ref: DeliveryRef,
  id: string,
  deadline: number,
  now = Date.now(),
): Promise<"listed" | "absent" | "maybe"> {
  const result = await claimOrRead(
    {
      kind: "update",
      TableName: tableName(),
      Key: recordKey(ref),
      UpdateExpression: "SET expiresAt = if_not_exists(expiresAt, :exp) ADD excluded :ids",
      ConditionExpression: "NOT (#s IN (:sending, :sent) AND contains(#d.notifications, :id))",
      ExpressionAttributeNames: { "#s": "status", "#d": "detail" },
      ExpressionAttributeValues: {
        ":exp": Math.floor(now / 1000) + EXCLUSION_TTL_SECONDS,
        ":ids": new Set([id]),
        ":id": id,
        ":sending": "sending",
        ":sent": "sent",
      },
      ReturnValues: "ALL_OLD",
    },
    { deadline },
  );
  if (result.claimed) return digestHas(recordOf(result.item), id);
  // Refused: listed by the digest, unless by its own exclusion (applied, its reply lost): then
  // a claim after it leaves `id` out, and the list it still shows may have gone out before.
  const excluded = result.existing?.excluded;
  return excluded instanceof Set && excluded.has(id) ? "maybe" : "listed";
}

/**
 * Rewrites the list (`detail`) of the digest `ref` that its claim (`ref.claimId`, still
 * `sending`) wrote, when entries read were excluded since ({@link excludeFromDigest}): the
 * record then names only what the digest sends. One conditional UpdateItem, retried through
 * throttling until `deadline`; false when the slot is no longer that claim's; other errors are
 * thrown.
 */
export function setDigestList(
  ref: DeliveryRef,
  detail: Record<string, unknown>,
  deadline: number,
): Promise<boolean> {
  return updateUnlessRefused(
    {
      TableName: tableName(),
      Key: recordKey(ref),
      UpdateExpression: "SET #d = :d",
      ConditionExpression: "claimId = :cid AND #s = :sending",
      ExpressionAttributeNames: { "#d": "detail", "#s": "status" },
      ExpressionAttributeValues: { ":d": detail, ":cid": ref.claimId, ":sending": "sending" },
    },
    deadline,
  );
}

/**
 * Finishes the `sent` mark of the digest `ref` that the claim `mark.claimId` sent: the fields
 * store/marks.ts `markSent` writes, keeping the list its claim wrote in `detail`. One
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
