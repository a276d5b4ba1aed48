/**
 * A digest flush for a channel removed from the stack config (a redeploy between the entries'
 * grouping and the flush; round 15 audit). It used to be dropped with a log line only: the
 * entries' records said "grouped into digest …" forever and nothing in the audit trail said they
 * were never sent. Now nothing is sent and the digest's own record says dropped, with the reason
 * and its entries' ids as a sent digest lists them (store/digest-drop.ts); `abandoned`, so a copy
 * of an entry whose channel is configured again is not deduplicated by it. A flush's copy that
 * only finishes a `sent` mark (nothing to send) finishes it whatever the config.
 * Real flush and fan-out against dynalite, the Slack receiver on 127.0.0.1, the SQS stand-in.
 * AWS time runs 6 times faster (TIME_SCALE 6: a 60 s window is 10 s); the clock is moved.
 */
import { randomUUID } from "node:crypto";
import { ddb } from "../../handlers/aws";
import { digestFlushBody } from "../../handlers/contracts/digest-flush";
import { digestRef } from "../../handlers/fanout/digest-build";
import { flushDigestRecord } from "../../handlers/fanout/digest-flush";
import type { Invocation } from "../../handlers/fanout/invocation";
import { dropDigest } from "../../handlers/store/digest-drop";
import { digestHas, excludeFromDigest } from "../../handlers/store/digest-record";
import { claimDelivery } from "../../handlers/store/ledger";
import { groupingLedger } from "../../scripts/lib/chaos-tally";
import { isAuditRecord } from "../../sandbox/audit-trail";
import { record } from "../support/fanout";
import { SLACK, useLateCopyWorld } from "../support/late-copy";

const t = useLateCopyWorld("dropped-");
const { messagesOf, copyOf, recordsOf, flushWindow } = t;
const WINDOW_MS = t.windowMs;
const REASON = `dropped: channel ${SLACK} is no longer in the stack config`;

/** An invocation of the stack config redeployed without the Slack channel. */
function withoutSlack(): Invocation {
  const inv = t.invocation(Date.now() + 20_000);
  const { [SLACK]: _gone, ...channels } = inv.config.channels;
  return { ...inv, config: { ...inv.config, channels } };
}

/** Runs the flush of the Slack digest of `windowStart` under `inv`; it must be done. */
async function flushUnder(inv: Invocation, windowStart: number, body?: string): Promise<void> {
  const msg = body ?? digestFlushBody({ channel: SLACK, windowStart, windowMs: WINDOW_MS });
  expect(await flushDigestRecord(inv, record(msg, randomUUID()))).toBe(true);
}

it("a flush for a channel no longer configured sends nothing, and the digest's record says dropped, why, and which entries", async () => {
  const { n, windowStart } = await t.groupedPastFlush();

  await flushUnder(withoutSlack(), windowStart);

  expect(messagesOf(n)).toBe(0);
  const { item, digest } = await recordsOf(n, windowStart);
  expect(digest).toMatchObject({
    status: "abandoned",
    action: "failed",
    result: REASON,
    lastError: REASON,
    channel: SLACK,
    detail: { kind: "digest", count: 1, notifications: [n.id], dropped: true },
  });
  expect(digest!.mayHaveArrived).toBeUndefined();
  // The entry's record points at it.
  expect(item).toMatchObject({ status: "grouped", digestId: digest!.notificationId });
  // The readers: the sandbox's audit view shows it; the chaos tally counts it dropped, not sent.
  expect(isAuditRecord(digest!)).toBe(true);
  const ledger = groupingLedger([digest!]);
  expect(ledger.sentDigests.has(digest!.notificationId)).toBe(false);
  expect(ledger.droppedDigests?.get(digest!.notificationId)).toEqual(new Set([n.id]));
  // A copy of its entry learns it never went out.
  expect(digestHas({ status: digest!.status, notifications: [n.id], count: 1 }, n.id)).toBe(
    "absent",
  );
}, 30_000);

it("the channel configured again: the dropped digest is not flushed again, and a copy of its entry is not deduplicated by it but moved into the open window's digest, which sends it once", async () => {
  const { n, windowStart } = await t.groupedPastFlush();
  await flushUnder(withoutSlack(), windowStart);

  // A duplicate of the flush, the channel back: the digest's record stays dropped.
  await flushWindow(windowStart, "f-dup");
  expect(messagesOf(n)).toBe(0);
  expect((await recordsOf(n, windowStart)).digest).toMatchObject({ status: "abandoned" });

  const copy = await copyOf(n);
  const next = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  expect(copy).toMatchObject({ status: "grouped", reason: `grouped into digest/${SLACK}/${next}` });
  t.pastFlushOf(next);
  await flushWindow(next, "f-next");
  expect(messagesOf(n)).toBe(1);
  expect((await recordsOf(n, next)).digest).toMatchObject({
    status: "sent",
    detail: { notifications: [n.id] },
  });
}, 30_000);

