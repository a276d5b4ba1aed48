/**
 * Record-level claims under DynamoDB throttling (issue 12; store/claim.ts `claimOrRead`, which
 * every claim goes through: the delivery claim, the outcome claim, the decision claims). The
 * throttling is injected on the wire by the DynamoDB proxy in front of dynalite
 * (testing/dynamo-faults.ts), as DynamoDB answers it (developer guide, "Error handling with
 * DynamoDB": HTTP 400 `ProvisionedThroughputExceededException` / `ThrottlingException`, both
 * retryable), so the SDK's own 3 attempts (handlers/aws.ts `maxAttempts: 3`) run first and the
 * product sees the error only after them.
 *
 * Before the fix a claim throttled past the SDK's attempts threw: the record went back to SQS
 * (and on its last receive to the DLQ: the chaos bench's "DynamoDB: ThrottlingException" reasons),
 * although a retry a moment later would have delivered it.
 */
import { randomUUID } from "node:crypto";
import { ddb } from "../../handlers/aws";
import { claimOrRead } from "../../handlers/store/claim";
import { deliveryRecordKey, outcomeKey } from "../../handlers/store/keys";
import { claimDelivery, type DeliveryRef } from "../../handlers/store/ledger";
import { claimOutcome } from "../../handlers/store/outcome";
import { TABLE, startFanoutWorld, throttleCalls, type FanoutWorld } from "../support/fanout";

let world: FanoutWorld;

beforeAll(async () => {
  world = await startFanoutWorld();
});
afterAll(() => world.close());
afterEach(() => jest.restoreAllMocks());

type Code = "ProvisionedThroughputExceededException" | "ThrottlingException";

/** {@link throttleCalls} in this file's world. */
const throttle = (operation: string, marker: string, times: number, code: Code) =>
  throttleCalls(world, operation, marker, times, code);

function ref(): DeliveryRef {
  const id = randomUUID();
  return {
    pipeline: `claim-throttle-${id}`,
    eventTime: "2026-11-30T11:25:50Z",
    notificationId: `n-${id}`,
    slot: "sms-oncall",
    channel: "sms-oncall",
    executionId: `e-${id}`,
    eventId: `ev-${id}`,
  };
}

async function itemAt(key: { pk: string; sk: string }): Promise<Record<string, any> | undefined> {
  return (await world.items()).find((i) => i.pk === key.pk && i.sk === key.sk);
}

describe("claims under DynamoDB throttling", () => {
  it.each(["ProvisionedThroughputExceededException", "ThrottlingException"] as const)(
    "a delivery claim throttled past the SDK's 3 attempts (%s) is retried: claimed, a clean first attempt",
    async (code) => {
      const r = ref();
      const throttled = throttle("UpdateItem", r.pipeline, 4, code);

      const claim = await claimDelivery(r, Date.now() + 60_000, 30);

      expect(throttled()).toBe(4);
      expect(claim).toMatchObject({ claimed: true, attempts: 1, unconfirmed: false });
      const key = deliveryRecordKey(r.pipeline, r.eventTime, r.notificationId, r.slot);
      // The claim's id is the one in the item: its releases are conditioned on it.
      const claimId = claim.claimed ? claim.claimId : undefined;
      expect(await itemAt(key)).toMatchObject({ status: "sending", attempts: 1, claimId });
    },
    30_000,
  );

  it("an outcome claim (PutItem) throttled 4 times is retried: the first event owns the outcome, a later one collapses into it", async () => {
    const pipeline = `claim-throttle-${randomUUID()}`;
    const executionId = randomUUID();
    const throttled = throttle("PutItem", pipeline, 4, "ThrottlingException");

    const owner = await claimOutcome(pipeline, executionId, "FAILED", "n-first", 30);
    const second = await claimOutcome(pipeline, executionId, "FAILED", "n-second", 30);

    expect(throttled()).toBe(4);
    expect(owner).toBe("n-first");
    expect(second).toBe("n-first");
    expect(await itemAt(outcomeKey(pipeline, executionId, "FAILED", 1))).toMatchObject({
      notificationId: "n-first",
    });
  }, 30_000);

  it("a claim DynamoDB applied but whose reply was lost (then the SDK gave up) is retried and recognized as its own: claimed, flagged unconfirmed, never 'already sending'", async () => {
    // The first UpdateItem reaches dynalite and is applied; its answer never comes back (the SDK's
    // request timeout, then its retries throttled): the product sees a TimeoutError.
    const r = ref();
    const client = ddb();
    const send = client.send.bind(client);
    let lost = 0;
    jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
      const out = await (send as any)(cmd, ...rest);
      if (cmd.constructor.name === "UpdateCommand" && lost === 0) {
        lost++;
        throw Object.assign(new Error("a request has exceeded the configured requestTimeout"), {
          name: "TimeoutError",
        });
      }
      return out;
    }) as any);

    const claim = await claimDelivery(r, Date.now() + 60_000, 30);

    expect(lost).toBe(1);
    // Its own live lease: sent (flagged as a possible repeat), not dropped as another's.
    expect(claim).toMatchObject({ claimed: true, unconfirmed: true });
  }, 30_000);

  it("a claim still throttled at its deadline throws the throttling error (the record is retried by SQS)", async () => {
    const r = ref();
    throttle("UpdateItem", r.pipeline, 1_000, "ThrottlingException");
    const key = deliveryRecordKey(r.pipeline, r.eventTime, r.notificationId, r.slot);
    const started = Date.now();
    // The waits between attempts (setTimeout, as without `sleep`), observed: when each was to end.
    const waitsEndAt: number[] = [];
    const sleep = (ms: number) => {
      waitsEndAt.push(Date.now() + ms);
      return new Promise<void>((resolve) => setTimeout(resolve, ms));
    };

    const claim = claimOrRead(
      {
        kind: "update",
        TableName: TABLE,
        Key: key,
        UpdateExpression: "SET #s = :s",
        ConditionExpression: "attribute_not_exists(pk)",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: { ":s": "sending" },
      },
      { deadline: started + 1500, sleep },
    );

    await expect(claim).rejects.toMatchObject({ name: "ThrottlingException" });
    // Bounded by the deadline, not by the lease or the timeout: no wait was to end at or after it
    // (claim.ts withStoreRetries; the attempt after the last wait may take its SDK retries),
    // however long each attempt took on this machine.
    expect(waitsEndAt.filter((at) => at >= started + 1500)).toEqual([]);
    expect(await itemAt(key)).toBeUndefined();
  }, 30_000);
});
