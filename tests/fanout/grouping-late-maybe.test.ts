/**
 * Red team of dca8c63 (fanout/grouping.ts `regroupLate`): a first grouped mark applied before its
 * window's flush read it, whose reply comes back after that flush tried the digest and got no
 * answer (Slack acted on the request, the reply was lost: the digest's record says failed,
 * `mayHaveArrived`, listing the entry). The late mark takes the entry out of that digest
 * (store/digest-record.ts `excludeFromDigest`: "maybe", the attempt may have delivered it) and
 * moves it into the open window's digest, which sends it again: that second send must be recorded
 * as a possible duplicate (`mayBeInDigest`, as fanout/grouped-copy.ts's move records it; the
 * chaos tally counts such a move as an ambiguous send, scripts/lib/chaos-tally.ts).
 * Real fan-out and flushes against dynalite, the Slack receiver on 127.0.0.1 losing the digest's
 * replies; AWS time 6 times faster, the clock moved, never waited for.
 */
import { ddb } from "../../handlers/aws";
import { allowanceFor } from "../../handlers/fanout/grouping";
import { paceDelivery } from "../../handlers/fanout/pace";
import { SLACK, useLateCopyWorld } from "../support/late-copy";

const t = useLateCopyWorld("latemaybe-");
const { notification, messagesOf, copyOf, recordsOf, pastFlushOf } = t;
const WINDOW_MS = t.windowMs;

it("a first grouped mark whose reply comes back after its window's digest attempt may have arrived: moved on, recorded as maybe in that digest", async () => {
  // The window's 3 individual Slack messages spent (the container learns it: one-write path).
  const inv = t.invocation(Date.now() + 5 * WINDOW_MS);
  const allowance = allowanceFor(inv.config, SLACK)!;
  for (let i = 0; i < 3; i++) {
    await paceDelivery(SLACK, "slack", inv.deadline, undefined, Date.now, allowance);
  }
  const { windowStart } = allowance;
  const n = notification();
  // The grouped mark is applied; its reply comes back after the window's flush sent the digest
  // and lost every reply (Slack acted on each request; the connection was reset).
  const mark = t.lateGroupedMark(n, windowStart, async () => {
    pastFlushOf(windowStart);
    t.world.standins.receivers.setFault("slack", { kind: "lost-reply", times: 100 });
    await t.flushWindow(windowStart);
    t.world.standins.receivers.setFault("slack", null);
  });

  const copy = await copyOf(n, inv);
  jest.mocked(ddb().send).mockRestore();
  expect(mark.applied()).toBe(true);
  const { item, digest } = await recordsOf(n, windowStart);
  expect(digest).toMatchObject({ status: "failed", mayHaveArrived: true });
  expect(messagesOf(n)).toBeGreaterThanOrEqual(1);
  expect(copy).toMatchObject({ status: "grouped" });
  expect(copy.reason).not.toBe(`grouped into digest/${SLACK}/${windowStart}`);
  // Its next digest sends it again: the record says it may be in that earlier one.
  expect(item).toMatchObject({ status: "grouped", mayBeInDigest: true, mayHaveArrived: true });
  const next = Number(String(copy.reason).split("/").pop());
  pastFlushOf(next);
  await t.flushWindow(next, "f-next");
  expect(messagesOf(n)).toBeGreaterThanOrEqual(2);
  expect((await recordsOf(n, next)).digest).toMatchObject({ status: "sent" });
}, 30_000);
