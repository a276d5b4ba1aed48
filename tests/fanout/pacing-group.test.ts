/**
 * Group commit of send-slot reservations (issue 12, fewer DynamoDB calls): the reservations of
 * one channel made at one moment, or while one is in flight, share ONE conditional UpdateItem of
 * its pace item (store/pace-batch.ts `reserveSlots`, fanout/pace.ts `reserveInGroup`), and get
 * exactly the GCRA slots single reservations back to back would have got. Against real dynalite;
 * the calls are counted, and throttled, on the wire by the local DynamoDB's proxy
 * (testing/dynamo-faults.ts), which answers a throttle as DynamoDB does (HTTP 400
 * `ProvisionedThroughputExceededException`; a throttled request is not applied: developer guide,
 * "Error handling with DynamoDB").
 */
import { PAGERDUTY_RATE_LIMIT, emissionIntervalMs } from "../../handlers/contracts/rate-limits";
import { paceDelivery, pacedBurst } from "../../handlers/fanout/pace";
import { reserveSlots } from "../../handlers/store/pace-batch";
import { reserveSlot } from "../../handlers/store/pacing";
import type { DynamoThrottleCode } from "../../testing/dynamo-faults";
import { usePaceTable } from "../support/pace-table";

const TABLE = "pacing-group-test";
const world = usePaceTable(TABLE);

/** PagerDuty's pace (contracts/rate-limits.ts): T = 500 ms, paced burst 9, so τ = 4000 ms. */
const T = emissionIntervalMs(PAGERDUTY_RATE_LIMIT);
const BURST = pacedBurst(PAGERDUTY_RATE_LIMIT.burst);
const bucket = { intervalMs: T, burst: BURST };

/** One pacing UpdateItem on the wire: its channel, how many slots it reserves, and its fate. */
interface PaceCall {
  channel: string;
  /** Slots it reserves: `:T` / T (busy form) or (`:next` − `:now`) / T (idle form). */
  k: number;
  throttled: boolean;
}

/**
 * Records every pacing UpdateItem the local DynamoDB receives; `throttle(call, n)` (n: the
 * call's number from 1 among those of its channel) answers it with DynamoDB's throttling error.
 */
function paceCalls(throttle: (c: PaceCall, n: number) => boolean = () => false): PaceCall[] {
  const faults = world.dynamo.faults;
  const decide = faults.decide.bind(faults);
  const calls: PaceCall[] = [];
  jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
    const verdict = decide(op, body);
    if (op !== "UpdateItem" || !body.includes('"PACE#')) return verdict;
    const input = JSON.parse(body);
    const v = input.ExpressionAttributeValues;
    const reserved = v[":T"] ? Number(v[":T"].N) : Number(v[":next"].N) - Number(v[":now"].N);
    const call = { channel: String(input.Key.pk.S).slice(5), k: reserved / T, throttled: false };
    const n = calls.filter((c) => c.channel === call.channel).length + 1;
    call.throttled = throttle(call, n);
    calls.push(call);
    return call.throttled
      ? ("ProvisionedThroughputExceededException" as DynamoThrottleCode)
      : verdict;
  });
  return calls;
}

/** The slots (ms after `t0`) of `k` single reservations back to back on `channel` at `t0`. */
async function singles(channel: string, k: number, t0: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push((await reserveSlot(channel, bucket, () => t0)).at - t0);
  return out;
}

describe("K slots in one UpdateItem (store/pace-batch.ts reserveSlots)", () => {
  it("are the slots of K single reservations back to back, idle and busy, in request order", async () => {
    const t0 = Date.now();
    const calls = paceCalls();
    // Idle: the burst (9) at once, then one every T.
    const idle = await reserveSlots("pd-batch", bucket, 12, () => t0);
    expect(idle.at.map((at) => at - t0)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 500, 1000, 1500]);
    expect(idle.calls).toBe(1);
    expect(idle.at.map((at) => at - t0)).toEqual(await singles("pd-single", 12, t0));
    // Busy: after the 12, the next 4 follow at T.
    const busy = await reserveSlots("pd-batch", bucket, 4, () => t0);
    expect(busy.at.map((at) => at - t0)).toEqual([2000, 2500, 3000, 3500]);
    expect(busy.at.map((at) => at - t0)).toEqual(await singles("pd-single", 4, t0));
    // Without a memo the idle form is tried first and refused: two calls, as for one slot.
    expect(busy.calls).toBe(2);
    expect(calls.filter((c) => c.channel === "pd-batch").map((c) => c.k)).toEqual([12, 4, 4]);
    // Long idle: the bucket is full again.
    const later = await reserveSlots("pd-batch", bucket, 2, () => t0 + 60_000);
    expect(later.at).toEqual([t0 + 60_000, t0 + 60_000]);
  });

  it("refuses a slot count that is not a whole number ≥ 1, naming it", async () => {
    await expect(reserveSlots("pd-bad", bucket, 0)).rejects.toThrow(/slot count 0/);
    await expect(reserveSlots("pd-bad", bucket, 1.5)).rejects.toThrow(/slot count 1\.5/);
  });
});

