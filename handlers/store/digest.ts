/**
 * The entries of a channel's digest (issue 11 grouping), kept on the delivery records themselves:
 * a grouped notification's ledger item is marked `grouped` (final: the claim's condition never
 * takes it again, so nothing re-sends it) with the digest's id and what the digest shows of it,
 * and indexed under `DIGEST#<channel>#<window start>` in the `byExecution` index
 * (store/keys.ts `digestPartition`) — the same one UpdateItem a sent delivery's mark costs
 * ({@link markGrouped}, after the claim). A first attempt whose window the invocation already
 * knows is spent is claimed and marked in ONE conditional write instead ({@link claimGrouped},
 * fanout/group-first.ts): 1 call and 2 write units for the whole delivery, not 2 and 3.
 * The flush finds them with a Query of that index (store/digest-window.ts `digestEntries`;
 * eventually consistent: the flush waits a few seconds past the window's end).
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { consoleUrl } from "../events/normalize";
import { claimOrRead } from "./claim";
import { updateUnlessRefused } from "./digest-record";
import type { DigestEntry, Severity } from "../types";
import { deliveryRecordKey, digestPartition, fitKey, MAX_SORT_KEY_BYTES } from "./keys";
import type { DeliveryRef } from "./ledger";
import { writeWithRetries } from "./marks";
import { claimFields } from "./slot-fields";
import { tableName } from "./table";

/** One grouped notification as stored: the digest's entry and its severity. */
export interface GroupedEntry extends DigestEntry {
  severity: Severity;
}

/** Where a grouped notification goes: its digest's id and window. */
export interface DigestSlot {
  /** The digest's id (`digest/<channel>/<window start ms>`). */
  digestId: string;
  channel: string;
  windowStart: number;
}

/** The grouped mark's expression: what `markGrouped` and `claimGrouped` both write. */
function groupedParts(slot: DigestSlot, entry: GroupedEntry, now: Date) {
  return {
    set:
      "#s = :g, #a = :g, #r = :r, #at = :at, digestId = :d, #entry = :entry," +
      " gsi1pk = :g1, gsi1sk = :g2",
    names: { "#s": "status", "#a": "action", "#r": "result", "#at": "at", "#entry": "entry" },
    values: {
      ":g": "grouped",
      ":r": `grouped into digest ${slot.digestId}`,
      ":at": now.toISOString(),
      ":d": slot.digestId,
      ":entry": storedEntry(entry),
      ":g1": digestPartition(slot.channel, slot.windowStart),
      ":g2": fitKey(`${entry.time}#${entry.notificationId}`, MAX_SORT_KEY_BYTES),
    },
  };
}

function recordKey(ref: DeliveryRef) {
  return deliveryRecordKey(ref.pipeline, ref.eventTime, ref.notificationId, ref.slot);
}

/**
 * Marks the claimed delivery `ref` as grouped into `slot`'s digest, with `entry`, and indexes it
 * for the flush: one UpdateItem (2 write units: the item under 1 KB, and its index write),
 * retried until `deadline` (store/marks.ts `writeWithRetries`). Errors are thrown.
 * `mayBeInDigest`: an earlier digest may have delivered it (fanout/grouping.ts `regroupLate`
 * moving a late mark on): the slot says so, as {@link moveGrouped} writes it.
 */
export async function markGrouped(
  ref: DeliveryRef,
  slot: DigestSlot,
  entry: GroupedEntry,
  deadline: number,
  now: Date = new Date(),
  mayBeInDigest = false,
): Promise<void> {
  const g = groupedParts(slot, entry, now);
  const maybe = mayBeInDigest ? ", mayBeInDigest = :yes, mayHaveArrived = :yes" : "";
  await writeWithRetries(
    () =>
      ddb().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: recordKey(ref),
          UpdateExpression: `SET ${g.set}${maybe} REMOVE leaseUntil, lastError`,
          ExpressionAttributeNames: g.names,
          ExpressionAttributeValues: { ...g.values, ...(mayBeInDigest && { ":yes": true }) },
        }),
      ),
    deadline,
  );
}

/**
 * What came of {@link claimGrouped}: the slot is grouped by this write, or it already existed
 * (`existing`: the item that refused the write, as DynamoDB returned it; undefined when none came).
 */
export type GroupedClaim =
  { grouped: true } | { grouped: false; existing?: Record<string, unknown> };

/**
 * Claims the first attempt of `ref` and marks it grouped into `slot`'s digest in ONE conditional
 * UpdateItem (issue 12 cost: 1 call and 2 write units instead of the claim's 1 + 1 and the mark's
 * 1 + 2): status `grouped`, the entry and its `DIGEST#` index keys, and the claim's audit fields
 * (pipeline, channel, notificationId, executionId, eventId, account and region when known,
 * `attempts` 1, `expiresAt` in `retentionDays`, `claimId` = `ref.claimId`), under
 * `attribute_not_exists(pk)`: only a slot no attempt has touched. Sound without a lease because
 * nothing happens outside between claim and mark: writing the entry is the effect. A refused
 * write returns the item that refused it (store/claim.ts `claimOrRead`, ALL_OLD); one carrying
 * `ref.claimId` is this very write, applied by an attempt whose reply was lost (the SDK's retry,
 * or ours), and counts as grouped. Throttling is retried until `deadline`; other errors are thrown.
 */
