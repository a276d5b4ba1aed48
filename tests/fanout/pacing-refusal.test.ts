/**
 * A refused reservation says why (issue 12, fewer calls): every pacing UpdateItem asks for
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD` (DynamoDB API reference, UpdateItem: "Use
 * ReturnValuesOnConditionCheckFailure to get the item attributes if the UpdateItem condition
 * fails … valid values are: NONE and ALL_OLD"; the SDK's ConditionalCheckFailedException carries
 * them as `Item`). Against real dynalite behind the local DynamoDB's proxy, which answers the
 * parameter as DynamoDB does (testing/dynamo-return-on-condition.ts; dynalite alone ignores it)
 * and throttles on the wire as DynamoDB does (testing/dynamo-faults.ts: HTTP 400
 * `ThrottlingException`, "Rate of requests exceeds the allowed throughput.", not applied). The
 * pacing calls are counted on the wire.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { paceDelivery } from "../../handlers/fanout/pace";
import { reserveSlot, windowAttribute } from "../../handlers/store/pacing";
import { usePaceTable } from "../support/pace-table";

const TABLE = "pacing-refusal-test";
const T0 = 1_800_000_000_000;
const bucket = { intervalMs: 100, burst: 2 };
const allowance = { windowStart: T0 - (T0 % 60_000), windowMs: 60_000, max: 3 };

const world = usePaceTable(TABLE);

/** Writes the pace item of `channel` as another invocation would have left it. */
async function paceItem(
  channel: string,
  attributes: Record<string, number | Set<string>>,
): Promise<void> {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: world.dynamo.endpoint, region: "us-east-1" }),
  );
  await doc.send(
    new PutCommand({
      TableName: TABLE,
      Item: { pk: `PACE#${channel}`, sk: "PACE", ...attributes },
    }),
  );
  doc.destroy();
}

/** The pace item of `channel` as the table holds it now. */
async function readPaceItem(channel: string): Promise<Record<string, unknown> | undefined> {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: world.dynamo.endpoint, region: "us-east-1" }),
  );
  const out = await doc.send(
    new GetCommand({ TableName: TABLE, Key: { pk: `PACE#${channel}`, sk: "PACE" } }),
  );
  doc.destroy();
  return out.Item;
}

/**
 * The pacing UpdateItems of `channel` the local DynamoDB receives, in order (their update
 * expressions); the first `throttled` of them are answered with DynamoDB's `ThrottlingException`.
 */
function paceCalls(channel: string, throttled = 0): string[] {
  const faults = world.dynamo.faults;
  const decide = faults.decide.bind(faults);
  const sent: string[] = [];
  jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
    const verdict = decide(op, body);
    if (op !== "UpdateItem" || !body.includes(`"PACE#${channel}"`)) return verdict;
    sent.push(String(JSON.parse(body).UpdateExpression));
    return sent.length <= throttled ? "ThrottlingException" : verdict;
  });
  return sent;
}

describe("a refused pacing call that returns the item", () => {
  it("groups after ONE call when the window's count is at its maximum (no second, refused call)", async () => {
    // The window's set of individual messages (store/pacing.ts `windowAttribute`) is full.
    const full = new Set(["n-1", "n-2", "n-3"]);
    await paceItem("s", { tat: T0 + 500, [windowAttribute(allowance.windowStart)]: full });
    const sent = paceCalls("s");
    const slot = await reserveSlot("s", bucket, () => T0, allowance, T0 + 1);
    expect(slot).toEqual({ at: T0, calls: 1, grouped: true });
    expect(sent).toHaveLength(1);
    // …and the invocation's later notifications of that window cost no call at all.
    expect(await reserveSlot("s", bucket, () => T0, allowance, T0 + 1)).toEqual({
      at: T0,
      calls: 0,
      grouped: true,
    });
    expect(sent).toHaveLength(1);
  });

  it("counts a repeated reservation once: its member already in a full window gets a slot, not the digest", async () => {
    // Its first try was applied and its reply lost (the SDK timed out and sent it again): the
    // window holds it. Before the sets, a count took it twice and grouped it.
    const start = allowance.windowStart;
    const full = new Set(["n-1", "n-2", "n-3"]);
    await paceItem("r", { tat: T0 + 500, [windowAttribute(start)]: full, [`g${start}`]: 3 });
    const sent = paceCalls("r");
    const repeat = { ...allowance, member: "n-2" };

    const slot = await reserveSlot("r", bucket, () => T0, repeat, T0 + 3);

    expect(slot.grouped).toBeUndefined();
    expect(slot.at).toBeGreaterThanOrEqual(T0);
    const item = await readPaceItem("r");
    expect(item?.[windowAttribute(start)]).toEqual(full);
    // The count of the format before the sets is removed.
    expect(item).not.toHaveProperty(`g${start}`);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    // Another notification is still refused: the window is full.
    const other = await reserveSlot("r", bucket, () => T0, { ...allowance, member: "n-4" });
    expect(other.grouped).toBe(true);
  });

  it("goes on with the busy form when the idle one was refused by a later `tat`, and the slot follows the GCRA", async () => {
    await paceItem("b", { tat: T0 + 300 });
    const sent = paceCalls("b");
    const slot = await reserveSlot("b", bucket, () => T0, undefined, T0 + 2);
    // τ = T·(burst − 1) = 100: the slot is tat_old − τ = T0 + 200.
    expect(slot).toEqual({ at: T0 + 200, calls: 2 });
    expect(sent[0]).toMatch(/SET tat = :next/);
    expect(sent[1]).toMatch(/SET tat = tat \+ :T/);
  });
});

describe("a throttled pacing call (issue 12: DynamoDB throttling alone never fails a delivery)", () => {
  it("is tried again within the deadline, and the delivery goes", async () => {
    // The SDK's own attempts (3) are all throttled: the reservation is tried again by the fan-out.
    const sent = paceCalls("slack-t", 3);
    const decision = await paceDelivery("slack-t", "slack", Date.now() + 60_000);
    expect(decision).toEqual({ kind: "send", waitMs: 0 });
    expect(sent).toHaveLength(4);
  });

  it("is thrown once the deadline leaves no room for another try (the claim is then released)", async () => {
    paceCalls("slack-u", 1_000);
    await expect(paceDelivery("slack-u", "slack", Date.now() + 1)).rejects.toThrow(
      /allowed throughput/,
    );
  });
});
