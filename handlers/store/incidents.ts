/**
 * One open PagerDuty incident per (PagerDuty channel, pipeline) (issue 11): one item
 * (store/keys.ts `incidentKey`, the pipeline by `pipelineKeyOf`) holding the open incident's
 * dedup key, how many failures were added to it, when and by which execution it was opened and
 * the last failing execution. Bounded: the item never grows with the number of failures.
 *
 * PagerDuty Events API v2 semantics this follows (support.pagerduty.com/docs/event-management,
 * "Deduplicate Alerts"; developer.pagerduty.com/docs/events-api-v2/trigger-events/; PagerDuty's
 * Events API v2 OpenAPI, github.com/PagerDuty/api-schema reference/events-v2/openapiv3.json):
 * - a trigger whose `dedup_key` matches an open incident is appended to that incident's alert log
 *   ("Subsequent alerts with a matching dedup_key deduplicate into the same incident"): no new
 *   page. So every later failure of the pipeline is a trigger with the SAME key;
 * - "If there are no open incidents with this key, PagerDuty creates a new incident": a trigger
 *   after a resolve opens a new incident, even with the old key. So once resolved, the item is
 *   cleared and the next failure opens an incident with a key of its own;
 * - a resolve carries `routing_key`, `event_action` and `dedup_key` ("Required unless the
 *   event_type is trigger"); a resolve of a key with no open alert is accepted and does nothing.
 *
 * Item attributes: `dedupKey` (the open incident; absent when none is open), `openedAt` (ISO),
 * `openedBy` (execution id), `failures` (triggers sent to it, this one included),
 * `lastExecution`, `lastNotification`, `expiresAt`; after a success took the incident to resolve
 * it, `resolving` (its key, or "-"), `resolvingOld` (a pre-issue-11 `dedupKeys` set, or "-") and
 * `resolvedBy` (the success's notification id), overwritten by the next success. Items written
 * before issue 11 hold a string set `dedupKeys` instead: the next success resolves every key in
 * it and removes it (migration); a failure before that opens a `dedupKey` next to it.
 */
import { ddb } from "../aws";
import { claimOrRead } from "./claim";
import { incidentKey } from "./keys";
import { expiresAt, tableName } from "./table";
import { GetCommand } from "@aws-sdk/lib-dynamodb";

/** What a failure's trigger goes to: the open incident's key, and whether this one opened it. */
export interface IncidentClaim {
  /** The `dedup_key` every trigger of the pipeline's open incident carries. */
  dedupKey: string;
  /** This failure opened the incident (no incident was open). */
  opened: boolean;
  /** Failures added to the incident, this one included. */
  failures: number;
  /** Execution id of the failure that opened it. */
  openedBy?: string;
}

/** The failure a trigger is for. */
export interface IncidentFailure {
  /** Key a newly opened incident gets (channels/pagerduty.ts `pagerdutyDedupKey`). */
  candidateKey: string;
  executionId: string;
  notificationId: string;
}

/** Placeholder of "no key" in `resolving` / `resolvingOld` (an attribute cannot be set to nothing). */
const NONE = "-";

/**
 * The open incident of `pipeline` (its `pipelineKeyOf` key) on PagerDuty channel `channel` that
 * the trigger of `failure` goes to, opening it with `failure.candidateKey` when none is open. One
 * UpdateItem, atomic (`if_not_exists`): two invocations sending failures of one pipeline at once
 * agree on one key, whichever of them writes first. Idempotent per notification: a retried
 * delivery of the same failure (condition `lastNotification <> :n` fails) reads the key back
 * from the failed condition (store/claim.ts `claimOrRead`) and counts nothing twice. DynamoDB
 * errors are thrown (the delivery is not sent: it fails and is retried).
 */
