/**
 * The one "conditional write, else consistent read" that every claim in the table is made of: the
 * delivery ledger, outcome (collapse) claims, approval decision claims and the Slack replay guard.
 */
import {
  GetCommand,
  PutCommand,
  UpdateCommand,
  type PutCommandInput,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { ddb } from "../aws";

/** A claim to make: a conditional PutItem or UpdateItem, with its TableName and condition. */
export type ClaimWrite =
  ({ kind: "put" } & PutCommandInput) | ({ kind: "update" } & UpdateCommandInput);

/**
 * What came of a claim. `item` is the item after an update claim when the input asked for
 * `ReturnValues: "ALL_NEW"` (undefined for puts); `existing` is a consistent read of the item that
 * made the condition fail (undefined when it vanished in between, or when the read was skipped).
 */
export type ClaimResult =
  | { claimed: true; item: Record<string, unknown> | undefined }
  | { claimed: false; existing: Record<string, unknown> | undefined };

/** Options of {@link claimOrRead}. */
export interface ClaimOptions {
  /**
   * Read the item when the claim fails. Default true; false when the caller only needs to know
   * that it lost (the replay guard), which saves a read.
   */
  read?: boolean;
}

/** Whether a DynamoDB write failed its condition (someone else claimed the item first). */
export function isConditionFailed(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { name?: unknown }).name === "ConditionalCheckFailedException"
  );
}

/** The key of the item a claim writes: an update's Key, or the pk and sk of a put's Item. */
function claimedKey(write: ClaimWrite): Record<string, unknown> {
  if (write.kind === "update") return write.Key ?? {};
  return { pk: write.Item?.pk, sk: write.Item?.sk };
}

/**
 * The item DynamoDB returned with a failed condition (`ReturnValuesOnConditionCheckFailure:
 * ALL_OLD`: the ConditionalCheckFailedException carries `Item`, in DynamoDB's attribute-value
 * form, which the document client does not unmarshall for errors; API reference, PutItem /
 * UpdateItem "ReturnValuesOnConditionCheckFailure"). Undefined when it carries none (a stand-in
 * that does not implement the parameter).
 */
function itemOfConditionFailure(err: unknown): Record<string, unknown> | undefined {
  const item = (err as { Item?: unknown }).Item;
  if (typeof item !== "object" || item === null) return undefined;
  return unmarshall(item as Parameters<typeof unmarshall>[0]);
}

/**
 * Makes the conditional write, asking DynamoDB to return the item that made its condition fail
 * (no read, no second round trip); when the condition fails (ConditionalCheckFailedException)
 * and no item came back, reads the item that is there with a strongly consistent GetItem on the
 * same table and key. Any other error of the write or the read is rethrown.
 */
export async function claimOrRead(
  write: ClaimWrite,
  options: ClaimOptions = {},
): Promise<ClaimResult> {
  const { kind, ...input } = write;
  const returnOld =
    options.read === false ? {} : { ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const };
  try {
    if (kind === "put") {
      await ddb().send(new PutCommand({ ...(input as PutCommandInput), ...returnOld }));
      return { claimed: true, item: undefined };
    }
    const out = await ddb().send(
      new UpdateCommand({ ...(input as UpdateCommandInput), ...returnOld }),
    );
    return { claimed: true, item: out.Attributes };
  } catch (err: unknown) {
    if (!isConditionFailed(err)) throw err;
    if (options.read === false) return { claimed: false, existing: undefined };
    const returned = itemOfConditionFailure(err);
    if (returned) return { claimed: false, existing: returned };
  }
  const got = await ddb().send(
    new GetCommand({ TableName: write.TableName, Key: claimedKey(write), ConsistentRead: true }),
  );
  return { claimed: false, existing: got.Item };
}
