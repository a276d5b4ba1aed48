/**
 * The invocation's slot pool through the real fan-out (issue 12, fewer pacing calls;
 * fanout/pace-pool.ts): a batch's PagerDuty failures of one or two pipelines reach the channel
 * one after another (fanout/order.ts), and the first group call reserves the slots of the later
 * ones too (fanout/pace.ts `reserveInGroup`), which take them with no call — unless a slot is
 * past by more than T/2 when its turn comes; a slot after the deadline defers the record, its
 * copy carrying the slot (fanout/deferral.ts), as a slot of a call does. The PagerDuty receiver stand-in enforces the pace
 * the fan-out promises (contracts/rate-limits.ts: 2 per second, burst 10; PagerDuty documents
 * 120 events per minute per routing key), so a slot handed early or twice is answered 429.
 * Pacing calls are counted on the wire by the local DynamoDB's proxy (testing/dynamo-faults.ts).
 */
import { PAGERDUTY_RATE_LIMIT, emissionIntervalMs } from "../../handlers/contracts/rate-limits";
import { pacedBurst } from "../../handlers/fanout/pace";
import { DEADLINE_MARGIN_MS } from "../../handlers/fanout/handler";
import { receiverTimeoutMs, scaledMs } from "../../handlers/http";
import { reserveSlots } from "../../handlers/store/pace-batch";
import {
  copyOf,
  record,
  useFanoutWorld,
  type FanoutWorld,
  countPaceCalls,
  failureRecord,
} from "../support/fanout";

/** Where a deferred record's copy goes (fanout/requeue.ts). */
const EVENTS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events";
process.env.EVENTS_QUEUE_URL = EVENTS_QUEUE_URL;

let world: FanoutWorld;
useFanoutWorld(
  (w) => (world = w),
  (raw) => {
    raw.pipelines.push({ prefix: "pd-pool-", tier: "critical", states: ["FAILED"] });
    raw.routing.critical = ["pagerduty-oncall"];
  },
);
afterEach(() => jest.restoreAllMocks());

/**
 * A warm container (as AWS's and the probe's: secrets read, connections open), then an idle
 * PagerDuty channel whose receiver limits at the fan-out's promised pace.
 */
async function warmThenIdle(): Promise<void> {
  const warm = Array.from({ length: 6 }, (_, i) => failureRecord(world, `pd-pool-${100 + i}`));
  expect((await world.invoke(warm)).batchItemFailures).toEqual([]);
  await world.forgetPacing();
  world.reset();
  world.standins.receivers.setRateLimit("pagerduty", {
    limit: PAGERDUTY_RATE_LIMIT.perSecond,
    perSeconds: 1,
    burst: PAGERDUTY_RATE_LIMIT.burst,
    source: PAGERDUTY_RATE_LIMIT.source,
  });
}

/** PagerDuty's bucket as the fan-out paces it (fanout/pace.ts): T = 500 ms, burst 9. */
const bucket = {
  intervalMs: scaledMs(emissionIntervalMs(PAGERDUTY_RATE_LIMIT)),
  burst: pacedBurst(PAGERDUTY_RATE_LIMIT.burst),
};

/**
 * Makes PagerDuty's channel busy: its burst spent by another invocation, which the container's
 * memo knows (one busy-form call after), so the next slots are T apart from now + T.
 */
async function busyChannel(): Promise<void> {
  await reserveSlots("pagerduty-oncall", bucket, 9, Date.now, Date.now() + 60_000);
}

/** The SQS record of a copy SendMessage put on the events queue, as a new message. */
/** PagerDuty's sends (distinct dedup keys) and its limiter's attempts and 429s. */
function pagerdutyOutcome() {
  const sent = world.standins.receivers.byReceiver("pagerduty") as Array<{ body: any }>;
  const stats = world.standins.receivers.rateStats("pagerduty");
  return {
    incidents: new Set(sent.map((s) => s.body.dedup_key)).size,
    limiter: stats.map((s) => ({ attempts: s.attempts, http429: s.http429 })),
  };
}

