/**
 * Red team (issue 11/12 review): a delivery claim whose reply is lost must not be mistaken for
 * someone else's. The DynamoDB client retries a request that timed out or whose connection was
 * reset (`maxAttempts: 3`, handlers/aws.ts; the AWS SDK retries TimeoutError and connection
 * resets as transient), but an UpdateItem is not idempotent under its condition: when the first
 * attempt was applied and only its answer was lost, the retry's condition
 * (`attribute_not_exists(pk) OR … OR (status = sending AND leaseUntil < now)`) fails against the
 * item the first attempt wrote — a live `sending` lease that is this very claim's. Seen in the
 * sandbox (`npm start -- --stack multi-account`, 30 FAILED events at once on a busy machine):
 * the record was audited "deduplicated: already sending", deleted from the queue, and its slot
 * stayed `sending` for ever: a notification lost. Here the lost reply is modelled at the client:
 * the mock applies the UpdateItem's SET clauses to the stored item (as DynamoDB did) and then
 * answers like the SDK's retry does, with ConditionalCheckFailedException carrying that item
 * (ReturnValuesOnConditionCheckFailure ALL_OLD; API reference, UpdateItem).
 */
import { ddb } from "../../handlers/aws";
import { claimDelivery, type DeliveryRef } from "../../handlers/store/ledger";

beforeAll(() => {
  process.env.AUDIT_TABLE ??= "audit-test";
});
afterEach(() => jest.restoreAllMocks());

const REF: DeliveryRef = {
  pipeline: "web-svc17",
  eventTime: "2026-11-30T11:07:22Z",
  notificationId: "n-17",
  slot: "slack-eng",
  channel: "slack-eng",
  executionId: "e-17",
  eventId: "ev-17",
};

/** The item an UpdateItem's `SET #a = :b, …` (and `ADD #n :v`) leaves, in attribute-value form. */
function applied(input: any): Record<string, unknown> {
  const names = input.ExpressionAttributeNames ?? {};
  const values = input.ExpressionAttributeValues ?? {};
  const item: Record<string, unknown> = {
    pk: { S: input.Key.pk },
    sk: { S: input.Key.sk },
  };
  const set = String(input.UpdateExpression).split(/\bADD\b/)[0];
  for (const m of set.matchAll(/(#\w+)\s*=\s*(:\w+)/g)) {
    const v = values[m[2]];
    item[names[m[1]]] = typeof v === "number" ? { N: String(v) } : { S: String(v) };
  }
  const add = String(input.UpdateExpression).split(/\bADD\b/)[1];
  for (const m of (add ?? "").matchAll(/(#\w+)\s+(:\w+)/g)) {
    item[names[m[1]]] = { N: String(values[m[2]]) };
  }
  return item;
}

function conditionFailed(item: Record<string, unknown>): Error {
  const err = new Error("The conditional request failed") as Error & Record<string, unknown>;
  err.name = "ConditionalCheckFailedException";
  err.$fault = "client";
  err.Item = item;
  return err;
}

describe("claimDelivery when DynamoDB applied the claim but its reply was lost", () => {
  it("recognizes its own claim (not 'already sending' by another invocation): the notification is sent, flagged as possibly repeated", async () => {
    jest.spyOn(ddb(), "send").mockImplementation((async (cmd: any) => {
      // The SDK's retry of the applied UpdateItem: the condition fails against our own write.
      throw conditionFailed(applied(cmd.input));
    }) as any);

    const now = Date.now();
    const claim = await claimDelivery(REF, now + 60_000, 30, now);

    expect(claim).toMatchObject({ claimed: true, unconfirmed: true });
  });

  it("still refuses a slot that another invocation holds under a live lease", async () => {
    const now = Date.now();
    jest.spyOn(ddb(), "send").mockImplementation((async (cmd: any) => {
      const other = applied(cmd.input);
      for (const k of Object.keys(other)) {
        if (!["pk", "sk", "status", "leaseUntil"].includes(k)) delete other[k];
      }
      throw conditionFailed(other);
    }) as any);

    const claim = await claimDelivery(REF, now + 60_000, 30, now);

    expect(claim).toMatchObject({ claimed: false, status: "sending" });
  });
});
