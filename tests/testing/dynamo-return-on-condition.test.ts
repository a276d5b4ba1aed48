/**
 * The local DynamoDB answers `ReturnValuesOnConditionCheckFailure` as DynamoDB does
 * (testing/dynamo-return-on-condition.ts; issue 12, "the local world is as strict as AWS").
 *
 * DynamoDB API reference, PutItem / UpdateItem / DeleteItem, `ReturnValuesOnConditionCheckFailure`
 * (valid values `ALL_OLD | NONE`): with `ALL_OLD` a write refused by its condition returns the
 * item's attributes in the ConditionalCheckFailedException — member `Item`, "Item which caused the
 * ConditionalCheckFailedException", DynamoDB JSON; the AWS SDK v3 exposes it as `err.Item` — and
 * "No read capacity units are consumed": one request, billed as the refused write only. Without
 * the parameter, with `NONE`, or when no item is stored under the key, there is no `Item`.
 *
 * Everything here goes through the real AWS SDK v3 client to the real local dynalite behind its
 * proxy; the call counter is the proxy's (testing/dynamo-faults.ts), the one the bench and
 * scripts/cost-probe.ts price.
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { createAuditTable, startDynalite, type Dynalite } from "../../testing/dynamo";
import type { DeclaredIam } from "../../testing/iam/declared";
import { createIamEnforcer } from "../../testing/iam/enforce";

let dynamo: Dynalite;
let client: DynamoDBClient;
const TABLE = "return-on-condition";
/** A table with another key schema (hash key `id` only): a PutItem's key comes from the table. */
const HASH_ONLY = "return-on-condition-hash-only";

/** Environment the handlers' lazy clients read (restored after the file). */
const ENV_KEYS = [
  "AWS_ENDPOINT_URL_DYNAMODB",
  "AUDIT_TABLE",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
] as const;
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

