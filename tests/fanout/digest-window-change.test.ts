/**
 * Red team of the digest flush around a redeploy that lengthens a channel's grouping window
 * (`windowSeconds` 60 → 120; fanout/digest-flush.ts `lengthened`). A digest's slot and index key
 * are its window's start alone, so a flush queued before the redeploy (`windowMs` of 60 s) and
 * the notifications the new config marks into the 120 s window of the same start share one
 * digest. Sent at the old flush's time, the notifications marked after it found that digest sent
 * and were in none. Now the old flush waits for the longer window's end, and one digest lists
 * them all. Real flush on dynalite, the SQS stand-in and a webhook receiver on 127.0.0.1; AWS
 * time runs 6 times faster (TIME_SCALE 6); the clock is moved, never waited for.
 */
import { digestFlushBody, parseDigestFlush } from "../../handlers/contracts/digest-flush";
import { flushDigestRecord } from "../../handlers/fanout/digest-flush";
import { allowanceFor, FLUSH_GRACE_MS, groupDelivery } from "../../handlers/fanout/grouping";
import { scaledMs } from "../../handlers/http";
import { claimDelivery, type DeliveryRef } from "../../handlers/store/ledger";
import type { Allowance } from "../../handlers/store/pacing";
import type { Notification } from "../../handlers/types";
import { record, type FanoutWorld } from "../support/fanout";
import {
  deliveryRefOf,
  handInvocation,
  pipelineFailure,
  quietLogger,
  useHookWorld,
} from "../support/grouping";

const HOOK = "hook-longer";
const SCALE = 6;

let world: FanoutWorld;
/** This clock's offset from the real one (ms): the test moves time, never waits for it. */
const clock = { offset: 0 };

useHookWorld(
  {
    hook: HOOK,
    prefix: "longer-",
    scale: SCALE,
    // The config after the redeploy: 120 s windows (the default, before it, was 60 s).
    edit: (raw) =>
      (raw.grouping = { channels: { [HOOK]: { windowSeconds: 120, maxIndividual: 3 } } }),
  },
  (w) => (world = w),
);
beforeEach(() => {
  world.reset();
  const realNow = Date.now.bind(Date);
  jest.spyOn(Date, "now").mockImplementation(() => realNow() + clock.offset);
});
afterEach(() => jest.restoreAllMocks());

/** Moves this clock to `at` (epoch ms, this clock). */
const moveTo = (at: number) => (clock.offset += at - Date.now());

/** Groups a new failure into window `a` in an invocation of its own (claimed first). */
async function group(a: Allowance): Promise<Notification> {
  const n = pipelineFailure("longer-");
  const ref: DeliveryRef = { ...deliveryRefOf(n, HOOK), eventId: n.eventId };
  expect((await claimDelivery(ref, Date.now() + 30_000, 1)).claimed).toBe(true);
  const inv = handInvocation(world, Date.now() + 30_000);
  expect(await groupDelivery(inv, n, ref, a, quietLogger)).toMatchObject({ status: "grouped" });
  return n;
}

/** Runs the flush `body` as its SQS message would arrive, with a send slot of its own. */
async function runFlush(body: string, id: string): Promise<void> {
  await world.forgetPacing();
  expect(
    await flushDigestRecord(handInvocation(world, Date.now() + 20_000), record(body, id)),
  ).toBe(true);
}

it("a flush queued under the 60 s window before a redeploy to 120 s waits for the longer window: one digest lists every entry", async () => {
  const [short, long] = [scaledMs(60_000), scaledMs(120_000)];
  const start = (Math.floor(Date.now() / long) + 2) * long;
  moveTo(start + 100);
  // Before the redeploy: grouped into the 60 s window, whose flush is queued for its end.
  const before = await group({ windowStart: start, windowMs: short, max: 3 });
  const oldFlush = digestFlushBody({ channel: HOOK, windowStart: start, windowMs: short });

  moveTo(start + short + scaledMs(FLUSH_GRACE_MS));
  await runFlush(oldFlush, "old");
  expect(world.standins.receivers.byReceiver("webhook", HOOK)).toHaveLength(0);
  const requeued = world.standins.aws.state.sqs.sent
    .map((m) => parseDigestFlush(m.body))
    .filter((f) => f?.channel === HOOK && f.windowMs === long);
  expect(requeued.map((f) => f?.windowStart)).toEqual([start]);

  // After it: the config's 120 s window of the same start is still open.
  const a = allowanceFor(world.config.runtime, HOOK)!;
  expect(a).toMatchObject({ windowStart: start, windowMs: long });
  const after = await group(a);

  moveTo(start + long + scaledMs(FLUSH_GRACE_MS));
  await runFlush(digestFlushBody({ channel: HOOK, windowStart: start, windowMs: long }), "new");
  const digests = world.standins.receivers.byReceiver("webhook", HOOK);
  expect(digests).toHaveLength(1);
  for (const n of [before, after]) expect(JSON.stringify(digests[0])).toContain(n.pipeline);
});
