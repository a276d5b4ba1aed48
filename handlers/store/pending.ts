/**
 * Pending approval requests (key in store/keys.ts, `PENDING#APPROVAL` / `<expires iso>#<run>`):
 * one item per request posted to Slack, so that the reminder scan (handlers/reminders) can remind
 * its approvers once before it expires and mark its message expired. Written by the fan-out after
 * it delivered a request; read and removed by the scan.
 *
 * The item's TTL (`expiresAt`, epoch seconds) is {@link PENDING_TTL_DAYS} after the approval's
 * own expiry, so that an item a scan could not finish never outlives its use by much.
 */
import { randomUUID } from "node:crypto";
import {
  DeleteCommand,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { scaledMs } from "../http";
import { claimOrRead, isConditionFailed, withStoreRetries } from "./claim";
import { approvalPipelineRef } from "../contracts/slack-approval";
import { pipelineKey } from "../contracts/pipeline-id";
import { PENDING_APPROVALS_PARTITION, pendingApprovalKey, type ItemKey } from "./keys";
import { expiresAt, tableName } from "./table";

/** Days an item is kept (TTL) after its approval's expiry. */
export const PENDING_TTL_DAYS = 7;
/** Items read by one scan at most (pages of DynamoDB's 1 MB each): bounded work per invocation. */
export const MAX_PENDING_PER_SCAN = 500;

/** One posted approval request waiting for a decision. */
export interface PendingApproval {
  pipeline: string;
  /** Where the pipeline lives (issue 14), outside the home account and region only. */
  account?: string;
  region?: string;
  executionId: string;
  stage: string;
  action: string;
  /** The approval run the request's buttons decide (absent on requests of old events). */
  actionExecutionId?: string;
  /** Slack user ids (U…/W…) who may decide, mentioned by the reminder. */
  approvers: string[];
  /** When the approval started (the event's time), ISO 8601 UTC. */
  requestedAt: string;
  /** When the approval times out, ISO 8601 UTC (the sort key starts with it). */
  approvalExpiresAt: string;
  /** The Slack channel instance (stack config name) the request was posted to. */
  channel: string;
  /** Bot mode: the conversation id (C…/G…/D…) and `ts` of the request message. */
  slackChannelId?: string;
  messageTs?: string;
  /** CodePipeline console link of the execution. */
  consoleUrl: string;
  /** When the one reminder was claimed (ISO), once it was; `remindClaimId` names the claim. */
  remindedAt?: string;
  remindClaimId?: string;
  /** When the reminder's outcome became final (ISO): sent, or failed for good. */
  remindSettledAt?: string;
  /** When the expiry was claimed (ISO), once it was; `expireClaimId` names the claim. */
  expiredAt?: string;
  expireClaimId?: string;
  /** When the expiry's outcome became final (ISO): shown, or not shown for good. */
  expireSettledAt?: string;
}

/** A stored request with its key. */
export type StoredPending = PendingApproval & ItemKey;

/** The two one-time steps of a request, each claimed with a conditional write. */
export type PendingStep = "remindedAt" | "expiredAt";

/** The attributes that name a step's claim and record that its outcome is final. */
const STEP_FIELDS = {
  remindedAt: { claimId: "remindClaimId", settled: "remindSettledAt" },
  expiredAt: { claimId: "expireClaimId", settled: "expireSettledAt" },
} as const;

/**
 * How long a claimed step that never settled stays its claimer's, ms of AWS time (`scaledMs`):
 * longer than any invocation can run (Lambda's maximum timeout is 900 s, Lambda developer guide,
 * "Configure Lambda function timeout"), so that a claim is only taken over once its claimer is
 * gone (its Slack post failed and the give-back failed, or it timed out or crashed).
 */
export const STEP_LEASE_MS = 20 * 60_000;

/** A step claimed by this invocation: the claim's time (ISO, the item's `<step>`) and its id. */
export interface StepClaim {
  step: PendingStep;
  at: string;
  claimId: string;
}

/**
 * Whether `step` of `p` is taken at `now`: claimed and settled, or claimed less than
 * {@link STEP_LEASE_MS} ago (an unreadable claim time counts as taken). A claim older than the
 * lease that never settled is free: a later scan claims it again. A claim without a claim id was
 * written before claims carried one, when a claim was only made to be kept: it stays taken (a
 * request already reminded is not reminded again after an upgrade).
 */
export function isStepTaken(p: PendingApproval, step: PendingStep, now: Date): boolean {
  const at = p[step];
  if (at === undefined) return false;
  if (p[STEP_FIELDS[step].settled] !== undefined) return true;
  if (p[STEP_FIELDS[step].claimId] === undefined) return true;
  return !(Date.parse(at) < now.getTime() - scaledMs(STEP_LEASE_MS));
}

const PENDING_FIELDS: Array<keyof PendingApproval> = [
  "pipeline",
  "account",
  "region",
  "executionId",
  "stage",
  "action",
  "actionExecutionId",
  "approvers",
  "requestedAt",
  "approvalExpiresAt",
  "channel",
  "slackChannelId",
  "messageTs",
  "consoleUrl",
  "remindedAt",
  "expiredAt",
];

/**
 * Records a posted request. Conditional on the key being new, so that a redelivered event never
 * resets a reminder already sent; returns false when the item was already there. DynamoDB errors
 * other than the lost condition are thrown.
 */
export async function recordPending(p: PendingApproval): Promise<boolean> {
  const ttlFrom = new Date(Date.parse(p.approvalExpiresAt));
  const item: Record<string, unknown> = {
    // Keyed by the pipeline's key (the name at home, else its ARN): two accounts, two requests.
    ...pendingApprovalKey(p.approvalExpiresAt, {
      ...p,
      pipeline: pipelineKey(approvalPipelineRef(p)),
    }),
    expiresAt: expiresAt(PENDING_TTL_DAYS, ttlFrom),
  };
  for (const field of PENDING_FIELDS) if (p[field] !== undefined) item[field] = p[field];
  const result = await claimOrRead(
    {
      kind: "put",
      TableName: tableName(),
      Item: item,
      ConditionExpression: "attribute_not_exists(pk)",
    },
    { read: false },
  );
  return result.claimed;
}

/**
 * The requests that expire at or before `until` (ISO order is time order), oldest first, at most
 * {@link MAX_PENDING_PER_SCAN}: one Query of the pending partition, paged. Strongly consistent, so
 * a step claimed by an earlier scan is seen.
 */
export async function pendingUntil(until: Date): Promise<StoredPending[]> {
  // Every sort key of an expiry <= until starts with `<iso>#`; `$` sorts right after `#`.
  const upper = `${until.toISOString()}$`;
  const out: StoredPending[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ddb().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: "pk = :pk AND sk < :upper",
        ExpressionAttributeValues: { ":pk": PENDING_APPROVALS_PARTITION, ":upper": upper },
        ConsistentRead: true,
        ExclusiveStartKey: start,
        Limit: MAX_PENDING_PER_SCAN - out.length,
      }),
    );
    out.push(...((page.Items ?? []) as StoredPending[]));
    start = page.LastEvaluatedKey;
  } while (start && out.length < MAX_PENDING_PER_SCAN);
  return out;
}

