/**
 * Red team of a grouped slot whose mark outlived its window's flush read (fanout/grouping.ts
 * `groupDelivery`): a grouped mark that fails before the flush cutoff may still have been applied
 * (its reply lost): the flush can read it grouped and send it before the slot's release lands,
 * so the copy's own send is a possible duplicate, never a clean first send. And an entry left
 * `grouped` in a window its flush already read (the mark landed after the read, its move and
 * release failed until the Lambda stopped) is in no digest: the record's copy moves it into the
 * open window's digest (fanout/grouped-copy.ts) instead of deduplicating it, unless that window's
 * sent digest lists it. With the channel's grouping turned off since the mark (a redeploy), the
 * copy has no window to move into: unless that digest lists it, the slot is given back and the
 * copy sends it on its own.
 * Real fan-out and flush against dynalite, the Slack receiver on 127.0.0.1, the SQS stand-in.
 * AWS time runs 6 times faster (TIME_SCALE 6): a 60 s window is 10 s; the clock is moved, never
 * waited for.
 */
import { ddb } from "../../handlers/aws";
import { parseDigestFlush } from "../../handlers/contracts/digest-flush";
import { deliver } from "../../handlers/fanout/deliver";
import { digestRef } from "../../handlers/fanout/digest-build";
import { openGate } from "../../handlers/fanout/gate";
import { allowanceFor, FLUSH_GRACE_MS } from "../../handlers/fanout/grouping";
import type { Invocation } from "../../handlers/fanout/invocation";
import { paceDelivery } from "../../handlers/fanout/pace";
import { scaledMs } from "../../handlers/http";
import { claimDelivery } from "../../handlers/store/ledger";
import type { Notification } from "../../handlers/types";
import { quietLogger } from "../support/grouping";
import { SLACK, useLateCopyWorld } from "../support/late-copy";

const t = useLateCopyWorld("latecopy-");
const { clock, invocation, notification, messagesOf, flushWindow, copyOf, recordsOf } = t;
const { groupInto, pastFlushOf } = t;
const WINDOW_MS = t.windowMs;
const quiet = quietLogger;

/** Spends the window's 3 individual Slack messages under `inv` (its pacing memo learns it). */
async function spend(inv: Invocation): Promise<number> {
  const allowance = allowanceFor(inv.config, SLACK)!;
  for (let i = 0; i < 3; i++) {
    await paceDelivery(SLACK, "slack", inv.deadline, undefined, Date.now, allowance);
  }
  return allowance.windowStart;
}

it("a one-write grouped mark applied, its reply lost and the deadline come before the flush cutoff: the flush lists it before the release lands, so the copy's send is a possible duplicate", async () => {
  // The invocation's deadline (and its marks' grace) ends well before the window's flush cutoff.
  const inv = invocation(Date.now() + 2000);
  const windowStart = await spend(inv);
  const n = notification();
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const seen = { lost: 0, flushed: false };
  const spy = jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const input = cmd.input as Record<string, any>;
    const mine = String(input.Key?.sk ?? "").includes(n.id);
    const release = String(input.UpdateExpression ?? "").includes("lastError = :e");
    if (mine && release && !seen.flushed) {
      // The release is one more call that can complete late: the flush reads the window first.
      seen.flushed = true;
      await flushWindow(windowStart);
    }
    const out = await send(cmd, ...rest);
    if (mine && input.ConditionExpression === "attribute_not_exists(pk)") {
      // Applied, its answer lost (the SDK's socket timeout) while the deadline passed.
      seen.lost++;
      clock.offset += inv.deadline + scaledMs(2000) + 100 - Date.now();
      throw Object.assign(new Error("socket timed out"), { name: "TimeoutError" });
    }
    return out;
  }) as any);

  const first = await deliver(inv, n, { channel: SLACK, slot: SLACK }, openGate({}), quiet);
  spy.mockRestore();
  const cutoff = windowStart + WINDOW_MS + scaledMs(FLUSH_GRACE_MS) - scaledMs(1000);
  expect(Date.now()).toBeLessThan(cutoff); // the mark failed before the cutoff
  expect(seen).toEqual({ lost: 1, flushed: true });
  expect(first.status).toBe("failed");
  const { digest } = await recordsOf(n, windowStart);
  expect(digest!.detail.notifications).toContain(n.id);

  const copy = await copyOf(n);

  expect(copy.status).toBe("sent");
  expect(messagesOf(n)).toBe(2);
  expect(copy.ambiguous).toBe(true);
  const { item } = await recordsOf(n, windowStart);
  expect(item).toMatchObject({ status: "sent", ambiguous: true });
}, 30_000);

