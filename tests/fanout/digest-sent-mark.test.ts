/**
 * Red team of a digest sent whose "sent" mark fails for good (issue 12): DynamoDB refusing the
 * mark until the flush's deadline (store/marks.ts `writeWithRetries`: 5 attempts) left the
 * digest's record `sending`, with no list and no flush left to finish it. A copy of one of its
 * entries could not tell from it what the digest had and moved the entry into a later digest:
 * listed twice, recorded as a clean send. Now the claim writes the digest's list before the
 * send, a copy finds its entry listed by the `sending` record (deduplicated), and the flush's
 * copy (flush-retry.ts) finishes the mark with the receipt it got, never sending again.
 * Real flush and fan-out against dynalite, the Slack receiver on 127.0.0.1, the SQS stand-in.
 * AWS time runs 6 times faster (TIME_SCALE 6): a 60 s window is 10 s; the clock is moved, never
 * waited for.
 */
import { randomUUID } from "node:crypto";
import { ddb } from "../../handlers/aws";
import { digestFlushBody, parseDigestFlush } from "../../handlers/contracts/digest-flush";
import { digestRef } from "../../handlers/fanout/digest-build";
import { FLUSH_RETRIES_ATTRIBUTE } from "../../handlers/fanout/flush-retry";
import { digestHas } from "../../handlers/fanout/grouped-copy";
import { claimDelivery } from "../../handlers/store/ledger";
import { SLACK, useLateCopyWorld } from "../support/late-copy";

const t = useLateCopyWorld("sentmark-");
const { notification, messagesOf, runFlush, copyOf, recordsOf, groupInto, pastFlushOf } = t;
const WINDOW_MS = t.windowMs;

/** The `sent` mark of a digest record refused as throttled, every time (DynamoDB down). */
function refuseDigestMarks(windowStart: number): { refused: number } {
  const seen = { refused: 0 };
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const sk = digestRef({ channel: SLACK, windowStart }).slot;
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const input = cmd.input as Record<string, any>;
    const mark = String(input.UpdateExpression ?? "").startsWith("SET #s = :sent");
    if (mark && String(input.Key?.sk ?? "").includes(sk)) {
      seen.refused++;
      // DynamoDB's throttling answer (API reference, "Common Errors": HTTP 400).
      throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
        name: "ThrottlingException",
        $metadata: { httpStatusCode: 400 },
      });
    }
    return send(cmd, ...rest);
  }) as any);
  return seen;
}

it("a digest sent whose sent mark DynamoDB refuses until the deadline: its record lists the entry while sending, a copy of the entry is deduplicated, and the flush's copy finishes the mark without sending again", async () => {
  const { n, windowStart } = await t.groupedPastFlush();
  const queued = t.world.standins.aws.state.sqs.sent.length;
  const seen = refuseDigestMarks(windowStart);

  await runFlush(digestFlushBody({ channel: SLACK, windowStart, windowMs: WINDOW_MS }), "f-1");

  jest.mocked(ddb().send).mockRestore();
  expect(seen.refused).toBe(5); // every attempt of the mark (store/marks.ts writeWithRetries)
  expect(messagesOf(n)).toBe(1);
  const { digest } = await recordsOf(n, windowStart);
  expect(digest).toMatchObject({ status: "sending", detail: { count: 1, notifications: [n.id] } });
  // The flush's copy: the mark to finish, with the claim that sent it.
  const copies = t.world.standins.aws.state.sqs.sent.slice(queued);
  expect(copies).toHaveLength(1);
  expect(copies[0].attributes[FLUSH_RETRIES_ATTRIBUTE]).toBe("1");
  const retry = parseDigestFlush(copies[0].body)!;
  expect(retry.sent).toMatchObject({ claimId: digest!.claimId, ambiguous: false });

  // A copy of the entry's record meanwhile: listed by the sending digest, not moved.
  const copy = await copyOf(n);
  expect(copy.status).toBe("deduplicated");
  expect((await recordsOf(n, windowStart)).item).toMatchObject({
    status: "grouped",
    digestId: `digest/${SLACK}/${windowStart}`,
  });

  await runFlush(copies[0].body, "f-2");

  const finished = (await recordsOf(n, windowStart)).digest!;
  expect(finished).toMatchObject({
    status: "sent",
    action: "sent",
    ambiguous: false,
    receiptId: retry.sent!.receiptId,
    detail: { count: 1, notifications: [n.id] },
  });
  expect(finished.leaseUntil).toBeUndefined();
  expect(messagesOf(n)).toBe(1); // finished, never sent again
}, 30_000);

it("the mark's copy finds the slot taken over by another flush: it changes nothing", async () => {
  const { n, windowStart } = await t.groupedPastFlush();
  const ref = digestRef({ channel: SLACK, windowStart });
  const theirs = await claimDelivery(ref, Date.now() + 60_000, 1);
  expect(theirs.claimed).toBe(true);
  const sent = { claimId: randomUUID(), receiptId: "1764500000.000100", ambiguous: false };
  const body = digestFlushBody({ channel: SLACK, windowStart, windowMs: WINDOW_MS, sent });

  await runFlush(body, "f-3");

  expect((await recordsOf(n, windowStart)).digest).toMatchObject({
    status: "sending",
    claimId: (theirs as { claimId: string }).claimId,
  });
  expect(messagesOf(n)).toBe(0);
}, 30_000);

it("a sending digest record with no list (claimed before claims carried it): the copy moves the entry, and its slot says a digest may list it (mayBeInDigest: the second listing is a possible duplicate)", async () => {
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const n = notification();
  await groupInto(n, windowStart);
  const held = await claimDelivery(digestRef({ channel: SLACK, windowStart }), Date.now(), 1);
  expect(held.claimed).toBe(true);
  pastFlushOf(windowStart);

  const copy = await copyOf(n);

  const next = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  expect(copy).toMatchObject({ status: "grouped", reason: `grouped into digest/${SLACK}/${next}` });
  expect((await recordsOf(n, windowStart)).item).toMatchObject({
    status: "grouped",
    digestId: `digest/${SLACK}/${next}`,
    mayBeInDigest: true,
    mayHaveArrived: true,
  });
}, 30_000);

it("what a digest's record says it has (fanout/grouped-copy.ts digestHas)", () => {
  const list = (status: string, notifications?: string[], more: object = {}) => ({
    status,
    ...(notifications && { notifications, count: notifications.length }),
    ...more,
  });
  expect(digestHas(undefined, "a")).toBe("absent");
  expect(digestHas(list("sent", ["a", "b"]), "a")).toBe("listed");
  expect(digestHas(list("sending", ["a"]), "a")).toBe("listed");
  expect(digestHas(list("sent", ["b"]), "a")).toBe("absent");
  expect(digestHas(list("sending", ["b"]), "a")).toBe("absent");
  // Cut at 200 ids: one it does not name may be past the cut.
  expect(digestHas({ ...list("sent", ["b"]), count: 201 }, "a")).toBe("maybe");
  // A sending record written before claims carried the list.
  expect(digestHas(list("sending"), "a")).toBe("maybe");
  // Released unsent: its retry reads the index again; unless an attempt may have arrived.
  expect(digestHas(list("failed", ["a"]), "a")).toBe("absent");
  expect(digestHas(list("failed", ["a"], { mayHaveArrived: true }), "a")).toBe("maybe");
  expect(digestHas(list("failed", ["b"], { mayHaveArrived: true }), "a")).toBe("absent");
  expect(digestHas(list("abandoned", undefined, { mayHaveArrived: true }), "a")).toBe("maybe");
});
