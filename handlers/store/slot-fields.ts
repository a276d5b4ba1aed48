/**
 * The audit fields every claim of a delivery slot writes (store/ledger.ts `claimDelivery`,
 * store/digest.ts `claimGrouped`), so that the two claims cannot record a slot differently.
 */
import type { DeliveryRef } from "./ledger";
import { expiresAt } from "./table";

/**
 * `ref`'s audit fields for a claim named `claimId`, its TTL `retentionDays` from now: `set` (a
 * list for an UpdateExpression's SET, without the keyword) with its placeholder `names` and
 * `values`. Every attribute name goes through a placeholder, since some of them are DynamoDB
 * reserved words (`region`: developer guide, "Reserved words in DynamoDB"), which an expression
 * may not name directly.
 * Account and region are written only when both are known (issue 14).
 */
export function claimFields(ref: DeliveryRef, claimId: string, retentionDays: number) {
  const place = ref.account !== undefined && ref.region !== undefined;
  return {
    set:
      "#exp = :exp, #p = :p, #c = :c, #n = :n, #e = :e, #ev = :ev, #cid = :cid" +
      (place ? ", #acct = :acct, #reg = :reg" : ""),
    names: {
      "#exp": "expiresAt",
      "#p": "pipeline",
      "#c": "channel",
      "#n": "notificationId",
      "#e": "executionId",
      "#ev": "eventId",
      "#cid": "claimId",
      ...(place ? { "#acct": "account", "#reg": "region" } : {}),
    },
    values: {
      ":exp": expiresAt(retentionDays),
      ":p": ref.pipeline,
      ":c": ref.channel,
      ":n": ref.notificationId,
      ":e": ref.executionId ?? "-",
      ":ev": ref.eventId ?? "-",
      ":cid": claimId,
      ...(place ? { ":acct": ref.account, ":reg": ref.region } : {}),
    },
  };
}

/**
 * The `excluded` ids of a digest's record `item` (a string set: store/digest-record.ts
 * `excludeFromDigest`) as a claim's field (store/ledger.ts `claimDelivery`); {} when none.
 */
export function excludedOf(item: Record<string, unknown> | undefined): { excluded?: string[] } {
  const ids = item?.excluded;
  return ids instanceof Set && ids.size > 0 ? { excluded: [...ids].map(String) } : {};
}
