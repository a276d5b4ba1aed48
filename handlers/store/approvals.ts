/**
 * The approval Lambda's items (keys in store/keys.ts):
 * - the decision claim of one run of a manual approval action: first click wins; its `status`
 *   records how far the work got (`claimed` → `decided` or `final`, with `settledAt`); kept once
 *   the outcome is final, released (deleted) when nothing was decided for a reason that may pass;
 *   a claim still `claimed` after its work's time bound is taken over by the next click;
 * - the replay guard: one item per verified Slack request signature, so a byte-identical resend
 *   within the accepted timestamp window is refused.
 * The fan-out reads the decisions too ({@link slackRejection}) to report a rejection as such.
 */
import { DeleteCommand, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { ApprovalButtonValue } from "../contracts/slack-approval";
import { ddb } from "../aws";
import type { ApprovalClaim } from "../approval/types";
import { approvalPipelineRef } from "../contracts/slack-approval";
import { pipelineKey } from "../contracts/pipeline-id";
import { claimOrRead } from "./claim";
import { approvalKey, approvalPartition, replayKey } from "./keys";
import { expiresAt, tableName } from "./table";

/**
 * How far the work of a claim got: `claimed` (work started, not finished: it may be running, or
 * its invocation died), `decided` (PutApprovalResult succeeded), `final` (nothing can be decided
 * from Slack any more: already decided in CodePipeline, expired, replaced by a newer run, …).
 * Items written before statuses were recorded say `claimed` whatever became of them.
 */
export type DecisionStatus = "claimed" | "decided" | "final";

/** A decision claim as stored: the claim, how far its work got, and when and why it settled. */
export type StoredDecision = ApprovalClaim & {
  status?: DecisionStatus;
  /** When the work settled it (ISO 8601); absent while `claimed`. */
  settledAt?: string;
  /** Why a `final` claim is final, in words (e.g. "superseded", "already decided in CodePipeline"). */
  outcome?: string;
};

/** What came of claiming a decision: won, or lost to `existing` (undefined if it vanished). */
export type DecisionClaimResult =
  { won: true } | { won: false; existing: StoredDecision | undefined };

/**
 * The key of a decision: the run's key (store/keys.ts `approvalKey`) under the pipeline's key
 * (contracts/pipeline-id.ts: the name at home, else the pipeline's ARN), so that same-named
 * pipelines of two accounts never share a decision (issue 14). A value without account and
 * region is the home pipeline's: its key is what it was before.
 */
function decisionKey(target: ApprovalButtonValue): ReturnType<typeof approvalKey> {
  return approvalKey({ ...target, pipeline: pipelineKey(approvalPipelineRef(target)) });
}

/** The item of a claim in `status`, with the table's TTL. */
function decisionItem(
  claim: ApprovalClaim,
  retentionDays: number,
  extra: { status: DecisionStatus; settledAt?: string; outcome?: string },
): Record<string, unknown> {
  return { ...decisionKey(claim), ...claim, ...extra, expiresAt: expiresAt(retentionDays) };
}

/** The condition "the item is still `claim` (same user and time)" and its names and values. */
const STILL_THIS_CLAIM = {
  ConditionExpression: "#user.#id = :user AND #at = :at",
  ExpressionAttributeNames: { "#user": "user", "#id": "id", "#at": "at" },
};

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
    Item: decisionItem(claim, retentionDays, { status: "claimed" }),
    ConditionExpression: "attribute_not_exists(pk)",
  });
  if (result.claimed) return { won: true };
  const existing = result.existing as StoredDecision | undefined;
  // Our own claim, written by an attempt whose reply was lost (the SDK retried the PutItem):
  // same clicker, same click time, still only claimed. Not someone else's decision.
  if (isOwnClaim(existing, claim)) return { won: true };
  return { won: false, existing };
}

