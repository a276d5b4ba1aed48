/**
 * Red team of the warm container's flush memo (fanout/grouping.ts `queueFlush`, issue 12): a
 * container queues a digest's flush once and its later invocations queue no copy until it is
 * due. These cases check why no entry is lost by it, with the real flush (digest-flush.ts) on
 * dynalite, the SQS stand-in and an HTTP webhook receiver on 127.0.0.1:
 * - the one copy, received when SQS makes it visible, sends every entry of the window, those
 *   grouped by the invocations that queued nothing included;
 * - that copy is never visible before the last moment a grouped mark may complete
 *   (`flushCutoff`), so nothing is marked into the window after its flush read it, and the memo
 *   ends no later than the copy is visible: also for the longest window (MAX_WINDOW_SECONDS,
 *   600 s) and under a scaled clock (TIME_SCALE 7, which rounds), within SQS's 900 s delay;
 * - a window of another length (a config with another `windowSeconds`) is another flush: queued
 *   again, with its own `windowMs`;
 * - between the window's cutoff and the memo's end a notification is refused, not marked: its
 *   record decides again in the window now open (whose own flush it queues).
 * A flush that holds, requeues itself or is dead-lettered runs after the memo ended (it is
 * received at or after its due time), and no mark of its window completes after that.
 */
import { parseDigestFlush } from "../../handlers/contracts/digest-flush";
import { MAX_WINDOW_SECONDS } from "../../handlers/contracts/grouping";
import { flushDigestRecord } from "../../handlers/fanout/digest-flush";
import {
  digestSlot,
  FLUSH_GRACE_MS,
  flushCutoff,
  groupDelivery,
  queueFlush,
} from "../../handlers/fanout/grouping";
import { MAX_DELAY_SECONDS } from "../../handlers/fanout/requeue";
import { scaledMs } from "../../handlers/http";
import { claimDelivery, type DeliveryRef } from "../../handlers/store/ledger";
import type { Notification } from "../../handlers/types";
import { record, type FanoutWorld } from "../support/fanout";
import {
  deliveryRefOf,
  handInvocation,
  pipelineFailure,
  quietLogger,
  useHookWorld,
} from "../support/grouping";

const HOOK = "hook-memo";
const SCALE = 7;

let world: FanoutWorld;
/**
 * This clock's offset from the real one (ms): the tests move time, never wait for it. `at`, when
 * set, stops it at that moment (ms since the epoch), for an assertion about one millisecond that
 * real time passing between two lines would otherwise move.
 */
const clock: { offset: number; at?: number } = { offset: 0 };

useHookWorld({ hook: HOOK, prefix: "memo-", scale: SCALE }, (w) => (world = w));
beforeEach(async () => {
  world.reset();
  await world.forgetPacing();
  clock.at = undefined;
  const realNow = Date.now.bind(Date);
  jest.spyOn(Date, "now").mockImplementation(() => clock.at ?? realNow() + clock.offset);
});
afterEach(() => jest.restoreAllMocks());

/** A window of `seconds` (AWS time) on this clock, `ahead` windows from now, moved to its start. */
function windowAhead(seconds: number, ahead: number) {
  const windowMs = scaledMs(seconds * 1000);
  const windowStart = (Math.floor(Date.now() / windowMs) + ahead) * windowMs;
  clock.offset += windowStart + 3 - Date.now();
  return { windowStart, windowMs, max: 3 };
}

/** Groups a new failure into `allowance`'s window in an invocation of its own (claimed first). */
async function groupInNewInvocation(allowance: ReturnType<typeof windowAhead>) {
  const n: Notification = pipelineFailure("memo-");
  const ref: DeliveryRef = { ...deliveryRefOf(n, HOOK), eventId: n.eventId };
  expect((await claimDelivery(ref, Date.now() + 30_000, 1)).claimed).toBe(true);
  const inv = handInvocation(world, Date.now() + 30_000);
  expect(await groupDelivery(inv, n, ref, allowance, quietLogger)).toMatchObject({
    status: "grouped",
  });
  return n;
}

/** The channel's flush messages SQS accepted: body, delay, and when this clock sent them. */
const flushesQueued = () =>
  world.standins.aws.state.sqs.sent
    .map((m) => ({ f: parseDigestFlush(m.body), m }))
    .filter(({ f }) => f?.channel === HOOK)
    .map(({ f, m }) => ({ f: f!, body: m.body, delaySeconds: m.delaySeconds, at: Date.now() }));