beforeAll(async () => {
  dynamo = await startDynalite();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AUDIT_TABLE: TABLE,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "standin",
    AWS_SECRET_ACCESS_KEY: "standin",
  });
  client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: "us-east-1",
    maxAttempts: 1,
    credentials: { accessKeyId: "standin", secretAccessKey: "standin" },
  });
  await createAuditTable(dynamo.endpoint, TABLE);
  await client.send(
    new CreateTableCommand({
      TableName: HASH_ONLY,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
    }),
  );
});
beforeEach(() => dynamo.faults.resetCounts());
afterEach(() => {
  dynamo.faults.setThrottling(null);
  jest.restoreAllMocks();
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

/** The item stored under `key`: the value a refusal with ALL_OLD must carry. */
const STORED = {
  pk: { S: "CLAIM#a" },
  sk: { S: "1" },
  status: { S: "sending" },
  attempts: { N: "2" },
  tags: { SS: ["x", "y"] },
  detail: { M: { count: { N: "3" }, ok: { BOOL: true }, list: { L: [{ S: "n-1" }] } } },
};
const KEY = { pk: STORED.pk, sk: STORED.sk };

async function store(item: Record<string, any> = STORED): Promise<void> {
  await client.send(new PutItemCommand({ TableName: TABLE, Item: item }));
  dynamo.faults.resetCounts();
}

/** The error a command threw (fails the test when it did not throw). */
async function refusal(
  command: UpdateItemCommand | PutItemCommand | DeleteItemCommand,
): Promise<any> {
  const err = await client.send(command as UpdateItemCommand).then(
    () => new Error("the write was not refused"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConditionalCheckFailedException);
  return err;
}

/** A refused conditional UpdateItem on KEY (`status` must be "failed"). */
const refusedUpdate = (returnOnFailure?: "ALL_OLD" | "NONE") =>
  new UpdateItemCommand({
    TableName: TABLE,
    Key: KEY,
    UpdateExpression: "SET #s = :claimed",
    ConditionExpression: "#s = :failed",
    ExpressionAttributeNames: { "#s": "status" },
    ExpressionAttributeValues: { ":claimed": { S: "claimed" }, ":failed": { S: "failed" } },
    ...(returnOnFailure && { ReturnValuesOnConditionCheckFailure: returnOnFailure }),
  });

describe("ReturnValuesOnConditionCheckFailure: ALL_OLD (API reference, UpdateItem / PutItem / DeleteItem)", () => {
  it("a refused UpdateItem carries the stored item as err.Item (DynamoDB JSON), unchanged by the write", async () => {
    await store();

    const err = await refusal(refusedUpdate("ALL_OLD"));

    expect(err.Item).toEqual(STORED);
    expect(err.message).toBe("The conditional request failed");
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  it("a refused PutItem carries the stored item (key taken from Item by the table's key schema)", async () => {
    await store();
    const err = await refusal(
      new PutItemCommand({
        TableName: TABLE,
        Item: { ...KEY, status: { S: "new" } },
        ConditionExpression: "attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    expect(err.Item).toEqual(STORED);

    // Another table, another key schema: hash key `id` only.
    const other = { id: { S: "only" }, v: { N: "1" } };
    await client.send(new PutItemCommand({ TableName: HASH_ONLY, Item: other }));
    const err2 = await refusal(
      new PutItemCommand({
        TableName: HASH_ONLY,
        Item: { id: { S: "only" }, v: { N: "2" } },
        ConditionExpression: "attribute_not_exists(id)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    expect(err2.Item).toEqual(other);
  });

  it("a refused DeleteItem carries the stored item, which stays", async () => {
    await store();
    const err = await refusal(
      new DeleteItemCommand({
        TableName: TABLE,
        Key: KEY,
        ConditionExpression: "attempts > :n",
        ExpressionAttributeValues: { ":n": { N: "5" } },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    expect(err.Item).toEqual(STORED);
    const got = await client.send(new GetItemCommand({ TableName: TABLE, Key: KEY }));
    expect(got.Item).toEqual(STORED);
  });

  it("without the parameter, or with NONE, the refusal carries no Item (the default is NONE)", async () => {
    await store();

    const without = await refusal(refusedUpdate());
    const none = await refusal(refusedUpdate("NONE"));

    expect(without.Item).toBeUndefined();
    expect(none.Item).toBeUndefined();
  });

  it("a write refused on a MISSING item (attribute_exists) carries no Item: there is no item that caused it", async () => {
    const err = await refusal(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: "CLAIM#missing" }, sk: { S: "1" } },
        UpdateExpression: "SET #s = :s",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: { ":s": { S: "sent" } },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    expect(err.Item).toBeUndefined();
    const got = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: "CLAIM#missing" }, sk: { S: "1" } } }),
    );
    expect(got.Item).toBeUndefined();
  });

  it("an invalid value is a ValidationException (valid: ALL_OLD | NONE) and writes nothing", async () => {
    await store();
    const err = await client.send(refusedUpdate("ALL_NEW" as "ALL_OLD")).then(
      () => undefined,
      (e: unknown) => e as any,
    );
    expect(err?.name).toBe("ValidationException");
    expect(err?.message).toContain("returnValuesOnConditionCheckFailure");
    expect(err?.message).toContain("[ALL_OLD, NONE]");
    const got = await client.send(new GetItemCommand({ TableName: TABLE, Key: KEY }));
    expect(got.Item).toEqual(STORED);
  });

  it("is ONE client call: the proxy's counter sees the write only (no GetItem), billed as a refused write (1 WRU, no RCU)", async () => {
    await store();

    const err = await refusal(refusedUpdate("ALL_OLD"));

    expect(err.Item).toEqual(STORED);
    expect(dynamo.faults.counts).toEqual({ UpdateItem: { calls: 1, throttled: 0, units: 1 } });
  });

  it("the internal read is never throttled: with every GetItem throttled the refusal still carries the item", async () => {
    await store();
    dynamo.faults.setThrottling({ fraction: 1, operations: ["GetItem"] });

    const err = await refusal(refusedUpdate("ALL_OLD"));

    expect(err.Item).toEqual(STORED);
    expect(dynamo.faults.counts.GetItem).toBeUndefined();
  });
});

describe("the handlers' claims use it: no GetItem after a refused claim", () => {
  it("a refused delivery claim (store/ledger.ts claimDelivery via claimOrRead) is one UpdateItem, no GetItem", async () => {
    const { claimDelivery } = await import("../../handlers/store/ledger");
    const ref = {
      pipeline: "return-on-condition",
      eventTime: "2026-11-30T16:00:00Z",
      notificationId: "n-1",
      slot: "slack-eng",
      channel: "slack-eng",
      executionId: "e-1",
      eventId: "ev-1",
    };
    const now = Date.now();
    const first = await claimDelivery(ref, now + 60_000, 30, now);
    expect(first).toMatchObject({ claimed: true, attempts: 1 });
    dynamo.faults.resetCounts();

    // A concurrent duplicate: the live lease refuses it.
    const second = await claimDelivery(ref, now + 60_000, 30, now);

    expect(second).toEqual({ claimed: false, status: "sending" });
    // Before: UpdateItem 1 + a consistent GetItem 1 (dynalite ignored ALL_OLD).
    expect(Object.keys(dynamo.faults.counts)).toEqual(["UpdateItem"]);
    expect(dynamo.faults.counts.UpdateItem.calls).toBe(1);
  });

  it("a refused outcome claim (PutItem, store/outcome.ts claimOutcome) learns the owner with no GetItem", async () => {
    const { claimOutcome } = await import("../../handlers/store/outcome");
    await claimOutcome("return-on-condition", "e-2", "FAILED", "n-first", 30);
    dynamo.faults.resetCounts();

    const owner = await claimOutcome("return-on-condition", "e-2", "FAILED", "n-second", 30);

    expect(owner).toBe("n-first");
    expect(dynamo.faults.counts).toEqual({ PutItem: { calls: 1, throttled: 0, units: 1 } });
  });

  it("a spent grouping window is known after ONE refused pacing call, not two (store/pacing.ts)", async () => {
    const { reserveSlot } = await import("../../handlers/store/pacing");
    const t = Date.now();
    const allowance = { windowStart: t - (t % 60_000), windowMs: 60_000, max: 1 };
    const bucket = { intervalMs: 10_000, burst: 1 };
    const first = await reserveSlot("roc-pace", bucket, () => t, allowance);
    expect(first.grouped).toBeUndefined();
    dynamo.faults.resetCounts();

    const second = await reserveSlot("roc-pace", bucket, () => t, allowance);

    // Without the item in the refusal: idle form refused, busy form refused too → 2 calls.
    expect(second).toEqual({ at: t, calls: 1, grouped: true });
    expect(dynamo.faults.counts.UpdateItem.calls).toBe(1);
  });
});

/**
 * The item is part of the write's answer (API reference: requested on the PutItem / UpdateItem /
 * DeleteItem, "No read capacity units are consumed"); no AWS document we found makes it depend on
 * `dynamodb:GetItem`, so the stand-in's own read is not an IAM-checked call of the caller.
 */
describe("under IAM (testing/iam/enforce.ts): the proxy's own read is not the caller's call", () => {
  const ACCOUNT = "123456789012";
  const FN = "writer-fn";
  const IAM_TABLE = "return-on-condition-iam";
  const TABLE_ARN = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${IAM_TABLE}`;
  let guarded: Dynalite;
  let writer: DynamoDBClient;
  const iam = createIamEnforcer();

  beforeAll(async () => {
    guarded = await startDynalite({ iam });
    await createAuditTable(guarded.endpoint, IAM_TABLE);
    // A role that may write, not read.
    const declared: DeclaredIam = {
      region: "us-east-1",
      account: ACCOUNT,
      roles: {
        [FN]: {
          functionName: FN,
          roleName: "writer-role",
          roleArn: `arn:aws:iam::${ACCOUNT}:role/writer-role`,
          policies: [
            {
              Version: "2012-10-17",
              Statement: [
                {
                  Sid: "WriteOnly",
                  Effect: "Allow",
                  Action: ["dynamodb:PutItem", "dynamodb:UpdateItem"],
                  Resource: [TABLE_ARN],
                },
              ],
            },
          ],
        },
      },
      tables: { [IAM_TABLE]: { arn: TABLE_ARN, hashKey: "pk", indexes: {} } },
      resourcePolicies: {},
      topicKeys: {},
    };
    iam.load(declared);
    writer = new DynamoDBClient({
      endpoint: guarded.endpoint,
      region: "us-east-1",
      maxAttempts: 1,
      credentials: { accessKeyId: iam.envFor(FN).AWS_ACCESS_KEY_ID, secretAccessKey: "x" },
    });
  });
  afterAll(async () => {
    writer?.destroy();
    await guarded?.close();
  });

  it("a write-only role gets err.Item; the proxy's internal read is neither authorized nor counted", async () => {
    await writer.send(new PutItemCommand({ TableName: IAM_TABLE, Item: STORED }));
    const denied = await writer.send(new GetItemCommand({ TableName: IAM_TABLE, Key: KEY })).then(
      () => undefined,
      (e: unknown) => e as { name?: string },
    );
    expect(denied?.name).toBe("AccessDeniedException");
    guarded.faults.resetCounts();
    const decisionsBefore = iam.decisions.length;

    const err = await writer
      .send(new UpdateItemCommand({ ...refusedUpdate("ALL_OLD").input, TableName: IAM_TABLE }))
      .then(
        () => undefined,
        (e: unknown) => e as any,
      );

    expect(err?.name).toBe("ConditionalCheckFailedException");
    expect(err?.Item).toEqual(STORED);
    expect(iam.decisions.slice(decisionsBefore).map((d) => d.action)).toEqual([
      "dynamodb:UpdateItem",
    ]);
    expect(Object.keys(guarded.faults.counts)).toEqual(["UpdateItem"]);
  });
});