it("a digest taken over from a flush still sending under the old config may have gone out: the drop says so, and a copy of its entry moves it as a possible duplicate", async () => {
  const { n, windowStart } = await t.groupedPastFlush();
  const ref = digestRef({ channel: SLACK, windowStart });
  // A flush under the old config claimed it (its list written) and stopped: its lease ran out.
  const list = { kind: "digest", count: 1, notifications: [n.id] };
  const old = await claimDelivery(ref, Date.now() - 1, 1, Date.now(), undefined, list);
  expect(old.claimed).toBe(true);

  await flushUnder(withoutSlack(), windowStart);

  const { digest } = await recordsOf(n, windowStart);
  expect(digest).toMatchObject({ status: "abandoned", result: REASON, mayHaveArrived: true });
  expect(messagesOf(n)).toBe(0);
  const copy = await copyOf(n);
  expect(copy.status).toBe("grouped");
  expect((await recordsOf(n, windowStart)).item).toMatchObject({ mayBeInDigest: true });
}, 30_000);

it("an entry a copy took out of the digest (excluded) between the flush's read and its drop is not listed as dropped", async () => {
  const { n, windowStart } = await t.groupedPastFlush();
  const other = t.notification();
  await t.groupInto(other, windowStart);
  const ref = digestRef({ channel: SLACK, windowStart });
  // The copy's exclusion lands after the flush's read: held until then.
  const read = { done: false };
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const out = await send(cmd, ...rest);
    if (!read.done && cmd.input?.IndexName !== undefined) {
      read.done = true;
      expect(await excludeFromDigest(ref, other.id, Date.now() + 5000)).toBe("absent");
    }
    return out;
  }) as any);

  await flushUnder(withoutSlack(), windowStart);

  expect(read.done).toBe(true);
  const { digest } = await recordsOf(n, windowStart);
  expect(digest).toMatchObject({
    status: "abandoned",
    result: REASON,
    detail: { count: 1, notifications: [n.id], dropped: true },
  });
  expect(messagesOf(n) + messagesOf(other)).toBe(0);
}, 30_000);

it("the drop applied but its reply lost (the SDK's repeat refused by it): still recorded as this drop, its exclusions left out", async () => {
  const { n, windowStart } = await t.groupedPastFlush();
  const ref = digestRef({ channel: SLACK, windowStart });
  const other = t.notification();
  expect(await excludeFromDigest(ref, other.id, Date.now() + 5000)).toBe("absent");
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const seen = { repeated: 0 };
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const drop = String(cmd.input?.UpdateExpression ?? "").startsWith("SET #s = :abandoned");
    if (!drop || seen.repeated > 0) return send(cmd, ...rest);
    // Applied, its answer lost: what comes back is the repeat's, refused by this very write.
    await send(cmd, ...rest);
    seen.repeated++;
    return send(cmd, ...rest);
  }) as any);
  const listed = { kind: "digest", count: 2, notifications: [n.id, other.id] };

  expect(await dropDigest(ref, listed, REASON, 1, Date.now() + 5000)).toBe(true);

  expect(seen.repeated).toBe(1);
  expect((await recordsOf(n, windowStart)).digest).toMatchObject({
    status: "abandoned",
    detail: { count: 1, notifications: [n.id], dropped: true },
  });
}, 30_000);

it("a flush's copy that only finishes the sent mark of a digest already sent finishes it though its channel is no longer configured", async () => {
  const { n, windowStart } = await t.groupedPastFlush();
  const ref = digestRef({ channel: SLACK, windowStart });
  const claim = await claimDelivery(ref, Date.now() + 60_000, 1);
  expect(claim.claimed).toBe(true);
  const claimId = (claim as { claimId: string }).claimId;
  const sent = { claimId, receiptId: "1764500000.000100", ambiguous: false };
  const body = digestFlushBody({ channel: SLACK, windowStart, windowMs: WINDOW_MS, sent });

  await flushUnder(withoutSlack(), windowStart, body);

  expect((await recordsOf(n, windowStart)).digest).toMatchObject({
    status: "sent",
    receiptId: sent.receiptId,
    claimId,
  });
  expect(messagesOf(n)).toBe(0);
}, 30_000);
