/**
 * Late replies in the proxy in front of dynalite (testing/dynamo-faults.ts `DynamoLateReply`): a
 * write DynamoDB applied whose answer comes late, or never to a client that gave up — which the
 * client cannot tell from a request that never arrived (`applied: false`).
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { startDynalite, type Dynalite } from "../../testing/dynamo";

let dynamo: Dynalite;
let client: DynamoDBClient;
const TABLE = "late";

beforeAll(async () => {
  dynamo = await startDynalite();
  client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: "us-east-1",
    maxAttempts: 1,
    credentials: { accessKeyId: "standin", secretAccessKey: "standin" },
  });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
    }),
  );
});
afterEach(() => dynamo.faults.setLateReply(null));
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});

const put = (pk: string, signal?: AbortSignal) =>
  client.send(
    new PutItemCommand({ TableName: TABLE, Item: { pk: { S: pk } } }),
    signal ? { abortSignal: signal } : {},
  );
const exists = async (pk: string) =>
  (await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } } }))).Item !==
  undefined;

describe("a late reply", () => {
  it("applies the write at once and answers it after the delay", async () => {
    dynamo.faults.setLateReply({ operation: "PutItem", delayMs: 400 });
    const t0 = Date.now();
    await put("waited");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    expect(await exists("waited")).toBe(true);
  });

  it("leaves the write applied when the client gave up first", async () => {
    dynamo.faults.setLateReply({ operation: "PutItem", match: "gave-up", delayMs: 1000 });
    const err = await put("gave-up", AbortSignal.timeout(200)).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "AbortError" });
    expect(await exists("gave-up")).toBe(true);
  });

  it("with applied: false, drops the request: the client cannot tell, nothing is written", async () => {
    dynamo.faults.setLateReply({ operation: "PutItem", delayMs: 1000, applied: false });
    const err = await put("lost", AbortSignal.timeout(200)).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "AbortError" });
    expect(await exists("lost")).toBe(false);
  });

  it("applies to the matching requests only, `times` of them (default 1)", async () => {
    dynamo.faults.setLateReply({ operation: "PutItem", match: "slow", delayMs: 400 });
    const timed = async (pk: string) => {
      const t0 = Date.now();
      await put(pk);
      return Date.now() - t0;
    };
    expect(await timed("fast")).toBeLessThan(300);
    expect(await timed("slow-1")).toBeGreaterThanOrEqual(390);
    expect(await timed("slow-2")).toBeLessThan(300);
  });
});
