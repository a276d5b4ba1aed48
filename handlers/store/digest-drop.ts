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
import { claimOrRead } from "./claim";
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
 * `digestDetail` writes it). One conditional UpdateItem under the condition a claim takes the
 * slot (store/ledger.ts `claimDelivery`: no status, `failed`, or `sending` under a lease run
 * out), writing the claim's audit fields and status `abandoned` (final: no flush claims it
 * again; store/digest-record.ts `digestHas` reads it as never sent, so a copy of an entry whose
 * channel is configured again moves it or sends it on its own, never deduplicates it),
 * `action` `failed`, `result` and `lastError` `reason`, and `detail` with `dropped: true`.
 * When the item before says more, a second UpdateItem records it: entries copies took out
 * (`excluded`, store/digest-record.ts `excludeFromDigest`) leave the list, and a slot taken over
 * from a claim still `sending` (an attempt under the old config may have gone out) says
 * `mayHaveArrived`. Resolves false when refused (sent, already abandoned, or `sending` under a
 * live lease: that flush settles it). Throttling is retried until `deadline` (epoch ms);
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
  const f = claimFields(ref, randomUUID(), retentionDays);
  const result = await claimOrRead(
    {
      kind: "update",
      TableName: tableName(),
      Key: recordKey(ref),
      UpdateExpression:
        "SET #s = :abandoned, #a = :failed, #r = :why, #at = :at, lastError = :why, #d = :d," +
        ` #lease = :zero, ${f.set}`,
      ConditionExpression:
        "attribute_not_exists(#s) OR #s = :failed OR (#s = :sending AND #lease < :now)",
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
        ":sending": "sending",
        ":why": reason,
        ":at": new Date(now).toISOString(),
        ":d": { ...detail, dropped: true },
        ":zero": 0,
        ":now": now,
      },
      ReturnValues: "ALL_OLD",
    },
    { deadline },
  );
  if (!result.claimed) return false;
  await recordWhatWasBefore(ref, detail, result.item, deadline);
  return true;
}

/**
 * The second UpdateItem of {@link dropDigest}, when `before` (the item before the drop) has
 * exclusions among `detail`'s list, or was `sending`; nothing otherwise. Errors are thrown.
 */
async function recordWhatWasBefore(
  ref: DeliveryRef,
  detail: Record<string, unknown>,
  before: Record<string, unknown> | undefined,
  deadline: number,
): Promise<void> {
  const out = new Set(excludedOf(before).excluded ?? []);
  const listed = Array.isArray(detail.notifications) ? detail.notifications.map(String) : [];
  const kept = listed.filter((id) => !out.has(id));
  const count = Number(detail.count ?? listed.length) - (listed.length - kept.length);
  const taken = kept.length < listed.length;
  const sending = before?.status === "sending";
  if (!taken && !sending) return;
  const sets = [
    ...(taken ? ["#d.notifications = :kept", "#d.#n = :count"] : []),
    ...(sending ? ["mayHaveArrived = :yes"] : []),
  ];
  const input = {
    TableName: tableName(),
    Key: recordKey(ref),
    UpdateExpression: `SET ${sets.join(", ")}`,
    ...(taken && { ExpressionAttributeNames: { "#d": "detail", "#n": "count" } }),
    ExpressionAttributeValues: {
      ...(taken && { ":kept": kept, ":count": count }),
      ...(sending && { ":yes": true }),
    },
  };
  await writeWithRetries(() => ddb().send(new UpdateCommand(input)), deadline);
}
