/**
 * Open PagerDuty incidents per (channel, pipeline) (key in store/keys.ts), so that a later
 * success of the pipeline can resolve them.
 */
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { incidentKey } from "./keys";
import { expiresAt, tableName } from "./table";

/** Remembers an open PagerDuty incident (its dedup key) of `pipeline` on `channel`. */
export async function rememberIncident(
  channel: string,
  pipeline: string,
  dedupKey: string,
  retentionDays: number,
): Promise<void> {
  await ddb().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: incidentKey(channel, pipeline),
      UpdateExpression: "ADD dedupKeys :k SET expiresAt = :exp",
      ExpressionAttributeValues: { ":k": new Set([dedupKey]), ":exp": expiresAt(retentionDays) },
    }),
  );
}

/** The dedup keys of the open PagerDuty incidents of `pipeline` on `channel`, sorted. */
export async function openIncidents(channel: string, pipeline: string): Promise<string[]> {
  const out = await ddb().send(
    new GetCommand({
      TableName: tableName(),
      Key: incidentKey(channel, pipeline),
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
      TableName: tableName(),
      Key: incidentKey(channel, pipeline),
      UpdateExpression: "DELETE dedupKeys :k",
      ExpressionAttributeValues: { ":k": new Set([dedupKey]) },
    }),
  );
}
