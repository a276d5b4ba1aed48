/**
 * The approval Lambda's items (keys in store/keys.ts):
 * - the decision claim of one run of a manual approval action: first click wins; its `status`
 *   records how far the work got (`claimed` → `decided` or `final`, with `settledAt`); kept once
 *   the outcome is final, released (deleted) when nothing was decided for a reason that may pass;
 *   a claim still `claimed` after its work's time bound is taken over by the next click, and one
 *   whose work has not started (`workStartedAt`) by the next click of the same user and decision.
 * (The replay guard of Slack requests is store/replay.ts.)
 * The fan-out reads the decisions too (store/decision-reads.ts): to report a rejection as such, and
 * to leave a request a click rewrites to that click.
 */
import { randomUUID } from "node:crypto";
import { DeleteCommand, GetCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import type { ApprovalClaim } from "../approval/types";
import { approvalPipelineRef, type ApprovalButtonValue } from "../contracts/slack-approval";
import { pipelineKey } from "../contracts/pipeline-id";
import { claimOrRead, storeClient, withStoreRetries, type ClaimOptions } from "./claim";
import { approvalKey } from "./keys";
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
  /** `outcome` as the audit says it (ISO 8601 times, no next step); a late click's record repeats it. */
  auditOutcome?: string;
  /**
   * Until when (ISO 8601) a `claimed` item's work may still be running: the click plus the
   * approval function's timeout plus the claim margin (approval/lease.ts `claimLeaseEnd`).
   * Absent on items written before it was recorded.
   */
  leaseUntil?: string;
  /**
   * When (ISO 8601) the claim's work began deciding ({@link markWorkStarted}); until then the
   * clicker's own next click with the same decision may replace the claim
   * ({@link takeOverDecision} `unstarted`), and a work that starts later decides nothing.
   */
  workStartedAt?: string;
};

/**
 * How a store call on a clock is bounded: `deadline` (epoch ms) for its retries, `signal` to
 * abort it, `once` for one SDK attempt per call; `failures` collects each attempt's error
 * (store/claim.ts {@link ClaimOptions}).
 */
export type StoreBudget = Pick<ClaimOptions, "deadline" | "signal" | "once" | "failures">;

/** What came of claiming a decision: won, or lost to `existing` (undefined if it vanished). */
export type DecisionClaimResult =
  { won: true } | { won: false; existing: StoredDecision | undefined };

/**
 * The key of a decision: the run's key (store/keys.ts `approvalKey`) under the pipeline's key
 * (contracts/pipeline-id.ts: the name at home, else the pipeline's ARN), so that same-named
 * pipelines of two accounts never share a decision (issue 14). A value without account and
 * region is the home pipeline's: its key is what it was before.
 */
export function decisionKey(target: ApprovalButtonValue): ReturnType<typeof approvalKey> {
  return approvalKey({ ...target, pipeline: pipelineKey(approvalPipelineRef(target)) });
}

