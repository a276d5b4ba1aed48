/**
 * The approval Lambda's items (keys in store/keys.ts):
 * - the decision claim of a manual approval action: first click wins; kept once the outcome is
 *   final, released (deleted) when nothing was decided for a reason that may pass;
 * - the replay guard: one item per verified Slack request signature, so a byte-identical resend
 *   within the accepted timestamp window is refused.
 * The fan-out reads the decisions too ({@link slackRejection}) to report a rejection as such.
 */
import { DeleteCommand, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { ApprovalButtonValue } from "../contracts/slack-approval";
import { ddb } from "../aws";
import type { ApprovalClaim } from "../approval/types";
import { claimOrRead } from "./claim";
import { approvalKey, approvalPartition, replayKey } from "./keys";
import { expiresAt, tableName } from "./table";

/** What came of claiming a decision: won, or lost to `existing` (undefined if it vanished). */
export type DecisionClaimResult =
  { won: true } | { won: false; existing: ApprovalClaim | undefined };

/**
 * Claims the decision of `claim`'s approval action (first click wins): the item holds the whole
 * claim, `status: "claimed"` and a TTL of `retentionDays`. When someone was first, returns their
 * claim (strongly consistent read). DynamoDB errors other than the lost condition are thrown.
 */
export async function claimDecision(
  claim: ApprovalClaim,
  retentionDays: number,
): Promise<DecisionClaimResult> {
  const result = await claimOrRead({
    kind: "put",
    TableName: tableName(),
    Item: {
      ...approvalKey(claim),
      ...claim,
      status: "claimed",
      expiresAt: expiresAt(retentionDays),
    },
    ConditionExpression: "attribute_not_exists(pk)",
  });
  if (result.claimed) return { won: true };
  return { won: false, existing: result.existing as ApprovalClaim | undefined };
}

/** The current claim of an approval action, if anyone decided it (strongly consistent read). */
export async function readDecision(
  target: ApprovalButtonValue,
): Promise<ApprovalClaim | undefined> {
  const got = await ddb().send(
    new GetCommand({ TableName: tableName(), Key: approvalKey(target), ConsistentRead: true }),
  );
  return got.Item as ApprovalClaim | undefined;
}

/**
 * Deletes `claim` so that someone can click again, but only while it is still this claim (same
 * user and time). Throws on any DynamoDB error, including a lost condition.
 */
export async function releaseDecision(claim: ApprovalClaim): Promise<void> {
  await ddb().send(
    new DeleteCommand({
      TableName: tableName(),
      Key: approvalKey(claim),
      ConditionExpression: "#user.#id = :user AND #at = :at",
      ExpressionAttributeNames: { "#user": "user", "#id": "id", "#at": "at" },
      ExpressionAttributeValues: { ":user": claim.user.id, ":at": claim.at },
    }),
  );
}

/**
 * Records a verified request signature until `expiresAtSeconds` (epoch seconds, the item's TTL);
 * false when it was already recorded (a replay). Other DynamoDB errors are thrown.
 */
export async function recordSignature(
  signature: string,
  expiresAtSeconds: number,
): Promise<boolean> {
  const result = await claimOrRead(
    {
      kind: "put",
      TableName: tableName(),
      Item: { ...replayKey(signature), expiresAt: expiresAtSeconds },
      ConditionExpression: "attribute_not_exists(pk)",
    },
    { read: false },
  );
  return result.claimed;
}

/**
 * The Slack decision recorded by the approval handler for an execution, if someone rejected it:
 * a rejection is then reported as such even when the CodePipeline API cannot be asked. `by` is
 * "Name (U…)", the name alone, or "someone".
 */
export async function slackRejection(
  pipeline: string,
  executionId: string,
): Promise<{ by: string; stage?: string; action?: string } | undefined> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": approvalPartition(pipeline, executionId) },
      ConsistentRead: true,
    }),
  );
  const rejected = (out.Items ?? []).find((i) => i.decision === "Rejected");
  if (!rejected) return undefined;
  const user = (rejected.user ?? {}) as { id?: string; name?: string; username?: string };
  const who = user.name || user.username || "someone";
  return {
    by: user.id ? `${who} (${user.id})` : who,
    stage: rejected.stage as string | undefined,
    action: rejected.action as string | undefined,
  };
}
