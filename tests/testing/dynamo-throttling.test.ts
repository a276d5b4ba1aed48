/**
 * DynamoDB throttling in the proxy in front of dynalite (testing/dynamo-faults.ts), as DynamoDB
 * answers it (developer guide, "Error handling with DynamoDB"): HTTP 400 with
 * `ProvisionedThroughputExceededException` or `ThrottlingException`, both retryable — so the AWS
 * SDK retries them by itself and only throws once its attempts are used up.
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { startDynalite, type Dynalite } from "../../testing/dynamo";

let dynamo: Dynalite;
const TABLE = "throttled";

const clientFor = (maxAttempts: number) =>
  new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: "us-east-1",
    maxAttempts,
    credentials: { accessKeyId: "standin", secretAccessKey: "standin" },
  });

beforeAll(async () => {
  dynamo = await startDynalite();
  const client = clientFor(1);
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
    }),
  );
  client.destroy();
});
afterEach(() => {
  dynamo.faults.setThrottling(null);
  dynamo.faults.resetCounts();
});
afterAll(() => dynamo.close());

const get = (client: DynamoDBClient, pk: string) =>
  client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } } }));

describe("DynamoDB throttling", () => {
  it.each(["ProvisionedThroughputExceededException", "ThrottlingException"] as const)(
    "answers %s with HTTP 400, which the SDK retries by itself (retryable)",
    async (code) => {
      // Prepare: every call throttled; the SDK may try twice
      dynamo.faults.setThrottling({ fraction: 1, code });
      const client = clientFor(2);

      // Act
      const error = await get(client, "a").catch((e: unknown) => e);
      client.destroy();

      // Assess: the error is DynamoDB's, and the SDK retried it (a non-retryable one: 1 call)
      expect(error).toMatchObject({ name: code, $metadata: { httpStatusCode: 400, attempts: 2 } });
      expect(dynamo.faults.counts.GetItem).toEqual({ calls: 2, throttled: 2, units: 0 });
    },
  );

  it("the SDK's own retries get through a partial throttling (default 3 attempts)", async () => {
    // Prepare: the first call throttled, then the retry lets through (seed chosen for this)
    dynamo.faults.setThrottling({ fraction: 0.5, seed: 3 });
    const client = clientFor(3);

    // Act
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => get(client, `k${i}`)),
    );
    client.destroy();

    // Assess: more calls than requests (the retries), throttled ones included
    const count = dynamo.faults.counts.GetItem;
    expect(count.throttled).toBeGreaterThan(0);
    expect(count.calls).toBe(
      20 + count.throttled - results.filter((r) => r.status === "rejected").length,
    );
  });

  it("is deterministic under a seed and limited to the operations named", async () => {
    // Prepare
    const client = clientFor(1);
    const pattern = async (seed: number) => {
      dynamo.faults.setThrottling({ fraction: 0.3, seed, operations: ["PutItem"] });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 40; i++) {
        const put = new PutItemCommand({ TableName: TABLE, Item: { pk: { S: `p${i}` } } });
        outcomes.push(
          await client.send(put).then(
            () => true,
            () => false,
          ),
        );
        await get(client, `p${i}`); // never throttled: not a named operation
      }
      return outcomes;
    };

    // Act
    const a = await pattern(11);
    const b = await pattern(11);
    client.destroy();

    // Assess
    expect(a).toEqual(b);
    expect(a.filter((ok) => !ok).length).toBeGreaterThan(4);
    expect(dynamo.faults.counts.GetItem.throttled).toBe(0);
    expect(dynamo.faults.counts.PutItem.throttled).toBe(2 * a.filter((ok) => !ok).length);
  });

  it("refuses a fraction outside 0..1, naming it", () => {
    expect(() => dynamo.faults.setThrottling({ fraction: -0.1 })).toThrow(/fraction/);
  });
});

describe("write units, billed as DynamoDB bills them", () => {
  // Developer guide, "Read/write capacity mode": a write is ceil(size / 1 KB) units of the larger
  // of the item before and after; "Global secondary indexes": each write that puts, updates or
  // removes an item of the index is one more write of the projected item (here the index key
  // is `gsi1pk`, as the proxy counts for the audit table).
  const units = (op: string) => dynamo.faults.counts[op]?.units ?? 0;
  const big = "x".repeat(2500); // with its name and key: 3 KB

  it("a 2.5 KB item with the index key: 3 table + 3 index units; its update and delete too", async () => {
    const client = clientFor(1);
    await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: "big" }, gsi1pk: { S: "EXEC#1" }, body: { S: big } },
      }),
    );
    // The update does not name the index key: the item is in the index all the same.
    const updated = await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: "big" } },
        UpdateExpression: "SET #s = :s",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: { ":s": { S: "sent" } },
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: "big" } } }));
    client.destroy();

    expect(units("PutItem")).toBe(6);
    expect(units("UpdateItem")).toBe(6);
    expect(units("DeleteItem")).toBe(6);
    // The caller did not ask for ConsumedCapacity, so it gets none, as from DynamoDB.
    expect(updated.ConsumedCapacity).toBeUndefined();
  });

  it("a small item outside the index: 1 unit; a failed condition is billed too", async () => {
    const client = clientFor(1);
    const put = () =>
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: "small" } },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
    const first = await put();
    const second = await put().catch((e: unknown) => e);
    client.destroy();

    expect(first.ConsumedCapacity).toMatchObject({ CapacityUnits: 1 });
    expect(second).toMatchObject({ name: "ConditionalCheckFailedException" });
    expect(units("PutItem")).toBe(2);
  });
});
