/**
 * A DLQ reason even when the Lambda itself dies on the fan-out's last receive (issue 12). The
 * events queue's `maxReceiveCount` is one higher than the fan-out's own last receive
 * (infra/settings.ts: 5 vs `MAX_RECEIVE_COUNT` 4), so SQS's native redrive — which moves a
 * message "when the ReceiveCount for a message exceeds the maxReceiveCount" and attaches no
 * reason (SQS developer guide, "Using dead-letter queues") — never runs first: the extra receive
 * only happens after a receive that ended without a result, and the fan-out parks it at once.
 *
 * The queue is the local one with the declared semantics (testing/queue.ts: partial batch
 * responses, redelivery with ApproximateReceiveCount + 1, redrive past maxReceiveCount); a
 * "crash" is an invocation that returns no batch response at all (Lambda's timeout or an
 * out-of-memory kill: the event source mapping counts every record of the batch as failed).
 */
import { randomUUID } from "node:crypto";
import type { SQSEvent } from "aws-lambda";
import { NO_RESULT_REASON } from "../../handlers/fanout/dead-letter";
import { SETTINGS } from "../../infra/settings";
import { createQueue, type BatchOutcome } from "../../testing/queue";
import { event, lambdaContext, startFanoutWorld, type FanoutWorld } from "../support/fanout";

let world: FanoutWorld;

beforeAll(async () => {
  world = await startFanoutWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());
afterEach(() => world.standins.receivers.setFault("slack", null));

const dlq = () => world.standins.aws.state.sqs.sent;

test("settings: the queue redrives one receive after the fan-out's last (1 delivery + 3 retries stays the promise)", () => {
  expect(SETTINGS.fanoutLastReceive).toBe(4);
  expect(SETTINGS.maxReceiveCount).toBe(SETTINGS.fanoutLastReceive + 1);
  // The tests' world gives the handler the fan-out's last receive, as infra/notifier.ts does.
  expect(process.env.MAX_RECEIVE_COUNT).toBe(String(SETTINGS.fanoutLastReceive));
});

/**
 * Plays the declared queue in front of the handler; `crashOn` receives return no result (the
 * function died), the others run the real handler. Resolves with the message's history.
 */
async function playQueue(crashOn: number[]) {
  const queue = createQueue({
    arn: "arn:aws:sqs:us-east-1:123456789012:events",
    region: "us-east-1",
    visibilityTimeoutMs: 20,
    maxReceiveCount: SETTINGS.maxReceiveCount,
    batchSize: SETTINGS.batchSize,
    consume: async (batch: SQSEvent): Promise<BatchOutcome> => {
      const receive = Number(batch.Records[0].attributes.ApproximateReceiveCount);
      if (crashOn.includes(receive))
        return { ok: false, error: "Task timed out after 60.00 seconds" };
      const out = await world.handler(batch, lambdaContext(30_000));
      return { ok: true, batchItemFailures: out?.batchItemFailures ?? [] };
    },
  });
  try {
    const ev = event(
      "pipeline-failed",
      { pipeline: "main-app-production-v3", "execution-id": randomUUID() },
      { id: randomUUID() },
    );
    const message = queue.send(JSON.stringify(ev));
    const state = await queue.settled(message.messageId);
    return { state, message };
  } finally {
    queue.close();
  }
}

test("the Lambda dies on the fan-out's last receive: the extra receive parks the event in the DLQ at once, with the reason", async () => {
  // Slack fails on every receive, so receives 1–3 are retried; receive 4 crashes.
  world.standins.receivers.setFault("slack", { status: 503 });
  const { state, message } = await playQueue([4]);
  // The fan-out dead-lettered it and reported it processed: SQS deletes it, no native redrive.
  expect(state).toBe("deleted");
  expect(message.receives).toHaveLength(SETTINGS.maxReceiveCount);
  expect(dlq()).toHaveLength(1);
  expect(dlq()[0].attributes.reason).toBe(NO_RESULT_REASON);
  expect(dlq()[0].attributes.receiveCount).toBe(String(SETTINGS.maxReceiveCount));
  // Not processed again on the extra receive: Slack saw receives 1–3 only (3 attempts each).
  const slackAttempts = world.standins.receivers.attemptsOf("slack").length;
  expect(slackAttempts).toBe(3 * (SETTINGS.fanoutLastReceive - 1));
});

test("without a crash the fan-out's own last receive (4) parks it with the channel's reason; the extra receive never happens", async () => {
  world.standins.receivers.setFault("slack", { status: 503 });
  const { state, message } = await playQueue([]);
  expect(state).toBe("deleted");
  expect(message.receives).toHaveLength(SETTINGS.fanoutLastReceive);
  expect(dlq()).toHaveLength(1);
  expect(dlq()[0].attributes.reason).toMatch(/^slack-eng: .*503/);
});
