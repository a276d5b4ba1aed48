/**
 * Exactly-once bookkeeping in DynamoDB (key scheme in handlers/audit.ts):
 * - the delivery ledger: one item per (notification, channel), claimed with a conditional write
 *   before sending, so a duplicated or redelivered event never sends twice to a channel that
 *   already got it, and a failed channel is retried alone;
 * - outcome claims: the first of an execution's action / stage / pipeline FAILED events claims
 *   the message for that outcome; the others are collapsed into it;
 * - open PagerDuty incidents per (channel, pipeline), so a later success can resolve them.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { expiresAt } from "./audit";
import { ddb, isConditionFailed, requireEnv } from "./aws";
import { ENV } from "./types";

function table(): string {
  return requireEnv(ENV.table);
}

/** Result of claiming a delivery. */
export type DeliveryClaim =
  | { claimed: true; attempts: number }
  | { claimed: false; status: "sent" | "sending" | "abandoned"; sentAt?: string };

/**
 * Claims the right to send notification `id` to `channel` until `leaseUntil` (epoch ms). Fails
 * when the channel already got it, gave up on it for good, or another invocation holds a live
 * lease (a concurrent duplicate of the same event).
 */
export async function claimDelivery(
  id: string,
  channel: string,
  leaseUntil: number,
  retentionDays: number,
  now = Date.now(),
): Promise<DeliveryClaim> {
  const key = { pk: `DELIVERY#${id}`, sk: `CHANNEL#${channel}` };
  try {
    const out = await ddb().send(
      new UpdateCommand({
        TableName: table(),
        Key: key,
        UpdateExpression:
          "SET #s = :sending, leaseUntil = :lease, expiresAt = :exp ADD attempts :one",
        ConditionExpression:
          "attribute_not_exists(pk) OR #s = :failed OR (#s = :sending AND leaseUntil < :now)",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: {
          ":sending": "sending",
          ":failed": "failed",
          ":lease": leaseUntil,
          ":now": now,
          ":one": 1,
          ":exp": expiresAt(retentionDays),
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return { claimed: true, attempts: Number(out.Attributes?.attempts ?? 1) };
  } catch (err: unknown) {
    if (!isConditionFailed(err)) throw err;
  }
  const existing = await ddb().send(
    new GetCommand({ TableName: table(), Key: key, ConsistentRead: true }),
  );
  const status = existing.Item?.status;
  return {
    claimed: false,
    status: status === "sent" || status === "abandoned" ? status : "sending",
    sentAt: existing.Item?.sentAt as string | undefined,
  };
}

/** Records a successful delivery. */
export async function markSent(
  id: string,
  channel: string,
  receiptId: string | undefined,
): Promise<void> {
  await ddb().send(
    new UpdateCommand({
      TableName: table(),
      Key: { pk: `DELIVERY#${id}`, sk: `CHANNEL#${channel}` },
      UpdateExpression:
        "SET #s = :sent, sentAt = :at, receiptId = :rid REMOVE leaseUntil, lastError",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: {
        ":sent": "sent",
        ":at": new Date().toISOString(),
        ":rid": receiptId ?? "-",
      },
    }),
  );
}

/**
 * Records a failed delivery: `failed` may be retried by a redelivery of the event; `abandoned`
 * (a permanent error) is not tried again.
 */
export async function markFailed(
  id: string,
  channel: string,
  error: string,
  permanent: boolean,
): Promise<void> {
  await ddb().send(
    new UpdateCommand({
      TableName: table(),
      Key: { pk: `DELIVERY#${id}`, sk: `CHANNEL#${channel}` },
      UpdateExpression: "SET #s = :s, lastError = :e, leaseUntil = :zero",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: {
        ":s": permanent ? "abandoned" : "failed",
        ":e": error,
        ":zero": 0,
      },
    }),
  );
}

/**
 * Claims the one message of an execution's outcome (e.g. FAILED) for notification `id`. Returns
 * the id that owns the outcome: `id` itself when it won (or already owned it), another id when
 * this event is to be collapsed into that one.
 */
export async function claimOutcome(
  pipeline: string,
  executionId: string,
  outcome: string,
  id: string,
  retentionDays: number,
): Promise<string> {
  const key = { pk: `OUTCOME#${pipeline}#${executionId}`, sk: outcome };
  try {
    await ddb().send(
      new PutCommand({
        TableName: table(),
        Item: {
          ...key,
          notificationId: id,
          at: new Date().toISOString(),
          expiresAt: expiresAt(retentionDays),
        },
        ConditionExpression: "attribute_not_exists(pk) OR notificationId = :id",
        ExpressionAttributeValues: { ":id": id },
      }),
    );
    return id;
  } catch (err: unknown) {
    if (!isConditionFailed(err)) throw err;
  }
  const existing = await ddb().send(
    new GetCommand({ TableName: table(), Key: key, ConsistentRead: true }),
  );
  return String(existing.Item?.notificationId ?? id);
}

/** Remembers an open PagerDuty incident (its dedup key) of `pipeline` on `channel`. */
export async function rememberIncident(
  channel: string,
  pipeline: string,
  dedupKey: string,
  retentionDays: number,
): Promise<void> {
  await ddb().send(
    new UpdateCommand({
      TableName: table(),
      Key: { pk: `INCIDENT#${channel}`, sk: pipeline },
      UpdateExpression: "ADD dedupKeys :k SET expiresAt = :exp",
      ExpressionAttributeValues: { ":k": new Set([dedupKey]), ":exp": expiresAt(retentionDays) },
    }),
  );
}

/** The dedup keys of the open PagerDuty incidents of `pipeline` on `channel`. */
export async function openIncidents(channel: string, pipeline: string): Promise<string[]> {
  const out = await ddb().send(
    new GetCommand({
      TableName: table(),
      Key: { pk: `INCIDENT#${channel}`, sk: pipeline },
      ConsistentRead: true,
    }),
  );
  const keys = out.Item?.dedupKeys as Set<string> | string[] | undefined;
  return keys ? [...keys].sort() : [];
}

/** Forgets a resolved incident. */
export async function forgetIncident(
  channel: string,
  pipeline: string,
  dedupKey: string,
): Promise<void> {
  await ddb().send(
    new UpdateCommand({
      TableName: table(),
      Key: { pk: `INCIDENT#${channel}`, sk: pipeline },
      UpdateExpression: "DELETE dedupKeys :k",
      ExpressionAttributeValues: { ":k": new Set([dedupKey]) },
    }),
  );
}

/**
 * The Slack decision recorded by the approval handler for an execution, if someone rejected it:
 * a rejection is then reported as such even when the CodePipeline API cannot be asked.
 */
export async function slackRejection(
  pipeline: string,
  executionId: string,
): Promise<{ by: string; stage?: string; action?: string } | undefined> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": `APPROVAL#${pipeline}#${executionId}` },
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
