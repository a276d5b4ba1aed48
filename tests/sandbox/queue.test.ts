/** The sandbox queue: partial batch failures, redelivery with the receive count, redrive to the DLQ. */
import { createHash } from "node:crypto";
import type { SQSRecord } from "aws-lambda";
import { createQueue, type BatchOutcome } from "../../testing";

function queueWith(consume: (records: SQSRecord[]) => BatchOutcome) {
  const seen: Array<{ body: string; count: string }> = [];
  const queue = createQueue({
    arn: "arn:aws:sqs:us-east-1:123456789012:events",
    region: "us-east-1",
    visibilityTimeoutMs: 20,
    maxReceiveCount: 4,
    batchSize: 10,
    consume: async ({ Records }) => {
      for (const r of Records)
        seen.push({ body: r.body, count: r.attributes.ApproximateReceiveCount });
      return consume(Records);
    },
  });
  return { queue, seen };
}

describe("sandbox queue", () => {
  test("only the records reported failed are redelivered, with ApproximateReceiveCount incremented", async () => {
    // Prepare: "b" fails on its first receive only.
    const { queue, seen } = queueWith((records) => ({
      ok: true,
      batchItemFailures: records
        .filter((r) => r.body === "b" && r.attributes.ApproximateReceiveCount === "1")
        .map((r) => ({ itemIdentifier: r.messageId })),
    }));

    // Act
    const a = queue.send("a");
    const b = queue.send("b");
    await queue.idle();

    // Assess
    expect(seen).toEqual([
      { body: "a", count: "1" },
      { body: "b", count: "1" },
      { body: "b", count: "2" },
    ]);
    expect([a.state, b.state]).toEqual(["deleted", "deleted"]);
    queue.close();
  });

  test("a record that keeps failing moves to the DLQ after maxReceiveCount receives", async () => {
    // Prepare: every invocation fails as a whole (the function threw).
    const { queue, seen } = queueWith(() => ({ ok: false, error: "boom" }));

    // Act
    const message = queue.send("poison");
    const state = await queue.settled(message.messageId);

    // Assess
    expect(state).toBe("dlq");
    expect(seen.map((s) => s.count)).toEqual(["1", "2", "3", "4"]);
    expect(message.receives.every((r) => r.error === "invocation failed: boom")).toBe(true);
    queue.close();
  });

  test.each([
    ["a message id that is not in the batch", "not-a-message-of-this-batch"],
    ["an empty itemIdentifier", ""],
  ])(
    "a partial batch response naming %s fails the whole batch: every record is received again (Lambda: a complete failure)",
    async (_what, itemIdentifier) => {
      // Prepare: "b" fails on its first receive, reported with a wrong identifier.
      const { queue, seen } = queueWith((records) => ({
        ok: true,
        batchItemFailures: records.some((r) => r.attributes.ApproximateReceiveCount === "1")
          ? [{ itemIdentifier }]
          : [],
      }));

      // Act
      const a = queue.send("a");
      const b = queue.send("b");
      await queue.idle();

      // Assess: not deleted as if it had succeeded; both come back.
      expect(seen).toEqual([
        { body: "a", count: "1" },
        { body: "b", count: "1" },
        { body: "a", count: "2" },
        { body: "b", count: "2" },
      ]);
      expect(a.receives[0].error).toMatch(/^invalid batch response: itemIdentifier/);
      expect([a.state, b.state]).toEqual(["deleted", "deleted"]);
      queue.close();
    },
  );

  test("records arrive in the SQS event shape", async () => {
    // Prepare
    const records: SQSRecord[] = [];
    const { queue } = queueWith((batch) => {
      records.push(...batch);
      return { ok: true, batchItemFailures: [] };
    });

    // Act
    queue.send('{"id":"e1"}');
    await queue.idle();

    // Assess
    expect(records[0]).toMatchObject({
      body: '{"id":"e1"}',
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:events",
      awsRegion: "us-east-1",
      md5OfBody: createHash("md5").update('{"id":"e1"}').digest("hex"),
    });
    queue.close();
  });
});
