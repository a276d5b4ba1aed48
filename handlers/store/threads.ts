/**
 * The Slack thread of each execution on each Slack channel instance in bot mode (issue 11; key in
 * store/keys.ts `threadKey`): the parent message's `ts` and channel id, so that later
 * notifications of the execution reply in its thread and update the parent in place.
 *
 * One item per (channel instance, pipeline key, execution id), with attributes `owner` (the
 * notification id whose message is the parent), `leaseUntil` (epoch ms: while the owner is posting
 * the parent), `ts` and `channelId` (once it is posted), `latestAt` (ISO time of the newest event
 * the parent shows) and `expiresAt` (TTL, epoch seconds, `auditRetentionDays` like every item).
 *
 * Who posts the parent is decided by one conditional PutItem ({@link claimOrRead}): of two
 * notifications of one execution at the same time, exactly one becomes the parent; the other gets
 * the item back from the failed condition (no extra read) and replies in the thread, waiting for
 * the parent's `ts` if it is still being posted. An owner that never finished (its lease ran out)
 * can be replaced. DynamoDB calls per notification: 2 for the parent (claim, record its `ts`), 2
 * for a reply (the failed claim returns the item; `advance`), plus a GetItem per wait for a parent
 * still being posted.
 */
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { claimOrRead, isConditionFailed } from "./claim";
import { threadKey } from "./keys";
import { expiresAt, tableName } from "./table";

/** Which thread: channel instance name, pipeline key (`pipelineKeyOf(n)`) and execution id. */
export interface ThreadRef {
  channel: string;
  pipeline: string;
  executionId: string;
}

/** What is stored about one thread. */
export interface ThreadState {
  /** Notification id whose message is (or is becoming) the parent. */
  owner: string;
  /** Epoch ms until which the owner may still be posting the parent (absent once posted). */
  leaseUntil?: number;
  /** The parent message's `ts` and conversation id, once posted. */
  ts?: string;
  channelId?: string;
  /** ISO time of the newest event the parent shows. */
  latestAt: string;
}

/** What came of a claim: this notification posts the parent, or the thread already has an owner. */
export type ThreadClaim = { parent: true } | { parent: false; thread: ThreadState | undefined };

/** The thread operations the Slack driver needs (injected through `ChannelContext.threads`). */
export interface ThreadStore {
  /**
   * Claims the parent for notification `owner` of event time `time` (conditional PutItem: the item
   * is absent, or no `ts` was recorded yet and the lease ran out or `owner` is the owner already),
   * else returns the item.
   */
  claim(ref: ThreadRef, owner: string, time: string): Promise<ThreadClaim>;
  /** Records the posted parent (only while `owner` still owns the thread; false otherwise). */
  setParent(
    ref: ThreadRef,
    owner: string,
    parent: { ts: string; channelId: string },
  ): Promise<boolean>;
  /** A consistent read of the thread. */
  read(ref: ThreadRef): Promise<ThreadState | undefined>;
  /**
   * Records that the parent now shows the event of time `time`, if the parent is posted and shows
   * nothing newer: true when the caller should update the parent.
   */
  advance(ref: ThreadRef, time: string): Promise<boolean>;
}

/** How long a claimed parent may take to be posted before another notification may take over. */
export const THREAD_LEASE_MS = 30_000;

function keyOf(ref: ThreadRef) {
  return threadKey(ref.channel, ref.pipeline, ref.executionId);
}

function stateOf(item: Record<string, unknown> | undefined): ThreadState | undefined {
  if (!item || typeof item.owner !== "string") return undefined;
  return {
    owner: item.owner,
    ...(typeof item.leaseUntil === "number" && { leaseUntil: item.leaseUntil }),
    ...(typeof item.ts === "string" && { ts: item.ts }),
    ...(typeof item.channelId === "string" && { channelId: item.channelId }),
    latestAt: typeof item.latestAt === "string" ? item.latestAt : "",
  };
}

/** The DynamoDB-backed {@link ThreadStore}; items live `retentionDays` (TTL). */
export function threadStore(retentionDays: number): ThreadStore {
  return {
    async claim(ref, owner, time) {
      const now = Date.now();
      const out = await claimOrRead({
        kind: "put",
        TableName: tableName(),
        Item: {
          ...keyOf(ref),
          owner,
          leaseUntil: now + THREAD_LEASE_MS,
          latestAt: time,
          expiresAt: expiresAt(retentionDays),
        },
        // The parent is not posted yet and its owner gave up (lease over), or is this notification
        // itself trying again (a retry or redelivery after its post failed).
        ConditionExpression:
          "attribute_not_exists(pk) OR (attribute_not_exists(ts) AND (leaseUntil < :now OR #owner = :owner))",
        ExpressionAttributeNames: { "#owner": "owner" },
        ExpressionAttributeValues: { ":now": now, ":owner": owner },
      });
      return out.claimed ? { parent: true } : { parent: false, thread: stateOf(out.existing) };
    },
    async setParent(ref, owner, parent) {
      try {
        await ddb().send(
          new UpdateCommand({
            TableName: tableName(),
            Key: keyOf(ref),
            UpdateExpression: "SET ts = :ts, channelId = :c REMOVE leaseUntil",
            ConditionExpression: "#owner = :owner",
            ExpressionAttributeNames: { "#owner": "owner" },
            ExpressionAttributeValues: {
              ":ts": parent.ts,
              ":c": parent.channelId,
              ":owner": owner,
            },
          }),
        );
        return true;
      } catch (err: unknown) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },
    async read(ref) {
      const out = await ddb().send(
        new GetCommand({ TableName: tableName(), Key: keyOf(ref), ConsistentRead: true }),
      );
      return stateOf(out.Item);
    },
    async advance(ref, time) {
      try {
        await ddb().send(
          new UpdateCommand({
            TableName: tableName(),
            Key: keyOf(ref),
            UpdateExpression: "SET latestAt = :t",
            ConditionExpression: "attribute_exists(ts) AND latestAt <= :t",
            ExpressionAttributeValues: { ":t": time },
          }),
        );
        return true;
      } catch (err: unknown) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },
  };
}
