/**
 * The batch's expected pacing (fanout/pace-plan.ts `expectedPacing`, for the invocation's slot
 * pool) is worked out before any record runs (fanout/handler.ts): a record whose plan throws
 * there must cost only itself, as it does in its own run (record.ts, inside handler.ts
 * `runRecord`'s try: retried, then dead-lettered with the reason), never the batch. Red team of
 * the pool: an event whose `time` the parser admits (`Date.parse` reads it: ECMA-262's range
 * reaches −271821-04-20) and a cron downtime window of its pipeline, whose schedule (croner)
 * throws "Invalid date" for it; the whole batch threw, the other records' pages never went.
 */
import { useFanoutWorld, type FanoutWorld, failureRecord } from "../support/fanout";

let world: FanoutWorld;
useFanoutWorld(
  (w) => (world = w),
  (raw) => {
    raw.pipelines.push({ prefix: "pd-plan-", tier: "critical", states: ["FAILED"] });
    raw.routing.critical = ["pagerduty-oncall"];
    // Quiet hours of one pipeline, by cron (handlers/downtime.ts `isInWindow`).
    raw.downtime = [
      ...((raw.downtime as unknown[] | undefined) ?? []),
      {
        name: "odd-nightly",
        timeZone: "UTC",
        cron: "0 3 * * *",
        durationMinutes: 30,
        pipelines: ["pd-plan-odd"],
      },
    ];
  },
);

it("a record whose plan throws fails alone: the batch's other pages are sent", async () => {
  const odd = failureRecord(world, "pd-plan-odd", "-271821-04-20T00:00:00Z");
  const good = failureRecord(world, "pd-plan-good");
  const out = await world.invoke([odd, good]);
  // The odd record is retried (its own run throws: record.ts), the other one is done.
  expect(out.batchItemFailures).toEqual([{ itemIdentifier: odd.messageId }]);
  expect(world.standins.receivers.byReceiver("pagerduty")).toHaveLength(1);
});
