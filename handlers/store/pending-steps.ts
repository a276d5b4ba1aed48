/**
 * The two one-time steps of a pending approval request (store/pending.ts): the reminder and the
 * end (the expiry notice, or the rewrite of a request whose run ended otherwise). Each is claimed with a conditional write before its Slack post, settled once its
 * outcome is final, or given back when a later scan may do better; a claim never settled is free
 * again after {@link STEP_LEASE_MS}.
 */
import { randomUUID } from "node:crypto";
import { UpdateCommand, type UpdateCommandInput } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { scaledMs } from "../http";
import { claimOrRead, isConditionFailed, withStoreRetries } from "./claim";
import type { ItemKey } from "./keys";
import type { PendingApproval } from "./pending";
import { tableName } from "./table";

/**
 * The two one-time steps of a request, each claimed with a conditional write: the reminder, and
 * the request's end (`expiredAt`: the expiry, or another end the fan-out rewrites: one claim, so
 * that a request is shown ended once however it ended).
 */
export type PendingStep = "remindedAt" | "expiredAt";

/** The attributes that name a step's claim and record that its outcome is final. */
const STEP_FIELDS = {
  remindedAt: {
    claimId: "remindClaimId",
    settled: "remindSettledAt",
    mayHaveArrived: "remindMayHaveArrivedAt",
  },
  expiredAt: {
    claimId: "expireClaimId",
    settled: "expireSettledAt",
    mayHaveArrived: "expireMayHaveArrivedAt",
  },
} as const;

/**
 * Whether `step` of `p` may already have reached Slack: an earlier claim that never settled (its
 * post may have gone out before its "sent" write failed or its scan stopped), or a claim given
 * back after a post whose answer was lost. Resolves with why, or undefined. `p` must be the item
 * as the claim found it ({@link StepClaim} `earlier`): a scan's read may predate another scan's
 * give-back.
 */
export function earlierPostOf(p: Partial<PendingApproval>, step: PendingStep): string | undefined {
  const fields = STEP_FIELDS[step];
  if (p[fields.settled] !== undefined) return undefined;
  const at = p[step];
  if (at !== undefined) return `an earlier scan claimed it at ${at} and never recorded the outcome`;
  const lost = p[fields.mayHaveArrived];
  return lost === undefined ? undefined : `an earlier post at ${lost} got no answer`;
}

/**
 * How long a claimed step that never settled stays its claimer's, ms of AWS time (`scaledMs`):
 * longer than any invocation can run (Lambda's maximum timeout is 900 s, Lambda developer guide,
 * "Configure Lambda function timeout"), so that a claim is only taken over once its claimer is
 * gone (its Slack post failed and the give-back failed, or it timed out or crashed).
 */
export const STEP_LEASE_MS = 20 * 60_000;

/**
 * A step claimed by this invocation: the claim's time (ISO, the item's `<step>`) and its id, and
 * why its post may be a second one ({@link earlierPostOf} of the item as the claim found it), if
 * it may.
 */
export interface StepClaim {
  step: PendingStep;
  at: string;
  claimId: string;
  earlier?: string;
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

/**
 * Claims one step of a request at `now`: `SET <step> = <now ISO>, <claim id field> = <new id>`
 * if the item exists and the step is free ({@link isStepTaken}: unset, or claimed more than
 * {@link STEP_LEASE_MS} before `now` and never settled). Returns the claim for exactly one of any
 * number of concurrent scans, undefined when the step is taken or the item is gone. Throttling is
 * retried until `deadline` (epoch ms; store/claim.ts `withStoreRetries`). A repeat of a claim
 * that DynamoDB applied but whose reply was lost (the SDK retried it) fails its condition against
 * this claim's own id, returned with the refusal (`ReturnValuesOnConditionCheckFailure: ALL_OLD`,
 * DynamoDB API reference, UpdateItem): it is this claim. Other DynamoDB errors are thrown.
 * The claim's `earlier` comes from the item the claim replaced (`ReturnValues: ALL_OLD`, no extra
 * capacity), not from `key` as the scan read it: another scan may have given the step back, after
 * a post whose answer was lost, between that read and this claim. When only the repeat's refusal
 * came back (the replaced item is unknown), it is `key`'s, or the item's lost-answer mark.
 */
export async function claimStep(
  key: ItemKey & Partial<PendingApproval>,
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
      ReturnValues: "ALL_OLD",
    },
    { deadline },
  );
  if (result.claimed) return withEarlier(claim, result.item ?? {});
  // Our own write, applied by an attempt whose reply was lost: not another scan's claim.
  const own = result.existing;
  if (own?.[fields.claimId] !== claim.claimId) return undefined;
  const mark = own[fields.mayHaveArrived] as string | undefined;
  return withEarlier(claim, mark === undefined ? key : { [fields.mayHaveArrived]: mark });
}

/** `claim` with why its post may be a second one, from `before`, the item it replaced. */
function withEarlier(claim: StepClaim, before: Partial<PendingApproval>): StepClaim {
  const earlier = earlierPostOf(before, claim.step);
  return earlier === undefined ? claim : { ...claim, earlier };
}

/**
 * Gives a claimed step back (its Slack post failed in a way a later scan may fix), but only while
 * it is still `claim` and unsettled. `mayHaveArrived` (the post's answer was lost: Slack may have
 * taken it) is kept on the item with the time `now`, for {@link earlierPostOf}. Throttling is
 * retried until `deadline` (epoch ms); a lost condition is ignored; other errors, and the last
 * retryable one, are thrown (the claim then frees itself after {@link STEP_LEASE_MS}).
 */
export async function releaseStep(
  key: ItemKey,
  claim: StepClaim,
  deadline?: number,
  mayHaveArrived = false,
  now: Date = new Date(),
): Promise<void> {
  const fields = STEP_FIELDS[claim.step];
  await updateUnlessLost(
    key,
    {
      UpdateExpression: `${mayHaveArrived ? "SET #maybe = :now " : ""}REMOVE #step, #cid`,
      ConditionExpression: "#cid = :cid AND attribute_not_exists(#settled)",
      ExpressionAttributeNames: {
        "#step": claim.step,
        "#cid": fields.claimId,
        "#settled": fields.settled,
        ...(mayHaveArrived && { "#maybe": fields.mayHaveArrived }),
      },
      ExpressionAttributeValues: {
        ":cid": claim.claimId,
        ...(mayHaveArrived && { ":now": now.toISOString() }),
      },
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
