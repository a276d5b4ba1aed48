/**
 * A pacing UpdateItem that DynamoDB applied but answered after the SDK's request timeout
 * (handlers/aws.ts: 2 s of real time at TIME_SCALE 6) is repeated by the SDK (maxAttempts 3).
 * The window's individual messages were a count (`ADD :one`), and the repeat added to it again:
 * one Slack notification spent two of its window's 3 messages, so 2 Slack messages went out and
 * 4 notifications waited for the digest instead of 3 (round 17: why grouping.test.ts's "over the
 * allowance" saw 2 Slack messages under load, with no batch failure). The window is now a set of
 * notifications (store/pacing.ts `windowAttribute`): the repeat adds nothing, and its refusal by
 * the moved `tat` does not read as a spent window.
 *
 * The late reply is the DynamoDB proxy's (testing/dynamo-faults.ts `setLateReply`: applied at
 * once, its answer held 2.6 s).
 */
import { randomUUID } from "node:crypto";
import { event, record, type FanoutWorld } from "../support/fanout";
import { useSlackGroupingWorld } from "../support/grouping";

const SCALE = 6;
let world: FanoutWorld;
useSlackGroupingWorld({ prefix: "storm-", scale: SCALE }, (w) => (world = w));
beforeEach(async () => {
  world.reset();
  await world.forgetPacing();
});
afterEach(() => jest.restoreAllMocks());

it("a pacing call answered after the SDK's timeout spends one window allowance, not two", async () => {
  // This clock is moved (never waited for) to 30 ms into a window (60 s at TIME_SCALE 6 is 10 s),
  // so that all six are decided in one window though the late reply adds 2.6 s.
  const windowMs = 60_000 / SCALE;
  const realNow = Date.now.bind(Date);
  const offset = windowMs - (realNow() % windowMs) + 30;
  jest.spyOn(Date, "now").mockImplementation(() => realNow() + offset);
  world.standins.dynamo.faults.setLateReply({
    operation: "UpdateItem",
    match: "PACE#slack-eng",
    delayMs: 2600,
    times: 1,
  });
  const events = Array.from({ length: 6 }, (_, i) =>
    event(
      "pipeline-failed",
      { pipeline: `storm-late-${i}`, "execution-id": randomUUID() },
      {
        id: randomUUID(),
      },
    ),
  );
  const out = await world.invoke(events.map((e, i) => record(e, `late-${i}`)));

  expect(out.batchItemFailures).toEqual([]);
  const grouped = (await world.items()).filter(
    (i) =>
      String(i.pk).startsWith("DELIVERY#PIPELINE#storm-late-") &&
      i.channel === "slack-eng" &&
      i.status === "grouped",
  );
  expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(3);
  expect(grouped).toHaveLength(3);
});
