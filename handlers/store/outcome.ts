/**
 * Outcome (collapse) claims (store/ledger.ts describes the ledger they belong to): the first of
 * an execution's action / stage / pipeline FAILED events of one attempt claims the message for
 * that outcome; the others are collapsed into it. A later attempt (RetryStageExecution) claims
 * anew: its failure is a new failure.
 */
import { claimOrRead } from "./claim";
import { outcomeKey } from "./keys";
import { expiresAt, tableName } from "./table";

/**
 * Claims the one message of an execution's outcome (e.g. FAILED) in `attempt`
 * (`pipeline-execution-attempt`, default 1) for notification `id`. Returns the id that owns the
 * outcome: `id` itself when it won (or already owned it), another id when this event is to be
 * collapsed into that one.
 */
export async function claimOutcome(
  pipeline: string,
  executionId: string,
  outcome: string,
  id: string,
  retentionDays: number,
  attempt = 1,
  deadline?: number,
): Promise<string> {
  const result = await claimOrRead(
    {
      kind: "put",
      TableName: tableName(),
      Item: {
        ...outcomeKey(pipeline, executionId, outcome, attempt),
        notificationId: id,
        at: new Date().toISOString(),
        expiresAt: expiresAt(retentionDays),
      },
      ConditionExpression: "attribute_not_exists(pk) OR notificationId = :id",
      ExpressionAttributeValues: { ":id": id },
    },
    { deadline },
  );
  if (result.claimed) return id;
  return String(result.existing?.notificationId ?? id);
}
