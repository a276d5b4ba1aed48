/**
 * Red team of the digest's read of its window vs a copy that moves or releases an entry (issue
 * 12). The flush reads the window's index, then claims the digest's record (which writes its
 * list); a copy of an entry whose flush time is past reads that record, finds none (the claim not
 * yet made: throttled, or simply later) and moves the entry to the open window's digest, or, its
 * channel no longer grouped, sends it on its own. The flush's read still had the entry: the
 * digest sent it too, and nothing recorded the second send as a possible duplicate.
 * Real flush and fan-out against dynalite, the Slack receiver on 127.0.0.1, the SQS stand-in;
 * the flush's claim is held (not changed) until the copy is done. AWS time runs 6 times faster
 * (TIME_SCALE 6): a 60 s window is 10 s; the clock is moved, never waited for.
 */
import { ddb } from "../../handlers/aws";
import { digestFlushBody } from "../../handlers/contracts/digest-flush";
import { digestRef } from "../../handlers/fanout/digest-build";
import { allowanceFor } from "../../handlers/fanout/grouping";
import type { Invocation } from "../../handlers/fanout/invocation";
import { paceDelivery } from "../../handlers/fanout/pace";
import type { Notification } from "../../handlers/types";
import { SLACK, useLateCopyWorld } from "../support/late-copy";

const t = useLateCopyWorld("readrace-");
const { notification, messagesOf, runFlush, copyOf, recordsOf, groupInto, pastFlushOf } = t;
const WINDOW_MS = t.windowMs;

/**
 * Holds the first DynamoDB request of this process for which `matches(input)` holds (the real
 * request, sent unchanged once `go` is called): `reached` resolves when it is about to be sent.
 */
function holdRequest(matches: (input: Record<string, any>) => boolean) {
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  let reach = () => undefined as void;
  let go = () => undefined as void;
  const reached = new Promise<void>((r) => (reach = r));
  const released = new Promise<void>((r) => (go = r));
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    if (matches(cmd.input as Record<string, any>)) {
      reach();
      await released;
    }
    return send(cmd, ...rest);
  }) as any);
  return { reached, go: () => go() };
}

/**
 * Holds the flush's claim of the digest record of `windowStart`: `reached` resolves when the
 * flush has read its window and is about to claim.
 */
function holdDigestClaim(windowStart: number): { reached: Promise<void>; go: () => void } {
  const sk = digestRef({ channel: SLACK, windowStart }).slot;
  return holdRequest(
    (input) =>
      String(input.UpdateExpression ?? "").startsWith("SET #s = :sending") &&
      String(input.Key?.sk ?? "").includes(sk),
  );
}

/**
 * Holds the copy's write that takes `n`'s slot out of its digest (store/digest.ts `moveGrouped`
 * or `releaseGrouped`: conditional on the slot still grouped into it): `reached` resolves when
 * the copy has read the digest's record and is about to write.
 */
function holdCopyWrite(n: Notification): { reached: Promise<void>; go: () => void } {
  return holdRequest(
    (input) =>
      String(input.ConditionExpression ?? "") === "#s = :g AND digestId = :from" &&
      String(input.Key?.sk ?? "").includes(n.id),
  );
}

/** `n`'s copy under an invocation whose config no longer groups Slack (a redeploy). */
function copyUngrouped(n: Notification) {
  const inv = t.invocation(Date.now() + 20_000);
  const grouping = {
    enabled: true,
    channels: { ...inv.config.grouping?.channels, [SLACK]: false },
  };
  return copyOf(n, { ...inv, config: { ...inv.config, grouping } } as Invocation);
}

/** Runs the flush of `windowStart` with its claim held until `during` (the copy) is done. */
async function flushAround<T>(windowStart: number, during: () => Promise<T>): Promise<T> {
  const hold = holdDigestClaim(windowStart);
  const body = digestFlushBody({ channel: SLACK, windowStart, windowMs: WINDOW_MS });
  const flush = runFlush(body, "f-race");
  await hold.reached;
  const result = await during();
  hold.go();
  await flush;
  jest.mocked(ddb().send).mockRestore();
  return result;
}

it("a copy moves the entry after the flush read the window and before its claim: the entry reaches Slack once", async () => {
  const { n, windowStart } = await t.groupedPastFlush();

  const copy = await flushAround(windowStart, () => copyOf(n));
  expect(copy.status).toBe("grouped");
  const next = windowStart + WINDOW_MS;
  expect(copy.reason).toBe(`grouped into digest/${SLACK}/${next}`);
  pastFlushOf(next);
  await t.flushWindow(next, "f-next");

  // Once: the digest of the window read before the move must not send it too.
  expect(messagesOf(n)).toBe(1);
  const { digest } = await recordsOf(n, windowStart);
  expect(digest?.detail?.notifications ?? []).not.toContain(n.id);
}, 30_000);

it("the channel no longer grouped, a copy sends the entry on its own after the flush read the window and before its claim: the entry reaches Slack once", async () => {
  const { n, windowStart } = await t.groupedPastFlush();

  const copy = await flushAround(windowStart, () => copyUngrouped(n));
  expect(copy.status).toBe("sent");

  expect(messagesOf(n)).toBe(1);
  const { item, digest } = await recordsOf(n, windowStart);
  expect(item).toMatchObject({ status: "sent" });
  expect(digest?.detail?.notifications ?? []).not.toContain(n.id);
}, 30_000);

