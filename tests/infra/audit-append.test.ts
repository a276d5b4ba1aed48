/**
 * Audit records are append-only in the code as well as in IAM (infra/grants.ts `auditAppend`):
 * `putAudit` writes with `attribute_not_exists(pk)`, so a record whose key is already taken is
 * never replaced; it retries with a fresh random suffix. Runs against dynalite.
 */
const suffixes: string[] = [];
jest.mock("node:crypto", () => {
  const actual = jest.requireActual("node:crypto");
  return { ...actual, randomUUID: () => suffixes.shift() ?? actual.randomUUID() };
});

import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../../handlers/aws";
import { putAudit } from "../../handlers/store/audit";
import { createAuditTable, startDynalite, type Dynalite } from "../../testing";

const TABLE = "audit-append";
const NOW = new Date("2026-11-30T05:00:00.000Z");
const uuid = (prefix: string) => `${prefix}-0000-4000-8000-000000000000`;
let db: Dynalite;
const savedEnv = { ...process.env };

beforeAll(async () => {
  db = await startDynalite();
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "x",
    AWS_SECRET_ACCESS_KEY: "x",
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AUDIT_TABLE: TABLE,
  });
  await createAuditTable(db.endpoint, TABLE);
});
afterAll(async () => {
  await db.close();
  process.env = savedEnv;
});

async function read(sk: string): Promise<Record<string, unknown> | undefined> {
  const out = await ddb().send(
    new GetCommand({ TableName: TABLE, Key: { pk: "PIPELINE#api-prod", sk } }),
  );
  return out.Item;
}

it("never replaces a record: a taken key is retried with a new suffix", async () => {
  suffixes.push(uuid("aaaaaaaa"));
  await putAudit({ action: "sent", pipeline: "api-prod", result: "first" }, 30, NOW);

  suffixes.push(uuid("aaaaaaaa"), uuid("bbbbbbbb"));
  const second = await putAudit(
    { action: "failed", pipeline: "api-prod", result: "second" },
    30,
    NOW,
  );

  expect(second.sk).toBe(`${NOW.toISOString()}#bbbbbbbb`);
  expect((await read(`${NOW.toISOString()}#aaaaaaaa`))?.result).toBe("first");
  expect((await read(`${NOW.toISOString()}#bbbbbbbb`))?.result).toBe("second");
});

it("fails with ConditionalCheckFailedException after 3 taken keys, the record intact", async () => {
  suffixes.push(uuid("aaaaaaaa"), uuid("aaaaaaaa"), uuid("aaaaaaaa"));
  await expect(
    putAudit({ action: "ignored", pipeline: "api-prod", result: "third" }, 30, NOW),
  ).rejects.toMatchObject({ name: "ConditionalCheckFailedException" });
  expect(suffixes).toEqual([]);
  expect((await read(`${NOW.toISOString()}#aaaaaaaa`))?.result).toBe("first");
});
