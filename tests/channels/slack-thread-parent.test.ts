/**
 * Slack bot mode (issue 11: one thread per execution): the parent message is posted, and then
 * recording it as the thread's parent fails (DynamoDB throttles the write past the SDK's 3
 * attempts; injected on the wire by the proxy in front of dynalite, testing/dynamo-faults.ts, as
 * DynamoDB answers it). Slack has the message, so the delivery succeeded: before round 8 the
 * error failed it, and the redelivery posted a second parent, recorded as a clean send (red team).
 */
import { randomUUID } from "node:crypto";
import { addDeployFailure, event, startSlackBotWorld, type FanoutWorld } from "../support/fanout";

const CHANNEL_ID = "C0ENGTHREAD";
let world: FanoutWorld;

beforeAll(async () => {
  world = await startSlackBotWorld(CHANNEL_ID);
}, 60_000);
afterAll(() => world.close());
afterEach(() => jest.restoreAllMocks());

it("a parent posted but not recorded is still one delivered message: no second parent on a redelivery", async () => {
  const executionId = randomUUID();
  addDeployFailure(world.standins.aws, executionId);
  // The parent's `ts` write (store/threads.ts setParent): throttled on all 3 SDK attempts.
  const faults = world.standins.dynamo.faults;
  const decide = faults.decide.bind(faults);
  let throttled = 0;
  jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
    const verdict = decide(op, body);
    if (
      op === "UpdateItem" &&
      body.includes("THREAD#") &&
      body.includes('":ts"') &&
      throttled < 3
    ) {
      throttled++;
      return "ThrottlingException";
    }
    return verdict;
  });

  const left = await world.drain([event("pipeline-failed", { "execution-id": executionId })]);

  expect(throttled).toBe(3);
  expect(left).toEqual([]);
  const posted = world.standins.receivers
    .byReceiver("slack-api")
    .filter((d) => d.name === "chat.postMessage");
  expect(posted).toHaveLength(1);
  const record = (await world.items()).find(
    (i) =>
      i.executionId === executionId &&
      i.channel === "slack-eng" &&
      String(i.pk).startsWith("DELIVERY#"),
  );
  expect(record).toMatchObject({ status: "sent", ambiguous: false, attempts: 1 });
});
