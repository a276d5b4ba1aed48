/**
 * The delivery record (ledger item and audit record in one, issue 12): its key format, which
 * IAM's item kinds it falls under, and the bounded retries of its mark writes.
 */
import { ITEM_KINDS } from "../../infra/grants";
import { deliveryPartition, deliveryRecordKey, resolveSlot } from "../../handlers/store/keys";
import { writeWithRetries } from "../../handlers/store/marks";

/** IAM `StringLike`: `*` matches any run of characters (IAM user guide, condition operators). */
function like(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${re}$`).test(value);
}

function named(name: string, message = name): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

describe("the delivery record's key", () => {
  it("files a delivery under its pipeline, by the event's own time, then notification and slot", () => {
    expect(deliveryPartition("api-prod")).toBe("DELIVERY#PIPELINE#api-prod");
    expect(deliveryRecordKey("api-prod", "2024-11-18T14:18:52Z", "n-1", "slack-eng")).toEqual({
      pk: "DELIVERY#PIPELINE#api-prod",
      sk: "2024-11-18T14:18:52Z#n-1#slack-eng",
    });
    expect(
      deliveryRecordKey("api-prod", "2024-11-18T14:18:52Z", "n-1", resolveSlot("pd", "k")),
    ).toEqual({
      pk: "DELIVERY#PIPELINE#api-prod",
      sk: "2024-11-18T14:18:52Z#n-1#pd/resolve/k",
    });
  });

  it("is a DELIVERY# item for IAM (claims and marks may update it), never an audit PIPELINE# item", () => {
    const { pk } = deliveryRecordKey("api-prod", "2024-11-18T14:18:52Z", "n-1", "slack-eng");

    expect(like(ITEM_KINDS.delivery, pk)).toBe(true);
    // The append-only audit records' pattern must not match: UpdateItem there stays denied.
    expect(like(ITEM_KINDS.audit, pk)).toBe(false);
  });
});

describe("writeWithRetries (the mark-sent and mark-failed writes)", () => {
  const noSleep = () => Promise.resolve();
  const future = () => Date.now() + 60_000;

  it("retries DynamoDB throttling (ProvisionedThroughputExceededException, ThrottlingException)", async () => {
    const errors = [named("ProvisionedThroughputExceededException"), named("ThrottlingException")];
    let calls = 0;

    await writeWithRetries(
      async () => {
        calls++;
        const err = errors.shift();
        if (err) throw err;
      },
      future(),
      noSleep,
    );

    expect(calls).toBe(3);
  });

  it("does not repeat what a retry cannot fix: a failed condition, an invalid request", async () => {
    for (const name of ["ConditionalCheckFailedException", "ValidationException"]) {
      let calls = 0;
      const write = async () => {
        calls++;
        throw named(name);
      };

      await expect(writeWithRetries(write, future(), noSleep)).rejects.toThrow(name);
      expect(calls).toBe(1);
    }
  });

  it("gives up after 5 attempts, and never waits past the deadline", async () => {
    let calls = 0;
    const write = async () => {
      calls++;
      throw named("ThrottlingException");
    };

    await expect(writeWithRetries(write, future(), noSleep)).rejects.toThrow("Throttling");
    expect(calls).toBe(5);

    calls = 0;
    const waits: number[] = [];
    await expect(
      writeWithRetries(write, Date.now() - 1, async (ms) => {
        waits.push(ms);
      }),
    ).rejects.toThrow("Throttling");
    expect({ calls, waits }).toEqual({ calls: 1, waits: [] });
  });
});
