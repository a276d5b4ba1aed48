/**
 * Red team of the digest's list cut at 200 ids (issue 12). A digest of more entries than its
 * record lists went out with all of them; a copy of an entry past the cut, arriving after the
 * flush (its record retried for another channel), could not find it in the list ("maybe") and
 * moved it into the next digest: the channel got it twice, though no reply was lost — a certain
 * second send counted as a possible one.
 * Real flush and fan-out against dynalite, the Slack receiver on 127.0.0.1, the SQS stand-in.
 * AWS time runs 6 times faster (TIME_SCALE 6): a 60 s window is 10 s; the clock is moved, never
 * waited for.
 */
import type { Notification } from "../../handlers/types";
import { SLACK, useLateCopyWorld } from "../support/late-copy";

const t = useLateCopyWorld("listcut-");
const { notification, flushWindow, copyOf, recordsOf, groupInto, pastFlushOf } = t;
const WINDOW_MS = t.windowMs;

it("a digest of 201 entries sent: the copy of any entry is deduplicated, none moved into the next digest", async () => {
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const all: Notification[] = [];
  for (let i = 0; i < 201; i++) {
    const n = notification();
    all.push(n);
    await groupInto(n, windowStart);
  }
  pastFlushOf(windowStart);
  await flushWindow(windowStart);
  const digest = (await recordsOf(all[0], windowStart)).digest!;
  expect(digest).toMatchObject({ status: "sent", detail: { count: 201 } });

  // The entry the record names last, or the one it leaves out when cut.
  const listed = new Set<string>(digest.detail.notifications);
  const last = all.find((n) => !listed.has(n.id)) ?? all[all.length - 1];
  const copy = await copyOf(last);

  expect(copy.status).toBe("deduplicated");
  const { item } = await recordsOf(last, windowStart);
  expect(item).toMatchObject({ status: "grouped", digestId: `digest/${SLACK}/${windowStart}` });
  expect(digest.detail.notifications).toHaveLength(201);
}, 60_000);