describe("concurrent reservations of one channel (fanout/pace.ts)", () => {
  it("K at one moment make ONE pacing UpdateItem and get K distinct slots, T apart past the burst, the slots of K single ones", async () => {
    const t0 = Date.now();
    // One clock for all (a request of another clock is grouped apart: fanout/pace.ts).
    const clock = () => t0;
    const calls = paceCalls();
    const deadline = t0 + 60_000;
    const decisions = await Promise.all(
      Array.from({ length: 12 }, () =>
        paceDelivery("pd-together", "pagerduty", deadline, undefined, clock),
      ),
    );
    expect(calls.filter((c) => c.channel === "pd-together")).toEqual([
      { channel: "pd-together", k: 12, throttled: false },
    ]);
    const waits = decisions.map((d) => (d.kind === "send" ? d.waitMs : `${d.kind}`));
    expect(waits).toEqual(await singles("pd-alone", 12, t0));
    expect(waits).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 500, 1000, 1500]);
  });

  it("requests made while a reservation is in flight wait for it, then share one UpdateItem", async () => {
    const t0 = Date.now();
    const calls = paceCalls();
    const deadline = t0 + 60_000;
    const clock = () => t0;
    const pace = () => paceDelivery("pd-queue", "pagerduty", deadline, undefined, clock);
    // The first reservation's answer is held 400 ms (applied at once: testing/dynamo-faults.ts).
    world.dynamo.faults.setLateReply({
      operation: "UpdateItem",
      match: "PACE#pd-queue",
      delayMs: 400,
    });
    const first = pace();
    // Three requests at each of three moments while it is in flight (not in the same tick).
    const rest: Array<ReturnType<typeof pace>> = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      rest.push(pace(), pace(), pace());
    }
    const waits = (await Promise.all([first, ...rest])).map((d) =>
      d.kind === "send" ? d.waitMs : d.kind,
    );
    expect(calls.map((c) => c.k)).toEqual([1, 9]);
    expect(waits).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 500]);
  });

  it("a group whose call is throttled: every member is retried, no slot is handed out twice or lost", async () => {
    const t0 = Date.now();
    const deadline = t0 + 60_000;
    // The channel's burst is spent (9 sends at t0): every further slot is T apart.
    await reserveSlots("pd-throttled", bucket, BURST, () => t0, deadline);
    // The group's call is throttled in all the SDK's 3 attempts (handlers/aws.ts maxAttempts).
    const calls = paceCalls((c, n) => c.channel === "pd-throttled" && n <= 3);
    const clock = () => t0;
    const decisions = await Promise.all(
      Array.from({ length: 5 }, () =>
        paceDelivery("pd-throttled", "pagerduty", deadline, undefined, clock),
      ),
    );
    const mine = calls.filter((c) => c.channel === "pd-throttled");
    // The one group of 5 was throttled (its 3 attempts), so all 5 were rejected; each retried
    // and the calls that got through reserved 5 slots in all.
    expect(mine.slice(0, 3)).toEqual(Array(3).fill({ ...mine[0], k: 5, throttled: true }));
    const through = mine.filter((c) => !c.throttled);
    expect(through.reduce((sum, c) => sum + c.k, 0)).toBe(5);
    const waits = decisions.map((d) => (d.kind === "send" ? d.waitMs : -1));
    expect([...waits].sort((a, b) => a - b)).toEqual([500, 1000, 1500, 2000, 2500]);
    // The next single reservation comes right after: no slot was taken by the throttled call.
    expect((await reserveSlot("pd-throttled", bucket, () => t0)).at - t0).toBe(3000);
  }, 30_000);
});
