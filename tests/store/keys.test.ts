/**
 * The table's key formats are stored data: items written by earlier deployments must still be
 * found. These pin every format byte for byte (the table in handlers/store/keys.ts).
 */
import {
  approvalKey,
  approvalPartition,
  auditKey,
  auditPartition,
  AUDIT_TABLE_SCHEMA,
  deliveryKey,
  executionIndexKey,
  executionPartition,
  EXECUTION_INDEX,
  incidentKey,
  outcomeKey,
  replayKey,
  resolveSlot,
  TABLE_SCHEMA,
} from "../../handlers/store/keys";
import { expiresAt } from "../../handlers/store/table";

describe("item keys", () => {
  it("keeps every item kind's format", () => {
    expect(auditKey("api-prod", "2024-11-18T14:18:52.000Z", "1a2b3c4d")).toEqual({
      pk: "PIPELINE#api-prod",
      sk: "2024-11-18T14:18:52.000Z#1a2b3c4d",
    });
    expect(auditPartition("api-prod")).toBe("PIPELINE#api-prod");
    expect(executionIndexKey("exec-1", "2024-11-18T14:18:52.000Z")).toEqual({
      gsi1pk: "EXEC#exec-1",
      gsi1sk: "2024-11-18T14:18:52.000Z",
    });
    expect(executionPartition("exec-1")).toBe("EXEC#exec-1");
    expect(deliveryKey("n-1", "slack-eng")).toEqual({
      pk: "DELIVERY#n-1",
      sk: "CHANNEL#slack-eng",
    });
    expect(resolveSlot("pd", "k")).toBe("pd/resolve/k");
    expect(deliveryKey("n-1", resolveSlot("pd", "k"))).toEqual({
      pk: "DELIVERY#n-1",
      sk: "CHANNEL#pd/resolve/k",
    });
    expect(outcomeKey("api-prod", "exec-1", "FAILED")).toEqual({
      pk: "OUTCOME#api-prod#exec-1",
      sk: "FAILED",
    });
    expect(incidentKey("pagerduty-oncall", "api-prod")).toEqual({
      pk: "INCIDENT#pagerduty-oncall",
      sk: "api-prod",
    });
    const target = { pipeline: "api-prod", executionId: "exec-1", stage: "Approve", action: "Go" };
    expect(approvalKey(target)).toEqual({ pk: "APPROVAL#api-prod#exec-1", sk: "Approve#Go" });
    expect(approvalPartition("api-prod", "exec-1")).toBe("APPROVAL#api-prod#exec-1");
    expect(replayKey("v0=abc")).toEqual({ pk: "REPLAY#v0=abc", sk: "REPLAY" });
  });

  it("keeps the table's schema, under both names", () => {
    expect(TABLE_SCHEMA).toEqual({
      hashKey: "pk",
      rangeKey: "sk",
      index: { name: "byExecution", hashKey: "gsi1pk", rangeKey: "gsi1sk" },
      ttlAttribute: "expiresAt",
    });
    expect(AUDIT_TABLE_SCHEMA).toBe(TABLE_SCHEMA);
    expect(EXECUTION_INDEX).toBe("byExecution");
  });

  it("sets the TTL in whole epoch seconds", () => {
    expect(expiresAt(1, new Date("2024-01-01T00:00:00.900Z"))).toBe(1704067200 + 86400);
    expect(expiresAt(0.5, new Date(0))).toBe(43200);
  });
});
