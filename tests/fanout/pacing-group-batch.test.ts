/**
 * An SQS batch of 10 PagerDuty failures through the real fan-out (issue 12, fewer DynamoDB
 * calls): their send slots are reserved by group commit (fanout/pace.ts `reserveInGroup`), at
 * most 2 pacing UpdateItems for the batch where each send made its own (10), and the PagerDuty
 * receiver stand-in (testing/receivers/pagerduty.ts) never answers 429. Counted on the wire by the
 * local DynamoDB's proxy (testing/dynamo-faults.ts).
 */
import { PAGERDUTY_RATE_LIMIT } from "../../handlers/contracts/rate-limits";
import { useFanoutWorld, type FanoutWorld, countPaceCalls, failureRecord } from "../support/fanout";

let world: FanoutWorld;
useFanoutWorld(
  (w) => (world = w),
  (raw) => {
    // Ten pipelines of their own: a pipeline's records take a channel in turn (order.ts), so
    // ten failures of ONE pipeline would reach PagerDuty one after another, never together.
    raw.pipelines.push({ prefix: "pd-batch-", tier: "critical", states: ["FAILED"] });
    raw.routing.critical = ["pagerduty-oncall"];
  },
);
afterEach(() => jest.restoreAllMocks());

describe("a batch of 10 PagerDuty failures", () => {
  it("reserves its 10 send slots in at most 2 UpdateItems, twice in a row, and PagerDuty answers no 429", async () => {
    // A warm container (as the probe's and AWS's): a first batch has read the secrets and opened
    // the connections a batch of 10 uses. Then PagerDuty's channel is idle again.
    const warm = Array.from({ length: 10 }, (_, i) => failureRecord(world, `pd-batch-${100 + i}`));
    expect((await world.invoke(warm)).batchItemFailures).toEqual([]);
    await world.forgetPacing();
    world.reset();
    // PagerDuty's own limit (120 per minute per routing key, a sliding window) would admit all 20
    // sends of this test at once; the receiver enforces the pace the fan-out promises instead
    // (contracts/rate-limits.ts: 2 per second, burst 10), so a slot handed out early or twice
    // (more than 10 at once) is answered 429 and shows.
    world.standins.receivers.setRateLimit("pagerduty", {
      limit: PAGERDUTY_RATE_LIMIT.perSecond,
      perSeconds: 1,
      burst: PAGERDUTY_RATE_LIMIT.burst,
      source: PAGERDUTY_RATE_LIMIT.source,
    });
    const perBatch: number[] = [];
    for (const first of [0, 10]) {
      const calls = countPaceCalls(world, "pagerduty-oncall");
      const records = Array.from({ length: 10 }, (_, i) =>
        failureRecord(world, `pd-batch-${first + i}`),
      );
      const out = await world.invoke(records);
      expect(out.batchItemFailures).toEqual([]);
      perBatch.push(calls.count);
      jest.restoreAllMocks();
    }
    // The first batch finds the channel idle (its first reservation, then the 9 that queued
    // behind it); the second finds it busy and its slots after the first batch's.
    expect({ perBatch, over: perBatch.filter((n) => n > 2) }).toEqual({ perBatch, over: [] });
    const sent = world.standins.receivers.byReceiver("pagerduty") as Array<{ body: any }>;
    expect(new Set(sent.map((s) => s.body.dedup_key)).size).toBe(20);
    const stats = world.standins.receivers.rateStats("pagerduty");
    expect(stats.map((s) => ({ attempts: s.attempts, http429: s.http429 }))).toEqual([
      { attempts: 20, http429: 0 },
    ]);
  }, 60_000);
});
