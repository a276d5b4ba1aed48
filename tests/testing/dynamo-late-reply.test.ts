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
    // The first "slow" request's answer is held half a minute; the requests after it are
    // answered while it is still held. An order, not a duration: a loaded machine slows every
    // answer, it does not hold one back past another.
    dynamo.faults.setLateReply({ operation: "PutItem", match: "slow", delayMs: 30_000 });
    const gaveUp = new AbortController();
    const held = put("slow-1", gaveUp.signal).then(
      () => "slow-1 answered",
      (e: unknown) => e,
    );
    while (!(await exists("slow-1"))) await new Promise((r) => setTimeout(r, 10));
    const answered = (pk: string) => Promise.race([put(pk).then(() => `${pk} answered`), held]);

    // Not matching, then matching once the late reply was used: both answered before slow-1.
    expect(await answered("fast")).toBe("fast answered");
    expect(await answered("slow-2")).toBe("slow-2 answered");
    gaveUp.abort();
    expect(await held).toMatchObject({ name: "AbortError" });
  });
});