export async function claimIncident(
  channel: string,
  pipeline: string,
  failure: IncidentFailure,
  retentionDays: number,
  now: Date = new Date(),
): Promise<IncidentClaim> {
  const result = await claimOrRead({
    kind: "update",
    TableName: tableName(),
    Key: incidentKey(channel, pipeline),
    UpdateExpression:
      "SET dedupKey = if_not_exists(dedupKey, :k), openedAt = if_not_exists(openedAt, :at)," +
      " openedBy = if_not_exists(openedBy, :e), lastExecution = :e, lastNotification = :n," +
      " expiresAt = :exp ADD failures :one",
    ConditionExpression:
      "attribute_not_exists(dedupKey) OR attribute_not_exists(lastNotification) OR" +
      " lastNotification <> :n",
    ExpressionAttributeValues: {
      ":k": failure.candidateKey,
      ":at": now.toISOString(),
      ":e": failure.executionId,
      ":n": failure.notificationId,
      ":exp": expiresAt(retentionDays, now),
      ":one": 1,
    },
    ReturnValues: "ALL_NEW",
  });
  const item = result.claimed ? result.item : result.existing;
  const dedupKey = typeof item?.dedupKey === "string" ? item.dedupKey : failure.candidateKey;
  return {
    dedupKey,
    opened: result.claimed && Number(item?.failures ?? 1) === 1,
    failures: Number(item?.failures ?? 1),
    openedBy: typeof item?.openedBy === "string" ? item.openedBy : undefined,
  };
}

/** An incident a success resolves. */
export interface IncidentToResolve {
  dedupKey: string;
  /** The last failing execution added to it (absent for pre-issue-11 keys). */
  lastExecution?: string;
}

function keysOf(value: unknown): string[] {
  if (typeof value === "string") return value === NONE ? [] : [value];
  if (value instanceof Set || Array.isArray(value)) return [...(value as Iterable<string>)];
  return [];
}

/**
 * Takes the open incident(s) of `pipeline` on `channel` for the success `notificationId` to
 * resolve: clears the item's open incident (so the next failure opens a new one) and keeps what
 * it resolves under `resolving` / `resolvingOld` / `resolvedBy`, so that a redelivery of the same
 * success (its resolve failed) resolves them again, and exactly this success does. One UpdateItem
 * (condition: an incident is open and this success has not taken it yet), also when nothing is
 * open. Only a `redelivered` success (an SQS redelivery or a deferred copy: an earlier receive may
 * have taken the incident) reads the item back when the condition fails (store/claim.ts
 * `claimOrRead`: DynamoDB returns the item with the refusal, no read);
 * a first receive that loses the condition has nothing to resolve (nothing open, or a concurrent
 * duplicate of the same event took it and resolves it). Returns the keys, a pre-issue-11
 * `dedupKeys` set's included (migration), sorted; [] when nothing is open.
 */
export async function takeIncidents(
  channel: string,
  pipeline: string,
  notificationId: string,
  redelivered = false,
): Promise<IncidentToResolve[]> {
  const result = await claimOrRead(
    {
      kind: "update",
      TableName: tableName(),
      Key: incidentKey(channel, pipeline),
      UpdateExpression:
        "SET resolving = if_not_exists(dedupKey, :none)," +
        " resolvingOld = if_not_exists(dedupKeys, :none), resolvedBy = :n," +
        " resolvingExecution = if_not_exists(lastExecution, :none)" +
        " REMOVE dedupKey, dedupKeys, openedAt, openedBy, failures, lastExecution, lastNotification",
      ConditionExpression:
        "(attribute_exists(dedupKey) OR attribute_exists(dedupKeys)) AND" +
        " (attribute_not_exists(resolvedBy) OR resolvedBy <> :n)",
      ExpressionAttributeValues: { ":none": NONE, ":n": notificationId },
      ReturnValues: "ALL_NEW",
    },
    { read: redelivered },
  );
  const item = result.claimed ? result.item : result.existing;
  // Lost the condition: nothing open, or this success took it before (a redelivery).
  if (!item || item.resolvedBy !== notificationId) return [];
  const last = keysOf(item.resolvingExecution)[0];
  const current = keysOf(item.resolving).map((dedupKey) => ({
    dedupKey,
    ...(last && { lastExecution: last }),
  }));
  const old = keysOf(item.resolvingOld).map((dedupKey) => ({ dedupKey }));
  return [...current, ...old].sort((a, b) => a.dedupKey.localeCompare(b.dedupKey));
}

/** The item of `pipeline` on `channel` as stored (tests, the sandbox's views). */
export async function incidentItem(
  channel: string,
  pipeline: string,
): Promise<Record<string, unknown> | undefined> {
  const out = await ddb().send(
    new GetCommand({
      TableName: tableName(),
      Key: incidentKey(channel, pipeline),
      ConsistentRead: true,
    }),
  );
  return out.Item;
}
