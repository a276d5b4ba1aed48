/**
 * A digest window's entries as the flush reads them (issue 11 grouping): the grouped ledger items
 * indexed under `DIGEST#<channel>#<window start>` in the `byExecution` index (store/keys.ts
 * `digestPartition`; the marks that index them are store/digest.ts's), each completed from its
 * item into the digest's entry.
 */
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../aws";
import { consoleUrl } from "../events/normalize";
import { withStoreRetries } from "./claim";
import type { GroupedEntry } from "./digest";
import { digestPartition, EXECUTION_INDEX } from "./keys";
import { tableName } from "./table";

/** What {@link digestEntries} found. */
export interface DigestPage {
  entries: GroupedEntry[];
  /** DynamoDB calls it took (one Query per page of 1 MB). */
  calls: number;
}

/**
 * Every entry grouped into `channel`'s digest of the window starting at `windowStart`, oldest
 * first (the index's sort key is the event time): one Query of the `byExecution` index per page
 * (DynamoDB returns at most 1 MB per call, with `LastEvaluatedKey` to go on). A throttled page is
 * read again until `deadline` (epoch ms; store/claim.ts `withStoreRetries`, issue 12: a flush that
 * fails its read goes back to the queue, and the digest waits). DynamoDB errors are thrown.
 */
export async function digestEntries(
  channel: string,
  windowStart: number,
  deadline?: number,
): Promise<DigestPage> {
  const entries: GroupedEntry[] = [];
  let calls = 0;
  let start: Record<string, unknown> | undefined;
  do {
    calls++;
    const from = start;
    const out = await withStoreRetries(
      () =>
        ddb().send(
          new QueryCommand({
            TableName: tableName(),
            IndexName: EXECUTION_INDEX,
            KeyConditionExpression: "gsi1pk = :pk",
            // Only slots still grouped: one released since (`failed`, its retry sends it on its
            // own) is not the digest's (red-team finding); a release now also removes its index
            // keys (store/marks.ts `markFailed`), items released before that keep them.
            FilterExpression: "#s = :grouped",
            ExpressionAttributeNames: { "#s": "status" },
            ExpressionAttributeValues: {
              ":pk": digestPartition(channel, windowStart),
              ":grouped": "grouped",
            },
            ...(from && { ExclusiveStartKey: from }),
          }),
        ),
      { deadline },
    );
    for (const item of out.Items ?? []) {
      if (item.entry && typeof item.entry === "object") entries.push(entryOf(item));
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return { entries, calls };
}

/** The whole entry of a grouped ledger item: its stored entry completed from the item. */
function entryOf(item: Record<string, any>): GroupedEntry {
  const stored = item.entry as Partial<GroupedEntry>;
  const whole = {
    notificationId: String(item.notificationId),
    account: String(item.account),
    region: String(item.region),
    executionId: String(item.executionId),
    ...stored,
  } as GroupedEntry;
  whole.consoleUrl ??= consoleUrl(whole.region, whole.pipeline, whole.executionId);
  return whole;
}
