/**
 * A delivery claim that completes at or past the invocation's deadline sends nothing (red-team
 * finding, issue 12): its retries through throttling, or one slow call, can outlast the time Lambda
 * gives the invocation, and a send started then would be cut off by Lambda stopping it (AWS Lambda
 * developer guide, "Lambda execution environment": a timed-out invocation's environment is reset).
 * The slot is given back (`failed`) and the record is retried, so the next receive delivers it.
 */
import { randomUUID } from "node:crypto";
import {
  event,
  jumpClockOnWrite,
  record,
  useFanoutWorld,
  type FanoutWorld,
} from "../support/fanout";

let world: FanoutWorld;
useFanoutWorld((w) => (world = w));
afterEach(() => jest.restoreAllMocks());

it("a slot claimed past the deadline is given back unsent, and the record is retried", async () => {
  const executionId = randomUUID();
  const ev = event(
    "pipeline-failed",
    { pipeline: "main-app-production-v3", "execution-id": executionId },
    { id: randomUUID() },
  );
  // 10 s left; the Slack claim completes 20 s later.
  jumpClockOnWrite(
    world,
    (op, body) => op === "UpdateItem" && body.includes('":sending"') && body.includes("slack-eng"),
    20_000,
  );

  const out = await world.invoke([record(ev, "m-late-claim")], 10_000);

  expect(out.batchItemFailures).toEqual([{ itemIdentifier: "m-late-claim" }]);
  expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(0);
  const slot = (await world.items()).find(
    (i) =>
      String(i.pk).startsWith("DELIVERY#") &&
      i.executionId === executionId &&
      i.channel === "slack-eng",
  );
  expect(slot).toMatchObject({ status: "failed" });
  expect(String(slot?.lastError)).toMatch(/deadline reached while claiming/);
});