it("the one flush queued by a warm container sends every entry of its window, also those of invocations that queued none", async () => {
  const a = windowAhead(60, 2);
  const first = await groupInNewInvocation(a);
  const sentAt = Date.now();
  const [queued] = flushesQueued();
  clock.offset += scaledMs(20_000);
  const others = [await groupInNewInvocation(a), await groupInNewInvocation(a)];
  expect(flushesQueued()).toHaveLength(1);

  // Received when SQS makes it visible: its delay is AWS seconds, this clock runs SCALE faster.
  clock.offset += sentAt + (queued.delaySeconds * 1000) / SCALE - Date.now();
  const inv = handInvocation(world, Date.now() + 20_000);
  expect(await flushDigestRecord(inv, record(queued.body, "flush-1"))).toBe(true);

  const digests = world.standins.receivers.byReceiver("webhook", HOOK);
  expect(digests).toHaveLength(1);
  for (const n of [first, ...others]) expect(JSON.stringify(digests[0])).toContain(n.pipeline);
});

it.each([60, MAX_WINDOW_SECONDS])(
  "a %i s window's flush is never visible before the window's last mark may complete, and the memo ends by then",
  async (seconds) => {
    const a = windowAhead(seconds, 1);
    // Stopped: the flush's delay is reckoned from the moment the code queues it, which real time
    // passing during the invocation would put after `sentAt` (by more than the delay's rounding
    // under load), so that `visibleAt` below came out earlier than SQS would make it visible.
    const sentAt = (clock.at = Date.now());
    await groupInNewInvocation(a);
    const [queued] = flushesQueued();

    expect(queued.delaySeconds).toBeLessThanOrEqual(MAX_DELAY_SECONDS);
    const visibleAt = sentAt + (queued.delaySeconds * 1000) / SCALE;
    expect(visibleAt).toBeGreaterThanOrEqual(flushCutoff(digestSlot(HOOK, a), a.windowMs));
    // The memo holds until the window's end plus FLUSH_GRACE_MS, no later than that.
    const dueAt = a.windowStart + a.windowMs + scaledMs(FLUSH_GRACE_MS);
    expect(dueAt).toBeLessThanOrEqual(visibleAt);
    clock.at = dueAt - 1;
    await queueFlush(handInvocation(world, Date.now() + 30_000), digestSlot(HOOK, a), a.windowMs);
    expect(flushesQueued()).toHaveLength(1);
    clock.at = dueAt;
    await queueFlush(handInvocation(world, Date.now() + 30_000), digestSlot(HOOK, a), a.windowMs);
    expect(flushesQueued()).toHaveLength(2);
  },
);

it("a window of another length starting at the same moment is another flush: queued with its windowMs", async () => {
  const long = windowAhead(120, 3);
  const short = { ...long, windowMs: scaledMs(60_000) };
  await groupInNewInvocation(long);
  await groupInNewInvocation(short);
  await groupInNewInvocation(long);

  expect(flushesQueued().map(({ f }) => [f.windowStart, f.windowMs])).toEqual([
    [long.windowStart, long.windowMs],
    [long.windowStart, short.windowMs],
  ]);
});

it("a notification grouped while the memo holds but after the window's cutoff is refused, never marked into the digest already read", async () => {
  const a = windowAhead(60, 4);
  await groupInNewInvocation(a);
  // Stopped at the cutoff: the memo ends 1 s of AWS time after it (the window's end plus
  // FLUSH_GRACE_MS; 143 ms of this clock), which real time passing under load reached before the
  // grouping read the clock (a second flush queued, CI-like stress run of 2026-12-02).
  clock.at = flushCutoff(digestSlot(HOOK, a), a.windowMs);

  const n: Notification = pipelineFailure("memo-");
  const ref: DeliveryRef = { ...deliveryRefOf(n, HOOK), eventId: n.eventId };
  expect((await claimDelivery(ref, Date.now() + 30_000, 1)).claimed).toBe(true);
  const inv = handInvocation(world, Date.now() + 30_000);
  // Refused (the record is retried and decides again in the window now open), not grouped.
  expect(await groupDelivery(inv, n, ref, a, quietLogger)).toMatchObject({
    error: expect.stringContaining("is being flushed"),
  });
  expect(flushesQueued()).toHaveLength(1);
  const items = await world.items();
  const mine = items.find((i) => i.notificationId === n.id && i.channel === HOOK);
  expect(mine).toBeDefined();
  expect(mine?.status).not.toBe("grouped");
});
