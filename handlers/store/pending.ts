/**
 * Pending approval requests (key in store/keys.ts, `PENDING#APPROVAL` / `<expires iso>#<run>`):
 * one item per request posted to Slack, so that the reminder scan (handlers/reminders) can remind
 * its approvers once before it expires and mark its message expired, and so that a request whose
 * run ended without a Slack decision is rewritten (handlers/reminders/ended.ts). Written by the
 * fan-out after it delivered a request; read and removed by the scan and by that rewrite. The
 * claims of its one-time steps (reminder, end) are in pending-steps.ts, re-exported here.
 *
 * The item's TTL (`expiresAt`, epoch seconds) is {@link PENDING_TTL_DAYS} after the approval's
 * own expiry, so that an item a scan could not finish never outlives its use by much.
 */
import { DeleteCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { claimOrRead, withStoreRetries } from "./claim";
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
  /**
   * When the request's end was claimed (ISO), once it was; `expireClaimId` names the claim. One
   * step for every end, so that it is shown once: the expiry (reminders/scan.ts) or another end
   * the fan-out rewrites (reminders/ended.ts); the name is the expiry's, from before the others.
   */
  expiredAt?: string;
  expireClaimId?: string;
  /** When the end's outcome became final (ISO): shown, or not shown for good. */
  expireSettledAt?: string;
  /**
   * When a claim of the step was given back after a post whose answer never came (a timeout, a
   * reset: Slack may have taken it), ISO: the step's next post may be a second one.
   */
  remindMayHaveArrivedAt?: string;
  expireMayHaveArrivedAt?: string;
}

/** A stored request with its key. */
export type StoredPending = PendingApproval & ItemKey;

// The one-time steps (reminder, expiry) and their claims live in pending-steps.ts.
export {
  STEP_LEASE_MS,
  claimStep,
  earlierPostOf,
  isStepTaken,
  releaseStep,
  settleStep,
  type PendingStep,
  type StepClaim,
} from "./pending-steps";

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
  return queryPending(
    {
      KeyConditionExpression: "pk = :pk AND sk < :upper",
      ExpressionAttributeValues: { ":upper": upper },
    },
    true,
  );
}

/**
 * The requests of one pipeline execution (`executionId`, a UUID: unique across pipelines; the
 * caller checks the pipeline), at most {@link MAX_PENDING_PER_SCAN}: a Query of the pending
 * partition filtered by `executionId`, paged. DynamoDB counts what a Query reads before its filter
 * (developer guide, "Filter expressions for Query": "A filter expression is applied after a Query
 * finishes, but before the results are returned"), so each call reads the partition: one item per
 * request still waiting, which is few. Strongly consistent, so a request recorded or a step
 * claimed a moment ago is seen. DynamoDB errors are thrown.
 */
export async function pendingOfExecution(executionId: string): Promise<StoredPending[]> {
  return queryPending(
    {
      KeyConditionExpression: "pk = :pk",
      FilterExpression: "executionId = :e",
      ExpressionAttributeValues: { ":e": executionId },
    },
    false,
  );
}

/**
 * The pending partition's items that `query` selects (its expressions; `:pk` is set here), at
 * most {@link MAX_PENDING_PER_SCAN}, paged and strongly consistent. `limited`: each page asks
 * for no more than what is still wanted (DynamoDB's `Limit` counts items read before a filter,
 * so a filtered query reads whole pages instead). DynamoDB errors are thrown.
 */
async function queryPending(
  query: {
    KeyConditionExpression: string;
    FilterExpression?: string;
    ExpressionAttributeValues: Record<string, unknown>;
  },
  limited: boolean,
): Promise<StoredPending[]> {
  const out: StoredPending[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ddb().send(
      new QueryCommand({
        TableName: tableName(),
        ...query,
        ExpressionAttributeValues: {
          ...query.ExpressionAttributeValues,
          ":pk": PENDING_APPROVALS_PARTITION,
        },
        ConsistentRead: true,
        ExclusiveStartKey: start,
        ...(limited ? { Limit: MAX_PENDING_PER_SCAN - out.length } : {}),
      }),
    );
    out.push(...((page.Items ?? []) as StoredPending[]));
    start = page.LastEvaluatedKey;
  } while (start && out.length < MAX_PENDING_PER_SCAN);
  return out;
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
