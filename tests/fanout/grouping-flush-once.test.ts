/**
 * A warm fan-out container queues each digest's flush once (issue 12: fewer DynamoDB calls;
 * fanout/grouping.ts `queueFlush`). Before, every invocation that grouped into a window queued its
 * own delayed flush message, and each copy ran the flush's Query and its claim check: 3 Queries
 * and 4 record writes per digest in the cost probe. A flush SQS did not accept is not remembered,
 * and another container (another process) knows nothing of this one's.
 */
import { parseDigestFlush } from "../../handlers/contracts/digest-flush";
import { groupDelivery } from "../../handlers/fanout/grouping";
import { claimDelivery, type DeliveryRef } from "../../handlers/store/ledger";
import type { Notification } from "../../handlers/types";
import type { FanoutWorld } from "../support/fanout";
import {
  deliveryRefOf,
  handInvocation,
  pipelineFailure,
  quietLogger,
  useQueuedWorld,
} from "../support/grouping";

const CHANNEL = "webhook-once";
const WINDOW_MS = 60_000;

let world: FanoutWorld;
useQueuedWorld((w) => (world = w));
beforeEach(() => world.reset());

/** A window that starts `ahead` windows from now (so no flush of it is due during the test). */
function allowanceOf(ahead: number) {
  const windowStart = (Math.floor(Date.now() / WINDOW_MS) + ahead) * WINDOW_MS;
  return { windowStart, windowMs: WINDOW_MS, max: 3 };
}

/** Groups a new failure into `allowance`'s window in an invocation of its own (claimed first). */
async function groupInNewInvocation(allowance: ReturnType<typeof allowanceOf>) {
  const n: Notification = pipelineFailure("svc-");
  const ref: DeliveryRef = { ...deliveryRefOf(n, CHANNEL), eventId: n.eventId };
  expect((await claimDelivery(ref, Date.now() + 30_000, 1)).claimed).toBe(true);
  const inv = handInvocation(world, Date.now() + 30_000);
  return groupDelivery(inv, n, ref, allowance, quietLogger);
}

/** The window starts of the channel's flush messages SQS accepted, in order. */
const flushesQueued = () =>
  world.standins.aws.state.sqs.sent
    .map((m) => parseDigestFlush(m.body))
    .filter((f) => f?.channel === CHANNEL)
    .map((f) => f?.windowStart);

it("a second invocation of the container grouping into the same window queues no second flush", async () => {
  const a = allowanceOf(1);

  for (let i = 0; i < 3; i++) {
    expect(await groupInNewInvocation(a)).toMatchObject({ status: "grouped" });
  }

  expect(flushesQueued()).toEqual([a.windowStart]);
});

it("each window's flush is queued once: the next window gets its own", async () => {
  const [a, b] = [allowanceOf(2), allowanceOf(3)];

  await groupInNewInvocation(a);
  await groupInNewInvocation(b);
  await groupInNewInvocation(a);
  await groupInNewInvocation(b);

  expect(flushesQueued()).toEqual([a.windowStart, b.windowStart]);
});

it("a flush SQS refused is not remembered: the next invocation queues it", async () => {
  const a = allowanceOf(4);
  // SendMessage answers QueueDoesNotExist once (HTTP 400, API_SendMessage.html "Errors").
  world.standins.aws.faults.sqs = { code: "QueueDoesNotExist", status: 400, times: 1 };
  const refused = await groupInNewInvocation(a);
  expect(refused).toMatchObject({ error: expect.stringContaining("QueueDoesNotExist") });
  expect(flushesQueued()).toEqual([]);

  expect(await groupInNewInvocation(a)).toMatchObject({ status: "grouped" });

  expect(flushesQueued()).toEqual([a.windowStart]);
});