/** Runs `copy` with its write held until the flush of `windowStart` is done. */
async function copyAround<T>(n: Notification, windowStart: number, copy: () => Promise<T>) {
  const hold = holdCopyWrite(n);
  const running = copy();
  await hold.reached;
  await runFlush(digestFlushBody({ channel: SLACK, windowStart, windowMs: WINDOW_MS }), "f-race");
  hold.go();
  const result = await running;
  jest.mocked(ddb().send).mockRestore();
  return result;
}

it("a copy whose move lands after the flush read, claimed and sent its window: the digest left it out, it reaches Slack once", async () => {
  const { n, windowStart } = await t.groupedPastFlush();

  const copy = await copyAround(n, windowStart, () => copyOf(n));
  expect(copy.status).toBe("grouped");
  const next = windowStart + WINDOW_MS;
  pastFlushOf(next);
  await t.flushWindow(next, "f-next");

  expect(messagesOf(n)).toBe(1);
  const { item, digest } = await recordsOf(n, windowStart);
  // The flush's claim found the entry taken out: nothing left to send, its claim given back.
  expect(digest).toMatchObject({ status: "failed", detail: { count: 0, notifications: [] } });
  expect(item).toMatchObject({ status: "grouped", digestId: `digest/${SLACK}/${next}` });
  expect(item!.mayBeInDigest).toBeUndefined();
  expect((await recordsOf(n, next)).digest).toMatchObject({ status: "sent", ambiguous: false });
}, 30_000);

it("the channel no longer grouped, a copy whose release lands after the flush read, claimed and sent its window: sent once, on its own", async () => {
  const { n, windowStart } = await t.groupedPastFlush();

  const copy = await copyAround(n, windowStart, () => copyUngrouped(n));
  expect(copy.status).toBe("sent");
  expect(copy.ambiguous).toBeUndefined();

  expect(messagesOf(n)).toBe(1);
  const { item, digest } = await recordsOf(n, windowStart);
  expect(digest).toMatchObject({ status: "failed", detail: { count: 0, notifications: [] } });
  expect(item).toMatchObject({ status: "sent", ambiguous: false });
}, 30_000);

it("a copy past its window's flush reads nothing: the fan-out's role has no GetItem on DELIVERY# items (infra/grants.ts)", async () => {
  const { n } = await t.groupedPastFlush();
  const client = ddb();
  const calls = jest.spyOn(client, "send");

  expect((await copyOf(n)).status).toBe("grouped");
  expect((await copyUngrouped(n)).status).toBe("sent");

  // tests/infra/grants.test.ts: on a delivery key the fan-out may UpdateItem only; AWS answers
  // any other action with AccessDeniedException.
  const names = calls.mock.calls.map(([cmd]) => (cmd as object).constructor.name);
  expect(names.filter((c) => /^(Get|BatchGet)/.test(c))).toEqual([]);
}, 30_000);

it("a move that completes past the next window's cutoff, after that window's flush sent the entry: not moved on again, it reaches Slack once", async () => {
  const windowStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const next = windowStart + WINDOW_MS;
  const n = notification();
  await groupInto(n, windowStart);
  pastFlushOf(windowStart);
  // The move into the next window's digest lands, and its reply comes back only after that
  // window's flush ran (one SDK call under throttling): the flush read the entry and sent it.
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const from = `digest/${SLACK}/${windowStart}`;
  let late = false;
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const input = cmd.input as Record<string, any>;
    const move = input.ExpressionAttributeValues?.[":from"] === from;
    const out = await send(cmd, ...rest);
    if (move && !late && String(input.Key?.sk ?? "").includes(n.id)) {
      late = true;
      pastFlushOf(next);
      await t.flushWindow(next, "f-next");
    }
    return out;
  }) as any);

  // An invocation with time left to move it on (its deadline 5 windows away).
  const copy = await copyOf(n, t.invocation(Date.now() + 5 * WINDOW_MS));
  jest.mocked(ddb().send).mockRestore();
  expect(late).toBe(true);
  const after = next + WINDOW_MS;
  pastFlushOf(after);
  await t.flushWindow(after, "f-after");

  expect(messagesOf(n)).toBe(1);
  expect(copy).toMatchObject({ status: "grouped", reason: `grouped into digest/${SLACK}/${next}` });
  expect((await recordsOf(n, after)).digest).toBeUndefined();
}, 30_000);

it("a first grouped mark applied before its window's flush read, whose reply comes back after it: left in that digest, not moved into the next, it reaches Slack once", async () => {
  // The window's 3 individual Slack messages spent (the container learns it: one-write path).
  const inv = t.invocation(Date.now() + 5 * WINDOW_MS);
  const allowance = allowanceFor(inv.config, SLACK)!;
  for (let i = 0; i < 3; i++) {
    await paceDelivery(SLACK, "slack", inv.deadline, undefined, Date.now, allowance);
  }
  const { windowStart } = allowance;
  const next = windowStart + WINDOW_MS;
  const n = notification();
  // The grouped mark is applied; its reply comes back after the window's flush read and sent it
  // (a lost reply repeated by the SDK after its request timeout).
  const mark = t.lateGroupedMark(n, windowStart, async () => {
    pastFlushOf(windowStart);
    await t.flushWindow(windowStart);
  });

  const copy = await copyOf(n, inv);
  jest.mocked(ddb().send).mockRestore();
  expect(mark.applied()).toBe(true);
  pastFlushOf(next);
  await t.flushWindow(next, "f-next");

  expect(messagesOf(n)).toBe(1);
  expect(copy).toMatchObject({
    status: "grouped",
    reason: `grouped into digest/${SLACK}/${windowStart}`,
  });
  expect((await recordsOf(n, next)).digest).toBeUndefined();
}, 30_000);
