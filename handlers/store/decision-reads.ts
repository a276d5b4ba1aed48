/**
 * The fan-out's reads of the approval Lambda's decision claims (store/approvals.ts): a Slack
 * rejection of an execution, so that its failure is reported as the rejection it was; and the
 * claim of one run, so that a request a click rewrites (or rewrote) is left to that click
 * (handlers/reminders/ended.ts). Queries only: the fan-out's grant on `APPROVAL#` items is Query
 * (README, "IAM, per role").
 */
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import type { ApprovalButtonValue } from "../contracts/slack-approval";
import {
  CLAIM_MARGIN_MS,
  decisionKey,
  MAX_WORK_TIMEOUT_MS,
  type DecisionStatus,
  type StoredDecision,
} from "./approvals";
import { approvalPartition } from "./keys";
import { tableName } from "./table";

/** How long a `claimed` item without `leaseUntil` may still be worked on, ms. */
const LEASE_FALLBACK_MS = MAX_WORK_TIMEOUT_MS + CLAIM_MARGIN_MS;

/**
 * Whether a Rejected claim counts as a Slack rejection at `now` (epoch ms): `decided` (CodePipeline
 * took it), or `claimed` while its work may still be deciding it (before `leaseUntil`, else
 * {@link LEASE_FALLBACK_MS} after the click): the stage's FAILED event of a rejection can arrive
 * before the work settles the claim. A `final` one decided nothing; a `claimed` one past its
 * lease is a work that died or a release that failed — nothing known to be rejected.
 */
function isRejection(item: Record<string, unknown>, now: number): boolean {
  if (item.decision !== "Rejected") return false;
  const status = (item.status as DecisionStatus | undefined) ?? "claimed";
  if (status !== "claimed") return status === "decided";
  return mayStillWork(item, now);
}

/**
 * Whether the work of a `claimed` item may still be running at `now` (epoch ms): before its
 * `leaseUntil`, else {@link LEASE_FALLBACK_MS} after the click.
 */
function mayStillWork(item: { leaseUntil?: unknown; at?: unknown }, now: number): boolean {
  const until =
    typeof item.leaseUntil === "string"
      ? Date.parse(item.leaseUntil)
      : Date.parse(String(item.at)) + LEASE_FALLBACK_MS;
  return !Number.isNaN(until) && now < until;
}

/**
 * The Slack decision recorded by the approval handler for an execution, if someone rejected it:
 * a rejection is then reported as such even when the CodePipeline API cannot be asked. `by` is
 * "Name (U…)", the name alone, or "someone"; `attempt` the execution's attempt it was made in
 * (absent for buttons posted before decisions carried it). Which claims count: {@link isRejection}.
 */
export async function slackRejection(
  pipeline: string,
  executionId: string,
  now: number = Date.now(),
): Promise<{ by: string; stage?: string; action?: string; attempt?: number } | undefined> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": approvalPartition(pipeline, executionId) },
      ConsistentRead: true,
    }),
  );
  const rejected = (out.Items ?? []).find((i) => isRejection(i, now));
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

/**
 * The decision claim of the run `target` names, if a click claimed it: a Query of its one key
 * (the fan-out may Query `APPROVAL#` items, not GetItem them), strongly consistent. DynamoDB
 * errors are thrown.
 */
export async function decisionOfRun(
  target: ApprovalButtonValue,
): Promise<StoredDecision | undefined> {
  const key = decisionKey(target);
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: "pk = :pk AND sk = :sk",
      ExpressionAttributeValues: { ":pk": key.pk, ":sk": key.sk },
      ConsistentRead: true,
    }),
  );
  return out.Items?.[0] as StoredDecision | undefined;
}

/**
 * Whether a click's work rewrites, or rewrote, the request message of `claim`'s run at `now`
 * (epoch ms), so that nothing else should: its work settled (`decided`: handlers/approval/report.ts
 * rewrote it as decided; `final`: as the run ended, or replaced), or it is still `claimed` and may
 * be running. A `claimed` one past its lease is a work that died: no click rewrites it.
 */
export function clickHoldsRequest(claim: StoredDecision | undefined, now: number): boolean {
  if (!claim) return false;
  if ((claim.status ?? "claimed") !== "claimed") return true;
  return mayStillWork(claim, now);
}