/**
 * Claims one step of a request at `now`: `SET <step> = <now ISO>, <claim id field> = <new id>`
 * if the item exists and the step is free ({@link isStepTaken}: unset, or claimed more than
 * {@link STEP_LEASE_MS} before `now` and never settled). Returns the claim for exactly one of any
 * number of concurrent scans, undefined when the step is taken or the item is gone. Throttling is
 * retried until `deadline` (epoch ms; store/claim.ts `withStoreRetries`). A repeat of a claim
 * that DynamoDB applied but whose reply was lost (the SDK retried it) fails its condition against
 * this claim's own id, returned with the refusal (`ReturnValuesOnConditionCheckFailure: ALL_OLD`,
 * DynamoDB API reference, UpdateItem): it is this claim. Other DynamoDB errors are thrown.
 */
export async function claimStep(
  key: ItemKey,
  step: PendingStep,
  now: Date,
  deadline?: number,
): Promise<StepClaim | undefined> {
  const claim: StepClaim = { step, at: now.toISOString(), claimId: randomUUID() };
  const stale = new Date(now.getTime() - scaledMs(STEP_LEASE_MS)).toISOString();
  const fields = STEP_FIELDS[step];
  const result = await claimOrRead(
    {
      kind: "update",
      TableName: tableName(),
      Key: { pk: key.pk, sk: key.sk },
      UpdateExpression: "SET #step = :at, #cid = :cid",
      // ISO 8601 UTC strings of one format sort in time order.
      ConditionExpression:
        "attribute_exists(pk) AND (attribute_not_exists(#step) OR " +
        "(attribute_exists(#cid) AND attribute_not_exists(#settled) AND #step < :stale))",
      ExpressionAttributeNames: {
        "#step": step,
        "#cid": fields.claimId,
        "#settled": fields.settled,
      },
      ExpressionAttributeValues: { ":at": claim.at, ":cid": claim.claimId, ":stale": stale },
    },
    { deadline },
  );
  if (result.claimed) return claim;
  // Our own write, applied by an attempt whose reply was lost: not another scan's claim.
  return result.existing?.[fields.claimId] === claim.claimId ? claim : undefined;
}