describe("a batch's PagerDuty failures of one or two pipelines", () => {
  it("reserve their send slots in ONE pacing call, and PagerDuty answers no 429", async () => {
    await warmThenIdle();
    // A busy channel (its burst spent by another invocation, which the container's memo knows:
    // one busy-form call), so the batch's slots are T = 500 ms apart, each still ahead when its
    // pipeline's turn comes, however slow this machine is (a burst slot is past by T/2 = 250 ms
    // after 250 ms).
    await busyChannel();
    const calls = countPaceCalls(world, "pagerduty-oncall");
    // 2 pipelines × 4 failures: each pipeline's 4 pages go one after another; before the pool,
    // each turn after the first made its own group call (4 or more calls for the 8).
    const records = [0, 1, 0, 1, 0, 1, 0, 1].map((p) => failureRecord(world, `pd-pool-${p}`));
    expect((await world.invoke(records)).batchItemFailures).toEqual([]);
    expect(calls.count).toBe(1);
    expect(pagerdutyOutcome()).toEqual({ incidents: 2, limiter: [{ attempts: 8, http429: 0 }] });
  }, 60_000);

  it("do not use a pool slot past by more than T/2 when its turn comes: a new call reserves it", async () => {
    await warmThenIdle();
    await busyChannel();
    // The first page's answer is held 2 s: the pipeline's next turn finds its spare slot (T
    // after the first page's) past by more than T/2 = 250 ms.
    world.standins.receivers.setFault("pagerduty", { kind: "slow", ms: 2000, times: 1 });
    const calls = countPaceCalls(world, "pagerduty-oncall");
    const records = Array.from({ length: 2 }, () => failureRecord(world, "pd-pool-2"));
    expect((await world.invoke(records)).batchItemFailures).toEqual([]);
    // The first call (2 slots) and the late turn's own (1 without the T/2 check).
    expect(calls.count).toBe(2);
    expect(pagerdutyOutcome()).toEqual({ incidents: 1, limiter: [{ attempts: 2, http429: 0 }] });
  }, 60_000);

  it("on an idle channel, reserve no burst slot ahead: a receiver answering in 300 ms, 10 pages take 10 slots", async () => {
    await warmThenIdle();
    // Each page answered in 300 ms (PagerDuty's own latency, or a slow day): a pipeline's next
    // turn comes more than T/2 = 250 ms after the previous slot. A burst slot reserved ahead
    // (at the call's time) is then given up, and the bucket's `tat` moves for no send.
    world.standins.receivers.setFault("pagerduty", { kind: "slow", ms: 300, times: 10 });
    const t0 = Date.now();
    const records = Array.from({ length: 10 }, () => failureRecord(world, "pd-pool-4"));
    expect((await world.invoke(records)).batchItemFailures).toEqual([]);
    expect(pagerdutyOutcome()).toEqual({
      incidents: 1,
      limiter: [{ attempts: 10, http429: 0 }],
    });
    // The channel's `tat` (store/pacing.ts): the first call's time (t0 + less than T: the claim)
    // plus T per slot taken from the bucket. 10 sends, 10 slots (18 with burst slots ahead).
    const pace = (await world.items()).find((i) => i.pk === "PACE#pagerduty-oncall");
    expect(Math.floor((Number(pace?.tat) - t0) / bucket.intervalMs)).toBe(10);
  }, 60_000);

  it("reserve no slot ahead for a redelivered record: its page, already sent, never asks", async () => {
    await warmThenIdle();
    // 3 failures of one pipeline paged; SQS then delivers them again (their other channel
    // failed, a Lambda timeout): the ledger refuses each page as sent, no slot is asked for.
    const paged = Array.from({ length: 3 }, () => failureRecord(world, "pd-pool-5"));
    expect((await world.invoke(paged)).batchItemFailures).toEqual([]);
    await busyChannel();
    const tatOf = async () =>
      Number((await world.items()).find((i) => i.pk === "PACE#pagerduty-oncall")?.tat);
    const before = await tatOf();
    const again = paged.map((r) => record(r.body, r.messageId, 2));
    expect(
      (await world.invoke([failureRecord(world, "pd-pool-6"), ...again])).batchItemFailures,
    ).toEqual([]);
    // One new page, one slot taken from the bucket (4 when the redeliveries were counted: 3
    // slots nobody sends in, T = 500 ms more of every later page's wait on a busy channel).
    expect((await tatOf()) - before).toBe(bucket.intervalMs);
    expect(pagerdutyOutcome()).toEqual({ incidents: 2, limiter: [{ attempts: 4, http429: 0 }] });
  }, 60_000);

  it("defer a turn whose pool slot is after the deadline, the copy carrying that slot, and send it at that slot with no call", async () => {
    await warmThenIdle();
    await busyChannel();
    const calls = countPaceCalls(world, "pagerduty-oncall");
    const records = Array.from({ length: 3 }, () => failureRecord(world, "pd-pool-3"));
    // A send must start by now + 800 ms (the deadline less the call's timeout): the first slot
    // (+500 ms) fits, the pool's two others (+1000, +1500) do not.
    const remainingMs = DEADLINE_MARGIN_MS + receiverTimeoutMs() + 800;
    expect((await world.invoke(records, remainingMs)).batchItemFailures).toEqual([]);
    expect(calls.count).toBe(1);
    const copies = world.standins.aws.state.sqs.sent.filter((m) => m.queueUrl === EVENTS_QUEUE_URL);
    const slots = copies.map((c) => JSON.parse(c.attributes.paced)["pagerduty-oncall"] as number);
    expect(slots).toHaveLength(2);
    expect(Math.abs(slots[1] - slots[0])).toBe(bucket.intervalMs);
    // The copies arrive: each sends at its carried slot, with no pacing call.
    for (const [i, c] of copies.entries()) {
      expect((await world.invoke([copyOf(c, `copy-${i}`)])).batchItemFailures).toEqual([]);
    }
    expect(calls.count).toBe(1);
    expect(pagerdutyOutcome()).toEqual({ incidents: 1, limiter: [{ attempts: 3, http429: 0 }] });
  }, 60_000);
});