/** Whether `existing` is the item `claim` itself wrote (same user, click time and decision). */
function isOwnClaim(existing: StoredDecision | undefined, claim: ApprovalClaim): boolean {
  return (
    existing !== undefined &&
    (existing.status ?? "claimed") === "claimed" &&
    existing.user?.id === claim.user.id &&
    existing.at === claim.at &&
    existing.decision === claim.decision
  );
}

/**
 * Takes over `stale`, a claim whose work never settled, for `claim` (a conditional PutItem: only
 * while the item is still `stale` and still `claimed`, so of two clicks taking over at once one
 * wins). Returns the claim that is there when someone else changed it first.
 */
export async function takeOverDecision(
  claim: ApprovalClaim,
  stale: ApprovalClaim,
  retentionDays: number,
): Promise<DecisionClaimResult> {
  const result = await claimOrRead({
    kind: "put",
    TableName: tableName(),
    Item: decisionItem(claim, retentionDays, { status: "claimed" }),
    ConditionExpression: `${STILL_THIS_CLAIM.ConditionExpression} AND #status = :claimed`,
    ExpressionAttributeNames: { ...STILL_THIS_CLAIM.ExpressionAttributeNames, "#status": "status" },
    ExpressionAttributeValues: { ":user": stale.user.id, ":at": stale.at, ":claimed": "claimed" },
  });
  if (result.claimed) return { won: true };
  return { won: false, existing: result.existing as StoredDecision | undefined };
}

/**
 * Records that the work of `claim` settled (`decided` or `final`, with `outcome` in words), only
 * while the item is still this claim; false when someone took it over meanwhile. Other DynamoDB
 * errors are thrown.
 */
export async function settleDecision(
  claim: ApprovalClaim,
  retentionDays: number,
  status: "decided" | "final",
  outcome: string,
  now: Date = new Date(),
): Promise<boolean> {
  const result = await claimOrRead(
    {
      kind: "put",
      TableName: tableName(),
      Item: decisionItem(claim, retentionDays, { status, settledAt: now.toISOString(), outcome }),
      ...STILL_THIS_CLAIM,
      ExpressionAttributeValues: { ":user": claim.user.id, ":at": claim.at },
    },
    { read: false },
  );
  return result.claimed;
}

/** The current claim of an approval run, if anyone decided it (strongly consistent read). */
export async function readDecision(
  target: ApprovalButtonValue,
): Promise<StoredDecision | undefined> {
  const got = await ddb().send(
    new GetCommand({ TableName: tableName(), Key: decisionKey(target), ConsistentRead: true }),
  );
  return got.Item as StoredDecision | undefined;
}

/**
 * Deletes `claim` so that someone can click again, but only while it is still this claim (same
 * user and time). Throws on any DynamoDB error, including a lost condition.
 */
export async function releaseDecision(claim: ApprovalClaim): Promise<void> {
  await ddb().send(
    new DeleteCommand({
      TableName: tableName(),
      Key: decisionKey(claim),
      ...STILL_THIS_CLAIM,
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
 * "Name (U…)", the name alone, or "someone"; `attempt` the execution's attempt it was made in
 * (absent for buttons posted before decisions carried it).
 */
export async function slackRejection(
  pipeline: string,
  executionId: string,
): Promise<{ by: string; stage?: string; action?: string; attempt?: number } | undefined> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": approvalPartition(pipeline, executionId) },
      ConsistentRead: true,
    }),
  );
  // A `final` claim decided nothing (replaced by a newer run, expired, decided elsewhere).
  const rejected = (out.Items ?? []).find((i) => i.decision === "Rejected" && i.status !== "final");
  if (!rejected) return undefined;
  const user = (rejected.user ?? {}) as { id?: string; name?: string; username?: string };
  const who = user.name || user.username || "someone";
  return {
    by: user.id ? `${who} (${user.id})` : who,
    stage: rejected.stage as string | undefined,
    action: rejected.action as string | undefined,
    ...(typeof rejected.attempt === "number" && { attempt: rejected.attempt }),
  };
}
