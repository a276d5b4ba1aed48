/**
 * A grouped mark that completes after its window's flush may have read the window (issue 12 ×
 * issue 11 grouping; fanout/grouping.ts `groupDelivery`). The cutoff bounds when the mark's write
 * STARTS; one SDK call under DynamoDB throttling (its own retries, with backoff) can complete
 * seconds later. The chaos bench lost a webhook entry this way: its mark completed 29 ms after the
 * window's digest (81 entries) had been sent, and the entry was in no digest. A mark completed
 * past the cutoff now moves the entry to the digest of the window open at that moment.
 */
import { parseDigestFlush } from "../../handlers/contracts/digest-flush";
import { FLUSH_GRACE_MS, groupDelivery } from "../../handlers/fanout/grouping";
import type { Invocation } from "../../handlers/fanout/invocation";
import { digestPartition } from "../../handlers/store/keys";
import { claimDelivery, type DeliveryRef } from "../../handlers/store/ledger";
import type { Notification } from "../../handlers/types";
import { jumpClockOnWrite, type FanoutWorld } from "../support/fanout";
import { deliveryRefOf, handInvocation, quietLogger, useQueuedWorld } from "../support/grouping";

const CHANNEL = "webhook-late";
const WINDOW_MS = 60_000;

let world: FanoutWorld;
useQueuedWorld((w) => (world = w));
afterEach(() => jest.restoreAllMocks());

/** A hand-made invocation of the world until `deadline` (the fan-out's own is not needed here). */
function invocation(deadline = Date.now() + 30_000): Invocation {
  return handInvocation(world, deadline);
}

const n = {
  id: "late0123456789abcdef0123",
  kind: "failure",
  pipeline: "storm-07",
  account: "123456789012",
  region: "us-east-1",
  executionId: "exec-late-1",
  stage: "Deploy",
  time: "2026-11-30T14:00:41Z",
  consoleUrl: "https://us-east-1.console.aws.amazon.com/x",
  severity: "critical",
} as unknown as Notification;

const base: DeliveryRef = { ...deliveryRefOf(n, CHANNEL), eventId: "event-late-1" };

/** A claimed slot of its own for each test (the fan-out claims before it paces and groups). */
async function claimed(slot: string): Promise<DeliveryRef> {
  const ref = { ...base, slot };
  const claim = await claimDelivery(ref, Date.now() + 30_000, 1);
  expect(claim.claimed).toBe(true);
  return ref;
}

/** Makes the clock jump `byMs` forward while a grouped mark of the channel is on the wire. */
const slowMarks = (byMs: number, every = false) =>
  jumpClockOnWrite(
    world,
    (op, body) => op === "UpdateItem" && body.includes(`DIGEST#${CHANNEL}#`),
    byMs,
    every,
  );

/** The item's digest partition in the index, and the flushes queued for the channel. */
async function outcome(ref: DeliveryRef) {
  const items = await world.items();
  const item = items.find((i) => i.notificationId === n.id && String(i.sk).endsWith(ref.slot));
  const flushes = world.standins.aws.state.sqs.sent
    .map((m) => parseDigestFlush(m.body))
    .filter((f) => f?.channel === CHANNEL);
  return { item, flushes };
}

it("a mark that completes after the window's flush cutoff moves the entry to the open window's digest", async () => {
  // A window that is about to close: its flush cutoff is 2 s away.
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const allowance = { windowStart, windowMs: WINDOW_MS, max: 3 };
  const cutoff = windowStart + WINDOW_MS + FLUSH_GRACE_MS - 1000;
  // The first mark is slow: it completes 10 s after the cutoff (an SDK call under throttling).
  const ref = await claimed("late-1");
  slowMarks(cutoff - Date.now() + 10_000);

  // The invocation has time left after the jump (a minute past the cutoff).
  const out = await groupDelivery(invocation(cutoff + 60_000), n, ref, allowance, quietLogger);

  const next = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  expect(next).toBeGreaterThan(windowStart);
  expect(out).toMatchObject({
    status: "grouped",
    reason: `grouped into digest/${CHANNEL}/${next}`,
  });
  const { item, flushes } = await outcome(ref);
  // In the index under the open window's digest, which has a flush of its own queued.
  expect(item?.gsi1pk).toBe(digestPartition(CHANNEL, next));
  expect(item?.status).toBe("grouped");
  expect(flushes.map((f) => f?.windowStart)).toEqual([windowStart, next]);
});

it("a mark completed before the cutoff stays in its window", async () => {
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS + WINDOW_MS;
  const allowance = { windowStart, windowMs: WINDOW_MS, max: 3 };
  world.reset();
  const ref = await claimed("on-time-1");

  const out = await groupDelivery(invocation(), n, ref, allowance, quietLogger);

  expect(out).toMatchObject({ reason: `grouped into digest/${CHANNEL}/${windowStart}` });
  const { item, flushes } = await outcome(ref);
  expect(item?.gsi1pk).toBe(digestPartition(CHANNEL, windowStart));
  expect(flushes.map((f) => f?.windowStart)).toEqual([windowStart]);
});

it("a mark late for every window until the deadline gives up (the caller releases the slot), never reports grouped", async () => {
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const allowance = { windowStart, windowMs: WINDOW_MS, max: 3 };
  const ref = await claimed("late-always");
  // Every grouped mark completes 2 windows later than it started.
  const deadline = Date.now() + 5 * WINDOW_MS;
  slowMarks(2 * WINDOW_MS, true);

  const out = await groupDelivery(invocation(deadline), n, ref, allowance, quietLogger);

  expect(out).toMatchObject({ channel: CHANNEL, error: expect.stringMatching(/deadline/) });
});