export async function claimGrouped(
  ref: DeliveryRef & { claimId: string },
  slot: DigestSlot,
  entry: GroupedEntry,
  retentionDays: number,
  deadline: number,
  now: Date = new Date(),
): Promise<GroupedClaim> {
  const g = groupedParts(slot, entry, now);
  const f = claimFields(ref, ref.claimId, retentionDays);
  const result = await claimOrRead(
    {
      kind: "update",
      TableName: tableName(),
      Key: recordKey(ref),
      UpdateExpression: `SET ${g.set}, ${f.set}, #att = :one`,
      ConditionExpression: "attribute_not_exists(pk)",
      ExpressionAttributeNames: { ...g.names, ...f.names, "#att": "attempts" },
      ExpressionAttributeValues: { ...g.values, ...f.values, ":one": 1 },
    },
    { deadline },
  );
  if (result.claimed) return { grouped: true };
  const ours = result.existing?.claimId === ref.claimId && result.existing?.status === "grouped";
  return ours ? { grouped: true } : { grouped: false, existing: result.existing };
}

/**
 * Moves the delivery `ref`, still `grouped` into the digest `from`, into `slot`'s digest with
 * `entry` (fanout/grouped-copy.ts: `from`'s flush read its window before the mark landed): one
 * conditional UpdateItem (the grouped mark's, under `#s = grouped AND digestId = from`),
 * retried through throttling until `deadline`. Resolves false when the slot is no longer grouped
 * into `from` (released, or moved elsewhere); true when moved, or found already in `slot`'s digest
 * (this write applied whose reply was lost, or a concurrent copy's same move). Errors are thrown.
 * `mayBeInDigest`: `from`'s digest may list it too (its record could not say): the slot keeps
 * saying so (`mayBeInDigest` and `mayHaveArrived`, as store/marks.ts `markFailed` writes them:
 * a later release's send is recorded ambiguous), and its listing in `slot`'s digest is counted
 * as a possible duplicate (scripts/lib/chaos-tally.ts).
 */
export async function moveGrouped(
  ref: DeliveryRef,
  from: string,
  slot: DigestSlot,
  entry: GroupedEntry,
  deadline: number,
  mayBeInDigest = false,
  now: Date = new Date(),
): Promise<boolean> {
  const g = groupedParts(slot, entry, now);
  const maybe = mayBeInDigest;
  const result = await claimOrRead(
    {
      kind: "update",
      TableName: tableName(),
      Key: recordKey(ref),
      UpdateExpression: `SET ${g.set}${maybe ? ", mayBeInDigest = :yes, mayHaveArrived = :yes" : ""}`,
      ConditionExpression: "#s = :g AND digestId = :from",
      ExpressionAttributeNames: g.names,
      ExpressionAttributeValues: {
        ...g.values,
        ":from": from,
        ...(maybe && { ":yes": true }),
      },
    },
    { deadline },
  );
  const there = result.claimed ? undefined : result.existing;
  return result.claimed || (there?.status === "grouped" && there.digestId === slot.digestId);
}

/**
 * Gives back the delivery `ref`, still `grouped` into the digest `from`, as `failed` with `error`
 * (fanout/grouped-copy.ts: its channel is no longer grouped, so it is sent on its own): the
 * grouped mark's fields and `DIGEST#` index keys go, as store/marks.ts `markFailed` removes
 * them, so a flush still to come does not find it. `mayBeInDigest`: `from`'s digest may list it;
 * the slot says so (and `mayHaveArrived`), and its next claim is `unconfirmed` and `inDigest`.
 * One conditional UpdateItem (`#s = grouped AND digestId = from`), retried through throttling
 * until `deadline`. Resolves false when the slot was no longer grouped into `from` (moved,
 * released, or this write applied whose reply was lost); other errors are thrown.
 */
export async function releaseGrouped(
  ref: DeliveryRef,
  from: string,
  error: string,
  mayBeInDigest: boolean,
  deadline: number,
): Promise<boolean> {
  const input = {
    TableName: tableName(),
    Key: recordKey(ref),
    UpdateExpression:
      "SET #s = :failed, lastError = :e, leaseUntil = :zero" +
      (mayBeInDigest ? ", mayBeInDigest = :yes, mayHaveArrived = :yes" : "") +
      " REMOVE #a, #r, digestId, #entry, gsi1pk, gsi1sk",
    ConditionExpression: "#s = :g AND digestId = :from",
    ExpressionAttributeNames: { "#s": "status", "#a": "action", "#r": "result", "#entry": "entry" },
    ExpressionAttributeValues: {
      ":failed": "failed",
      ":e": error,
      ":zero": 0,
      ":g": "grouped",
      ":from": from,
      ...(mayBeInDigest && { ":yes": true }),
    },
  };
  return updateUnlessRefused(input, deadline);
}

/**
 * What the ledger item keeps of `entry` (issue 12, cost): not the fields the item has already
 * (notification id, account, region, execution id) nor the console link when it is the one
 * `consoleUrl` builds, so that a grouped item stays under 1 KB — one write unit for the mark and
 * one for its index write instead of two each (DynamoDB bills per started KB).
 */
function storedEntry(entry: GroupedEntry): Partial<GroupedEntry> {
  const { notificationId, account, region, executionId, consoleUrl: url, ...rest } = entry;
  void notificationId;
  void account;
  const own = url === consoleUrl(region, entry.pipeline, executionId) ? {} : { consoleUrl: url };
  return withoutUndefined({ ...rest, ...own });
}

/** `o` without its undefined fields (the document client refuses them by default). */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