/** The digest-flush messages queued for Slack's window of `windowStart`. */
function flushesOf(windowStart: number) {
  return t.world.standins.aws.state.sqs.sent
    .map((m) => parseDigestFlush(m.body))
    .filter((f) => f?.channel === SLACK && f.windowStart === windowStart);
}

it("an entry left grouped in a window its flush already sent without it: the copy moves it into the open window's digest, which sends it once", async () => {
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const other = notification();
  const n = notification();
  await groupInto(other, windowStart);
  await flushWindow(windowStart);
  // The window was read and sent (with the other entry only); then n's mark lands in it.
  await groupInto(n, windowStart);
  const sent = (await recordsOf(other, windowStart)).digest!;
  expect(sent.detail.notifications).toEqual([other.id]);
  pastFlushOf(windowStart);

  const copy = await copyOf(n);

  const next = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  expect(copy).toMatchObject({ status: "grouped", reason: `grouped into digest/${SLACK}/${next}` });
  const { item } = await recordsOf(n, windowStart);
  expect(item).toMatchObject({ status: "grouped", digestId: `digest/${SLACK}/${next}` });
  expect(messagesOf(n)).toBe(0);
  // The open window's flush was queued; it sends the entry, once.
  expect(flushesOf(next)).toHaveLength(1);
  await flushWindow(next, "f-2");
  expect(messagesOf(n)).toBe(1);
  expect((await recordsOf(n, next)).digest!.detail.notifications).toEqual([n.id]);
  // A later copy finds it listed by that digest: deduplicated, no second move.
  pastFlushOf(next);
  expect((await copyOf(n)).status).toBe("deduplicated");
  expect(messagesOf(n)).toBe(1);
}, 30_000);

it("an entry left grouped in a window whose flush read it empty (no digest record): the copy moves it too", async () => {
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const n = notification();
  await flushWindow(windowStart); // nothing grouped yet: no digest, no record
  await groupInto(n, windowStart);
  pastFlushOf(windowStart);
  expect((await recordsOf(n, windowStart)).digest).toBeUndefined();

  const copy = await copyOf(n);

  expect(copy.status).toBe("grouped");
  const next = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  await flushWindow(next);
  expect(messagesOf(n)).toBe(1);
}, 30_000);

it("the same when the copy takes the one-write path (the open window known spent): its refusal carries the digest", async () => {
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const n = notification();
  await flushWindow(windowStart);
  await groupInto(n, windowStart);
  pastFlushOf(windowStart);
  const next = await spend(invocation(Date.now() + 20_000));
  const writes: string[] = [];
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const spy = jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    writes.push(String(cmd.input.ConditionExpression));
    return send(cmd, ...rest);
  }) as any);

  const copy = await copyOf(n);

  expect(writes).toContain("attribute_not_exists(pk)"); // the one write, refused by the slot
  expect(copy).toMatchObject({ status: "grouped", reason: `grouped into digest/${SLACK}/${next}` });
  spy.mockRestore();
  await flushWindow(next);
  expect(messagesOf(n)).toBe(1);
}, 30_000);