/**
 * Gives a claimed step back (its Slack post failed in a way a later scan may fix), but only while
 * it is still `claim` and unsettled. Throttling is retried until `deadline` (epoch ms); a lost
 * condition is ignored; other errors, and the last retryable one, are thrown (the claim then
 * frees itself after {@link STEP_LEASE_MS}).
 */
export async function releaseStep(
  key: ItemKey,
  claim: StepClaim,
  deadline?: number,
): Promise<void> {
  const fields = STEP_FIELDS[claim.step];
  await updateUnlessLost(
    key,
    {
      UpdateExpression: "REMOVE #step, #cid",
      ConditionExpression: "#cid = :cid AND attribute_not_exists(#settled)",
      ExpressionAttributeNames: {
        "#step": claim.step,
        "#cid": fields.claimId,
        "#settled": fields.settled,
      },
      ExpressionAttributeValues: { ":cid": claim.claimId },
    },
    deadline,
  );
}

/**
 * Records that `claim`'s step has its final outcome (sent or shown, or failed for good) at `now`,
 * so that no later scan takes it again, however old the claim. Only while the item exists (an
 * UpdateItem would otherwise create one); a lost condition is ignored. Throttling is retried until
 * `deadline` (epoch ms); other errors, and the last retryable one, are thrown.
 */
export async function settleStep(
  key: ItemKey,
  claim: StepClaim,
  deadline?: number,
  now: Date = new Date(),
): Promise<void> {
  await updateUnlessLost(
    key,
    {
      UpdateExpression: "SET #settled = :now",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeNames: { "#settled": STEP_FIELDS[claim.step].settled },
      ExpressionAttributeValues: { ":now": now.toISOString() },
    },
    deadline,
  );
}

/**
 * One conditional UpdateItem of the request `key`: throttling retried until `deadline` (epoch ms),
 * a lost condition ignored; other errors, and the last retryable one, are thrown.
 */
async function updateUnlessLost(
  key: ItemKey,
  update: Pick<
    UpdateCommandInput,
    | "UpdateExpression"
    | "ConditionExpression"
    | "ExpressionAttributeNames"
    | "ExpressionAttributeValues"
  >,
  deadline?: number,
): Promise<void> {
  try {
    await withStoreRetries(
      () =>
        ddb().send(
          new UpdateCommand({ TableName: tableName(), Key: { pk: key.pk, sk: key.sk }, ...update }),
        ),
      { deadline },
    );
  } catch (err: unknown) {
    if (!isConditionFailed(err)) throw err;
  }
}

/**
 * Removes a request that was decided, expired or ended (idempotent). Throttling is retried until
 * `deadline` (epoch ms); other errors, and the last retryable one, are thrown.
 */
export async function deletePending(key: ItemKey, deadline?: number): Promise<void> {
  await withStoreRetries(
    () =>
      ddb().send(new DeleteCommand({ TableName: tableName(), Key: { pk: key.pk, sk: key.sk } })),
    { deadline },
  );
}