/** The item of a claim in `status`, with the table's TTL. */
function decisionItem(
  claim: ApprovalClaim,
  retentionDays: number,
  extra: Omit<StoredDecision, keyof ApprovalClaim> & { status: DecisionStatus },
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
 * claim, `status: "claimed"`, `leaseUntil` (ISO 8601, when given) and a TTL of `retentionDays`.
 * When someone was first, returns their claim (returned with the refused write). DynamoDB errors
 * other than the lost condition are thrown, the last one when `budget` ran out.
 */
export async function claimDecision(
  claim: ApprovalClaim,
  retentionDays: number,
  budget: StoreBudget & { leaseUntil?: string } = {},
): Promise<DecisionClaimResult> {
  const { leaseUntil, ...options } = budget;
  const result = await claimOrRead(
    {
      kind: "put",
      TableName: tableName(),
      Item: decisionItem(claim, retentionDays, { status: "claimed", leaseUntil }),
      ConditionExpression: "attribute_not_exists(pk)",
    },
    options,
  );
  if (result.claimed) return { won: true };
  const existing = result.existing as StoredDecision | undefined;
  // Our own claim, written by an attempt whose reply was lost (the SDK retried the PutItem):
  // same clicker, same click time, still only claimed. Not someone else's decision.
  if (isOwnClaim(existing, claim)) return { won: true };
  return { won: false, existing };
}

/** Whether `existing` is the item `claim` itself wrote (same user, click time and decision). */
export function isOwnClaim(existing: StoredDecision | undefined, claim: ApprovalClaim): boolean {
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
 * while the item is still `stale` and still `claimed` — with `unstarted`, also while its work has
 * not started, {@link markWorkStarted} — so of two clicks taking over at once one wins, and of a
 * takeover and a starting work one). Returns the claim that is there when someone else changed it
 * first. `budget` as for {@link claimDecision}.
 */
export async function takeOverDecision(
  claim: ApprovalClaim,
  stale: ApprovalClaim,
  retentionDays: number,
  budget: StoreBudget & { leaseUntil?: string; unstarted?: boolean } = {},
): Promise<DecisionClaimResult> {
  const { leaseUntil, unstarted, ...options } = budget;
  const names = {
    ...STILL_THIS_CLAIM.ExpressionAttributeNames,
    "#status": "status",
    ...(unstarted && { "#started": "workStartedAt" }),
  };
  const notStarted = unstarted ? " AND attribute_not_exists(#started)" : "";
  const result = await claimOrRead(
    {
      kind: "put",
      TableName: tableName(),
      Item: decisionItem(claim, retentionDays, { status: "claimed", leaseUntil }),
      ConditionExpression: `${STILL_THIS_CLAIM.ConditionExpression} AND #status = :claimed${notStarted}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ":user": stale.user.id, ":at": stale.at, ":claimed": "claimed" },
    },
    options,
  );
  if (result.claimed) return { won: true };
  return { won: false, existing: result.existing as StoredDecision | undefined };
}

/**
 * Records that the work of `claim` begins deciding (`workStartedAt`, ISO 8601, and `workId`, a
 * random id of this work; the item rewritten with `leaseUntil` as the claim had it), only while
 * the item is still this claim, `claimed` (or from before statuses) and not yet started: false
 * when it was taken over, settled or released meanwhile, or another copy of the same work event
 * started first (Lambda may deliver an asynchronous event more than once: developer guide,
 * "How Lambda handles asynchronous invocations") — then the work must decide nothing. A refusal
 * that is this very mark (applied, its reply lost, the SDK's retry refused) counts as started:
 * the refusing item carries this `workId`. This write and a takeover of an unstarted claim
 * exclude each other. A PutItem, as every write of the approval function (its grant has no
 * UpdateItem). DynamoDB errors are thrown (retried first, as {@link claimOrRead} does).
 */
export async function markWorkStarted(
  claim: ApprovalClaim,
  retentionDays: number,
  leaseUntil: string,
  now: Date = new Date(),
): Promise<boolean> {
  const workId = randomUUID();
  const started = { status: "claimed" as const, leaseUntil, workStartedAt: now.toISOString() };
  const result = await claimOrRead({
    kind: "put",
    TableName: tableName(),
    Item: { ...decisionItem(claim, retentionDays, started), workId },
    ConditionExpression:
      `${STILL_THIS_CLAIM.ConditionExpression} AND (attribute_not_exists(#status) OR ` +
      "#status = :claimed) AND attribute_not_exists(workStartedAt)",
    ExpressionAttributeNames: { ...STILL_THIS_CLAIM.ExpressionAttributeNames, "#status": "status" },
    ExpressionAttributeValues: { ":user": claim.user.id, ":at": claim.at, ":claimed": "claimed" },
  });
  if (result.claimed) return true;
  return (result.existing as { workId?: unknown } | undefined)?.workId === workId;
}

/**
 * Records that the work of `claim` settled (`end`: `decided` or `final`, the outcome in words and,
 * when it differs, as the audit says it), only while the item is still this claim; false when
 * someone took it over meanwhile. Other DynamoDB errors are thrown.
 */
export async function settleDecision(
  claim: ApprovalClaim,
  retentionDays: number,
  end: { status: "decided" | "final"; outcome: string; auditOutcome?: string },
  now: Date = new Date(),
): Promise<boolean> {
  const result = await claimOrRead(
    {
      kind: "put",
      TableName: tableName(),
      Item: decisionItem(claim, retentionDays, { ...end, settledAt: now.toISOString() }),
      ...STILL_THIS_CLAIM,
      ExpressionAttributeValues: { ":user": claim.user.id, ":at": claim.at },
    },
    { read: false },
  );
  return result.claimed;
}

/**
 * The current claim of an approval run, if anyone decided it (strongly consistent read), within
 * `budget` when given (retried until its deadline). DynamoDB errors are thrown.
 */
export async function readDecision(
  target: ApprovalButtonValue,
  budget?: StoreBudget,
): Promise<StoredDecision | undefined> {
  const get = new GetCommand({
    TableName: tableName(),
    Key: decisionKey(target),
    ConsistentRead: true,
  });
  if (!budget) return (await ddb().send(get)).Item as StoredDecision | undefined;
  const { client, send } = storeClient(budget);
  const got = await withStoreRetries(() => client.send(get, send), budget);
  return got.Item as StoredDecision | undefined;
}

/**
 * Deletes `claim` so that someone can click again, but only while it is still this claim (same
 * user and time). A throttled (or otherwise retryable) delete is tried again until
 * `budget.deadline` (store/claim.ts `withStoreRetries`; without one, its 5 attempts). Throws on
 * any other DynamoDB error, including a lost condition, and the last error when time runs out.
 */
export async function releaseDecision(
  claim: ApprovalClaim,
  budget: StoreBudget = {},
): Promise<void> {
  const { client, send } = storeClient(budget);
  const del = new DeleteCommand({
    TableName: tableName(),
    Key: decisionKey(claim),
    ...STILL_THIS_CLAIM,
    ExpressionAttributeValues: { ":user": claim.user.id, ":at": claim.at },
  });
  await withStoreRetries(() => client.send(del, send), budget);
}

/**
 * Margin added to the approval work's timeout before a claim that never settled counts as lost
 * (its lease end, approval/lease.ts `claimLeaseEnd`): the work invocation may start a little
 * after the claim, and its last writes take a moment.
 */
export const CLAIM_MARGIN_MS = 30_000;
/** Lambda's maximum function timeout, ms (Lambda quotas): the work's bound when none is known. */
export const MAX_WORK_TIMEOUT_MS = 900_000;
