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
  PutItemCommand,
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
