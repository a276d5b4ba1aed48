/**
 * The audit trail as the page and the scenario checks read it: every audit item (`PIPELINE#…`
 * partition) and every settled delivery record (the ledger item of a sent delivery, which is its
 * audit record: `DELIVERY#PIPELINE#…` with an `action`; handlers/store/keys.ts) of the program's
 * tables in dynalite — not claims, incidents or slots still being sent.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { REGION } from "./wiring";
import { auditPartition, deliveryPartition } from "../handlers/store/keys";

/** Reads the audit trail. */
export interface AuditReader {
  /** Every audit item, ordered by sort key (time first). */
  read(): Promise<Array<Record<string, unknown>>>;
  /** Destroys the DynamoDB client. */
  close(): void;
}

/** An audit record, or a delivery record that says what became of its delivery. */
export function isAuditRecord(item: Record<string, unknown>): boolean {
  const pk = String(item.pk);
  if (pk.startsWith(auditPartition(""))) return true;
  return pk.startsWith(deliveryPartition("")) && typeof item.action === "string";
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
          for (const item of page.Items ?? []) if (isAuditRecord(item)) items.push(item);
          start = page.LastEvaluatedKey;
        } while (start);
      }
      return items.sort((a, b) => String(a.at ?? a.sk).localeCompare(String(b.at ?? b.sk)));
    },
    close: () => doc.destroy(),
  };
}