it("an entry the window's sent digest lists: the copy is deduplicated, with no move and no flush queued", async () => {
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const n = notification();
  await groupInto(n, windowStart);
  await flushWindow(windowStart);
  expect(messagesOf(n)).toBe(1);
  pastFlushOf(windowStart);
  const queued = t.world.standins.aws.state.sqs.sent.length;

  const copy = await copyOf(n);

  expect(copy.status).toBe("deduplicated");
  const { item } = await recordsOf(n, windowStart);
  expect(item).toMatchObject({ status: "grouped", digestId: `digest/${SLACK}/${windowStart}` });
  expect(t.world.standins.aws.state.sqs.sent).toHaveLength(queued);
  expect(messagesOf(n)).toBe(1);
}, 30_000);

it("a grouped entry whose window's flush is not yet due: the copy is deduplicated without a read", async () => {
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const n = notification();
  await groupInto(n, windowStart);
  const reads: string[] = [];
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    reads.push(cmd.constructor.name);
    return send(cmd, ...rest);
  }) as any);

  const copy = await copyOf(n);

  expect(copy.status).toBe("deduplicated");
  expect(reads).not.toContain("GetCommand");
  expect((await recordsOf(n, windowStart)).item!.digestId).toBe(`digest/${SLACK}/${windowStart}`);
}, 30_000);

/**
 * `n`'s delivery to Slack under a fresh invocation whose config no longer groups Slack (its
 * grouping turned off by a config change and a redeploy after the grouped mark).
 */
function copyUngrouped(n: Notification) {
  const inv = invocation(Date.now() + 20_000);
  const grouping = {
    enabled: true,
    channels: { ...inv.config.grouping?.channels, [SLACK]: false },
  };
  return copyOf(n, { ...inv, config: { ...inv.config, grouping } } as Invocation);
}

describe("the channel's grouping turned off between the grouped mark and the copy", () => {
  it("a window whose flush read it empty (the mark came after): the copy sends it on its own, once", async () => {
    const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const n = notification();
    await flushWindow(windowStart);
    await groupInto(n, windowStart);
    pastFlushOf(windowStart);

    const copy = await copyUngrouped(n);

    expect(copy.status).toBe("sent");
    expect(copy.ambiguous).toBeUndefined();
    expect(messagesOf(n)).toBe(1);
    const { item } = await recordsOf(n, windowStart);
    expect(item).toMatchObject({ status: "sent", ambiguous: false });
    expect(item!.digestId).toBeUndefined();
  }, 30_000);

  it("a window whose flush has not run yet: sent on its own, and the flush then finds nothing", async () => {
    const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const n = notification();
    await groupInto(n, windowStart);

    expect((await copyUngrouped(n)).status).toBe("sent");
    pastFlushOf(windowStart);
    await flushWindow(windowStart);

    expect(messagesOf(n)).toBe(1);
    expect((await recordsOf(n, windowStart)).digest).toBeUndefined();
  }, 30_000);

  it("listed by the window's sent digest: deduplicated", async () => {
    const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const n = notification();
    await groupInto(n, windowStart);
    pastFlushOf(windowStart);
    await flushWindow(windowStart);

    expect((await copyUngrouped(n)).status).toBe("deduplicated");
    expect(messagesOf(n)).toBe(1);
  }, 30_000);

  it("a sending digest whose record cannot say (no list): sent on its own, recorded as a possible duplicate", async () => {
    const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const n = notification();
    await groupInto(n, windowStart);
    const digest = digestRef({ channel: SLACK, windowStart });
    expect((await claimDelivery(digest, Date.now() + 60_000, 1)).claimed).toBe(true);
    pastFlushOf(windowStart);

    const copy = await copyUngrouped(n);

    expect(copy).toMatchObject({ status: "sent", ambiguous: true });
    expect((await recordsOf(n, windowStart)).item).toMatchObject({
      status: "sent",
      ambiguous: true,
    });
  }, 30_000);
});
