/**
 * What a claimed digest still has (issue 12, red-team finding): the flush reads its window's
 * index before its claim, and a copy may have taken an entry out in between (moved to a later
 * digest, or sent on its own: fanout/grouped-copy.ts), saying so on the digest's record first
 * (store/digest-record.ts `excludeFromDigest`). The claim's item before (store/ledger.ts
 * `claimDelivery` `excluded`) carries those exclusions: the flush leaves them out.
 */
import type { Logger } from "../channels/types";
import type { GroupedEntry } from "../store/digest";
import { setDigestList } from "../store/digest-record";
import type { DeliveryRef } from "../store/ledger";
import { markFailed } from "../store/marks";
import type { Digest } from "../types";
import { markDeadline, type Invocation } from "./invocation";

/** A digest of some entries, and the list its record keeps (fanout/digest-flush.ts). */
export interface BuiltDigest {
  digest: Digest;
  detail: Record<string, unknown>;
}

/**
 * `built` (the digest of `entries`, claimed as `ref` with `ref.claimId`) without the entries
 * whose ids are `excluded`: `built` itself when it has none of them; else rebuilt by `rebuild`
 * from the rest, its record's list rewritten to say so (store/digest-record.ts `setDigestList`)
 * — or, when none is left, undefined after the claim is given back (`failed`, nothing sent).
 * DynamoDB errors are thrown (the caller gives the claim back).
 */
export async function keptDigest(
  inv: Pick<Invocation, "deadline">,
  ref: DeliveryRef,
  entries: GroupedEntry[],
  excluded: string[] | undefined,
  built: BuiltDigest,
  rebuild: (entries: GroupedEntry[]) => BuiltDigest,
  log: Logger,
): Promise<Digest | undefined> {
  const out = new Set(excluded ?? []);
  const kept = entries.filter((e) => !out.has(e.notificationId));
  if (kept.length === entries.length) return built.digest;
  log.warn("digest entries taken out by copies since the read: left out", {
    left: entries.length - kept.length,
    kept: kept.length,
  });
  const rest = rebuild(kept);
  await setDigestList(ref, rest.detail, inv.deadline);
  if (kept.length > 0) return rest.digest;
  const why = "every entry read was taken out by a copy: nothing to send";
  await markFailed(ref, why, false, markDeadline(inv), { unsent: true });
  return undefined;
}
