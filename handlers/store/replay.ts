/**
 * The replay guard's item: one per verified Slack request signature, so that a byte-identical
 * resend within the accepted timestamp window is refused (approval/replay.ts).
 */
import { claimOrRead } from "./claim";
import type { StoreBudget } from "./approvals";
import { replayKey } from "./keys";
import { tableName } from "./table";

/**
 * Records a verified request signature until `expiresAtSeconds` (epoch seconds, the item's TTL);
 * false when it was already recorded (a replay). Other DynamoDB errors are thrown, the last one
 * when `budget` ran out.
 */
export async function recordSignature(
  signature: string,
  expiresAtSeconds: number,
  budget: StoreBudget = {},
): Promise<boolean> {
  const result = await claimOrRead(
    {
      kind: "put",
      TableName: tableName(),
      Item: { ...replayKey(signature), expiresAt: expiresAtSeconds },
      ConditionExpression: "attribute_not_exists(pk)",
    },
    { read: false, ...budget },
  );
  return result.claimed;
}
