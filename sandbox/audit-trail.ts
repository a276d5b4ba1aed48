/**
 * The audit trail as the page and the scenario checks read it: every audit item (`PIPELINE#…`
 * partition; not the ledger, claims or incidents) of the program's tables in dynalite.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { REGION } from "./wiring";
import { auditPartition } from "../handlers/store/keys";

/** Reads the audit trail. */
export interface AuditReader {
  /** Every audit item, ordered by sort key (time first). */
  read(): Promise<Array<Record<string, unknown>>>;
  /** Destroys the DynamoDB client. */
  close(): void;
}

/** A reader for `tables` in the dynalite at `endpoint`. */
export function createAuditReader(endpoint: string, tables: string[]): AuditReader {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: REGION,
      credentials: { accessKeyId: "standin", secretAccessKey: "standin" },
    }),
  );
  return {
    async read() {
      const items: Array<Record<string, unknown>> = [];
      for (const table of tables) {
        let start: Record<string, unknown> | undefined;
        do {
          const page = await doc.send(
            new ScanCommand({ TableName: table, ExclusiveStartKey: start }),
          );
          for (const item of page.Items ?? [])
            if (String(item.pk).startsWith(auditPartition(""))) items.push(item);
          start = page.LastEvaluatedKey;
        } while (start);
      }
      return items.sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
    },
    close: () => doc.destroy(),
  };
}
