/**
 * A digest dropped, never sent (fanout/digest-flush.ts: its flush came for a channel no longer in
 * the stack config, a redeploy between its entries' grouping and the flush; nothing may go out
 * to it). The audit trail promises every decision (ARCHITECTURE.md): the digest's own record
 * (fanout/digest-build.ts `digestRef`) says it was dropped, why, and which entries it had, as a
 * sent digest's lists them (store/digest-record.ts), so that its entries' records, `grouped` into
 * it, lead to it.
 */
import { randomUUID } from "node:crypto";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { claimOrRead, type ClaimWrite } from "./claim";
import { deliveryRecordKey } from "./keys";
import type { DeliveryRef } from "./ledger";
import { writeWithRetries } from "./marks";
import { claimFields, excludedOf } from "./slot-fields";
import { tableName } from "./table";

function recordKey(ref: DeliveryRef) {
  return deliveryRecordKey(ref.pipeline, ref.eventTime, ref.notificationId, ref.slot);
}

/**
 * Records the digest `ref` as dropped with `reason` and `detail` (its list: `kind` digest,
 * `count`, `pipelines`, `windowStart`, `notifications`, as fanout/digest-build.ts
 * `digestDetail` writes it). One conditional UpdateItem where a claim would take the slot
 * (store/ledger.ts `claimDelivery`: no status, or `failed`), writing the claim's audit fields
 * and status `abandoned` (final: no flush claims it again; store/digest-record.ts `digestHas`
 * reads it as never sent, so a copy of an entry whose channel is configured again moves it or
 * sends it on its own, never deduplicates it), `action` `failed`, `result` and `lastError`
 * `reason`, and `detail` with `dropped: true`. A slot refused as `sending` under a lease run out
 * (an attempt under the old config may have gone out) is taken over by a second such write that
 * also says `mayHaveArrived`, in the same write. Entries copies took out since the read
 * (`excluded`, store/digest-record.ts `excludeFromDigest`) then leave the list (one more
 * UpdateItem, only then). Resolves false when refused (sent, already abandoned, or `sending`
 * under a live lease: that flush settles it). Throttling is retried until `deadline` (epoch ms);
 * other errors are thrown.
 */
export async function dropDigest(
  ref: DeliveryRef,
  detail: Record<string, unknown>,
  reason: string,
  retentionDays: number,
  deadline: number,
  now = Date.now(),
): Promise<boolean> {
  const claimId = randomUUID();
  const fields = claimFields(ref, claimId, retentionDays);
  const dropped = { ...detail, dropped: true };
  const write = (takeOver: boolean) => dropWrite(ref, dropped, reason, fields, { takeOver, now });
  let result = await claimOrRead(write(false), { deadline });
  const held = result.claimed ? undefined : result.existing;
  if (held?.status === "sending" && Number(held.leaseUntil) < now) {
    result = await claimOrRead(write(true), { deadline });
  }
  if (result.claimed) {
    await leaveOutExcluded(ref, detail, result.item, deadline);
    return true;
  }
  // This very write, applied by an attempt whose reply was lost: the item has the exclusions.
  const ours = result.existing?.claimId === claimId && result.existing?.status === "abandoned";
  if (ours) await leaveOutExcluded(ref, detail, result.existing, deadline);
  return ours;
}

/**
 * The drop's UpdateItem ({@link dropDigest}): where no claim holds the slot, or, `takeOver`, one
 * that holds it `sending` under a lease run out before `now` (then also `mayHaveArrived`).
 */
function dropWrite(
  ref: DeliveryRef,
  detail: Record<string, unknown>,
  reason: string,
  f: ReturnType<typeof claimFields>,
  { takeOver, now }: { takeOver: boolean; now: number },
): ClaimWrite {
  return {
    kind: "update",
    TableName: tableName(),
    Key: recordKey(ref),
    UpdateExpression:
      "SET #s = :abandoned, #a = :failed, #r = :why, #at = :at, lastError = :why, #d = :d," +
      ` #lease = :zero, ${f.set}${takeOver ? ", mayHaveArrived = :yes" : ""}`,
    ConditionExpression: takeOver
      ? "#s = :sending AND #lease < :now"
      : "attribute_not_exists(#s) OR #s = :failed",
    ExpressionAttributeNames: {
      ...f.names,
      "#s": "status",
      "#a": "action",
      "#r": "result",
      "#at": "at",
      "#d": "detail",
      "#lease": "leaseUntil",
    },
    ExpressionAttributeValues: {
      ...f.values,
      ":abandoned": "abandoned",
      ":failed": "failed",
      ":why": reason,
      ":at": new Date(now).toISOString(),
      ":d": detail,
      ":zero": 0,
      ...(takeOver && { ":sending": "sending", ":now": now, ":yes": true }),
    },
    ReturnValues: "ALL_OLD",
  };
}

/**
 * Takes the entries `item` (the digest's record before the drop, or after it) says copies took
 * out (`excluded`) off the dropped list `detail` wrote, with its `count`: one UpdateItem, only
 * when it names one. Errors are thrown.
 */
async function leaveOutExcluded(
  ref: DeliveryRef,
  detail: Record<string, unknown>,
  item: Record<string, unknown> | undefined,
  deadline: number,
): Promise<void> {
  const out = new Set(excludedOf(item).excluded ?? []);
  const listed = Array.isArray(detail.notifications) ? detail.notifications.map(String) : [];
  const kept = listed.filter((id) => !out.has(id));
  if (kept.length === listed.length) return;
  const count = Number(detail.count ?? listed.length) - (listed.length - kept.length);
  const input = {
    TableName: tableName(),
    Key: recordKey(ref),
    UpdateExpression: "SET #d.notifications = :kept, #d.#n = :count",
    ExpressionAttributeNames: { "#d": "detail", "#n": "count" },
    ExpressionAttributeValues: { ":kept": kept, ":count": count },
  };
  await writeWithRetries(() => ddb().send(new UpdateCommand(input)), deadline);
}
