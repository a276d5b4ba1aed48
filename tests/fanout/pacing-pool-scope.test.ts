/**
 * The slot pool's bounds (fanout/pace-pool.ts, fanout/pace.ts `reserveInGroup`), against real
 * dynalite, on a fixed clock: a pool belongs to ONE invocation (its deadline, `scope`), so a warm
 * container's next invocation never takes the spare slots of the one before; and a spare slot
 * after the deadline defers the delivery with that slot (record.ts carries it in the copy), as a
 * slot of a group call does. PagerDuty's pace (contracts/rate-limits.ts): T = 500 ms, paced
 * burst 9. Calls and the slots each reserves are counted on the wire (testing/dynamo-faults.ts).
 */
import { PAGERDUTY_RATE_LIMIT, emissionIntervalMs } from "../../handlers/contracts/rate-limits";
import { receiverTimeoutMs } from "../../handlers/http";
import { paceDelivery, pacedBurst } from "../../handlers/fanout/pace";
import { openPacePool } from "../../handlers/fanout/pace-pool";
import { reserveSlots } from "../../handlers/store/pace-batch";
import { usePaceTable } from "../support/pace-table";

const world = usePaceTable("pacing-pool-test");
const T = emissionIntervalMs(PAGERDUTY_RATE_LIMIT);
const bucket = { intervalMs: T, burst: pacedBurst(PAGERDUTY_RATE_LIMIT.burst) };

/** The slots each pacing UpdateItem of `channel` reserves (`:T` or `:next` − `:now`, over T). */
function slotsPerCall(channel: string): number[] {
  const faults = world.dynamo.faults;
  const decide = faults.decide.bind(faults);
  const calls: number[] = [];
  jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
    if (op === "UpdateItem" && body.includes(`"PACE#${channel}"`)) {
      const v = JSON.parse(body).ExpressionAttributeValues;
      calls.push((v[":T"] ? Number(v[":T"].N) : Number(v[":next"].N) - Number(v[":now"].N)) / T);
    }
    return decide(op, body);
  });
  return calls;
}

/** The slot (ms after `t0`) of a `send` decision, or the decision's kind. */
function waitOf(d: Awaited<ReturnType<typeof paceDelivery>>): number | string {
  return d.kind === "send" ? d.waitMs : d.kind;
}

describe("an invocation's slot pool", () => {
  it("is never used by the warm container's next invocation, nor by a request of no pool", async () => {
    const t0 = Date.now();
    const clock = () => t0;
    // A busy channel: its burst spent (the memo knows), the next slots T apart from t0 + T
    // (on an idle one the pool reserves no burst slot ahead: pace-pool.ts `sparesLast`).
    await reserveSlots("pd-scope", bucket, 9, clock, t0 + 120_000);
    const calls = slotsPerCall("pd-scope");
    const first = t0 + 60_000;
    openPacePool(first, { "pd-scope": 3 });
    const pace = (scope: number) => paceDelivery("pd-scope", "pagerduty", scope, undefined, clock);
    // Invocation 1's first request reserves its 2 later ones' slots too.
    expect(waitOf(await pace(first))).toBe(T);
    expect(calls).toEqual([3]);
    // The next invocation (another deadline) has a pool of its own; a digest flush's pacing of
    // a deadline with none (a test's) has no pool: both reserve by a call, after the spares.
    const second = first + 1;
    openPacePool(second, { "pd-scope": 1 });
    expect(waitOf(await pace(second))).toBe(4 * T);
    expect(waitOf(await pace(first + 2))).toBe(5 * T);
    expect(calls).toEqual([3, 1, 1]);
    // Invocation 1 still takes its own 2 spare slots, with no call.
    expect([waitOf(await pace(first)), waitOf(await pace(first))]).toEqual([2 * T, 3 * T]);
    expect(calls).toEqual([3, 1, 1]);
    // The 9 + 3 + 1 + 1 slots were taken from the bucket once each: the next ones are T apart.
    const next = await reserveSlots("pd-scope", bucket, 2, clock);
    expect(next.at.map((at) => at - t0)).toEqual([6 * T, 7 * T]);
  });

  it("reserves no burst slot ahead on an idle channel: the later requests call", async () => {
    const t0 = Date.now();
    const clock = () => t0;
    const calls = slotsPerCall("pd-idle");
    const scope = t0 + 60_000;
    openPacePool(scope, { "pd-idle": 3 });
    const pace = () => paceDelivery("pd-idle", "pagerduty", scope, undefined, clock);
    // A burst slot is usable for T/2 only; one reserved ahead would push the bucket's `tat` by T
    // for a turn that usually comes later (pace-pool.ts `sparesLast`).
    expect([waitOf(await pace()), waitOf(await pace()), waitOf(await pace())]).toEqual([0, 0, 0]);
    expect(calls).toEqual([1, 1, 1]);
  });

  it("defers a delivery whose spare slot is after the deadline, with that slot, as a called one", async () => {
    const t0 = Date.now();
    const clock = () => t0;
    // A busy channel: its burst is spent, the next slots are T apart from t0 + 500 ms.
    // (With a scope: the container's memo learns the channel is busy, so one call, not two.)
    await reserveSlots("pd-defer", bucket, 9, clock, t0);
    const calls = slotsPerCall("pd-defer");
    // The call must be started by t0 + 700 ms: the first slot (+500) fits, the spares do not.
    const deadline = t0 + receiverTimeoutMs() + 700;
    openPacePool(deadline, { "pd-defer": 3 });
    const pace = () => paceDelivery("pd-defer", "pagerduty", deadline, undefined, clock);
    expect(await pace()).toEqual({ kind: "send", waitMs: 500 });
    const later = [await pace(), await pace()];
    expect(calls).toEqual([3]);
    expect(later).toEqual(
      [1000, 1500].map((ms) =>
        expect.objectContaining({
          kind: "defer",
          delayMs: ms,
          slotAt: t0 + ms,
        }),
      ),
    );
    // A copy carrying its slot reserves nothing (fanout/pace.ts `reserved`): it sends at it.
    const copy = await paceDelivery("pd-defer", "pagerduty", t0 + 60_000, t0 + 1000, clock);
    expect(copy).toEqual({ kind: "send", waitMs: 1000 });
    expect(calls).toEqual([3]);
  });
});
