/**
 * Red team of the grouped first attempt in one write (fanout/group-first.ts) and of the release of
 * a grouped slot (fanout/grouping.ts `groupDelivery`, `regroupLate`): a grouped mark that
 * completed after its window's flush cutoff may already be in the digest that flush sent. When
 * its move to a later digest then fails (the deadline came), the slot is released and the
 * record's copy sends the notification on its own: the same message reaches the channel twice,
 * so that send must be recorded as a possible duplicate (README "Exactly once": `ambiguous`),
 * never as a clean first send. Real fan-out against dynalite, HTTP receivers on 127.0.0.1, the
 * SQS stand-in; the clock jumps while the write is on the wire (tests/support/fanout.ts
 * `jumpClockOnWrite`), as one SDK call under throttling completes seconds after it started.
 * AWS time runs 6 times faster (TIME_SCALE 6): a 60 s window is 10 s. The clock is moved, never
 * waited for, and never runs back: the record's copy comes after the jump, as on AWS (it used to
 * come back to the real clock and wait about 9 s for the send slot the flush had taken at the
 * jumped time).
 */
import { ddb } from "../../handlers/aws";
import { digestFlushBody } from "../../handlers/contracts/digest-flush";
import { deliver } from "../../handlers/fanout/deliver";
import { flushDigestRecord } from "../../handlers/fanout/digest-flush";
import { openGate } from "../../handlers/fanout/gate";
import { allowanceFor, FLUSH_GRACE_MS } from "../../handlers/fanout/grouping";
import type { Invocation } from "../../handlers/fanout/invocation";
import { paceDelivery } from "../../handlers/fanout/pace";
import { scaledMs } from "../../handlers/http";
import { forgetPaceMemo } from "../../handlers/store/pacing";
import type { Notification } from "../../handlers/types";
import { createAuditReader } from "../../sandbox/audit-trail";
import {
  jumpClockOnWrite,
  record,
  startFanoutWorld,
  TABLE,
  type FanoutWorld,
} from "../support/fanout";
import { handInvocation, pipelineFailure, quietLogger } from "../support/grouping";

const EVENTS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events";
const SCALE = 6;
const SLACK = "slack-eng";
/** A webhook channel: its receiver deduplicates by `Idempotency-Key` (handlers/channels/webhook.ts). */
const HOOK = "hook-ops";

/** A channel under test: its name and its receiver's kind (testing/receivers). */
interface Channel {
  name: string;
  kind: "slack" | "webhook";
}
const SLACK_CH: Channel = { name: SLACK, kind: "slack" };
const HOOK_CH: Channel = { name: HOOK, kind: "webhook" };

/** A 60 s grouping window on this file's clock (TIME_SCALE is set in beforeAll). */
const windowMs = () => scaledMs(60_000);

let world: FanoutWorld;
const saved = { ...process.env };
/** This clock's offset from the real one (ms): the tests move time, never wait for it. */
const clock = { offset: 0 };

beforeAll(async () => {
  process.env.EVENTS_QUEUE_URL = EVENTS_QUEUE_URL;
  process.env.TIME_SCALE = String(SCALE);
  world = await startFanoutWorld((raw) => {
    raw.pipelines.push({ prefix: "release-", tier: "critical", states: ["FAILED"] });
    raw.channels[HOOK] = { type: "webhook" };
    raw.routing.critical = [...raw.routing.critical, HOOK];
    raw.secrets[HOOK] = { url: "http://127.0.0.1:1/placeholder" };
    raw.grouping = {
      channels: {
        [SLACK]: { windowSeconds: 60, maxIndividual: 3 },
        [HOOK]: { windowSeconds: 60, maxIndividual: 3 },
      },
    };
  });
  world.config.channelSecrets[HOOK] = { url: world.standins.receivers.urlFor("webhook", HOOK) };
});
afterAll(async () => {
  await world.close();
  process.env = saved;
});
beforeEach(async () => {
  world.reset();
  await world.forgetPacing();
  const realNow = Date.now.bind(Date);
  // Each test starts 1 s into a window no test used: the digest records of earlier tests stay in
  // the table, and a test takes well under a window now that it waits for nothing.
  const start = (Math.floor((realNow() + clock.offset) / windowMs()) + 3) * windowMs() + 1000;
  clock.offset = start - realNow();
  jest.spyOn(Date, "now").mockImplementation(() => realNow() + clock.offset);
});
afterEach(() => jest.restoreAllMocks());

const quiet = quietLogger;

function invocation(deadline: number): Invocation {
  return handInvocation(world, deadline);
}

function notification(): Notification {
  return pipelineFailure("release-");
}

/** Spends the window's 3 individual messages of `ch` under `inv` (its pacing memo learns it). */
async function spend(inv: Invocation, ch: Channel = SLACK_CH): Promise<number> {
  const allowance = allowanceFor(inv.config, ch.name)!;
  for (let i = 0; i < 3; i++) {
    await paceDelivery(ch.name, ch.kind, inv.deadline, undefined, Date.now, allowance);
  }
  return allowance.windowStart;
}

/** The messages (individual or digest) `ch`'s receiver accepted that name `n`'s pipeline. */
function messagesOf(n: Notification, ch: Channel = SLACK_CH): number {
  return world.standins.receivers
    .byReceiver(ch.kind, ch.name)
    .filter((m) => JSON.stringify(m).includes(n.pipeline)).length;
}

/**
 * Runs the flush of `windowStart`'s digest (as its delayed SQS message would) the moment the
 * release of `n`'s grouped slot reaches DynamoDB: the flush read the window after the late mark
 * completed and before the release. Returns whether it ran (`state.flushed`) and the spy, to
 * restore.
 */
function flushBeforeRelease(n: Notification, windowStart: number, ch: Channel) {
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const state = { flushed: false };
  return {
    state,
    spy: jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
      const release = String(cmd.input.UpdateExpression ?? "").includes("lastError = :e");
      if (release && String(cmd.input.Key?.sk ?? "").includes(n.id) && !state.flushed) {
        state.flushed = true;
        // The digest takes a send slot of its own (the pacing of the window is not what is tested).
        await world.forgetPacing();
        const body = digestFlushBody({
          channel: ch.name,
          windowStart,
          windowMs: windowMs(),
        });
        const done = await flushDigestRecord(invocation(Date.now() + 20_000), record(body, "f-1"));
        expect(done).toBe(true);
      }
      return send(cmd, ...rest);
    }) as any),
  };
}

/** The delivery record of `n` on `ch`, and `ch`'s digest record of `windowStart`. */
async function recordsOf(n: Notification, windowStart: number, ch: Channel = SLACK_CH) {
  const items = await world.items();
  const mine = (i: Record<string, any>) => i.notificationId === n.id && i.channel === ch.name;
  return {
    item: items.find((i) => String(i.pk).startsWith("DELIVERY#") && mine(i)),
    digest: items.find((i) => i.notificationId === `digest/${ch.name}/${windowStart}`),
  };
}

/**
 * Delivers `n` once under `inv` with the grouped write of `n` (matched by `isWrite`) completing
 * past both the window's flush cutoff and the invocation's deadline, the flush running before the
 * release. Returns the outcome; the clock stays where the write took it.
 */
async function lateFirst(
  inv: Invocation,
  windowStart: number,
  n: Notification,
  isWrite: (body: string) => boolean,
  ch: Channel = SLACK_CH,
) {
  const cutoff = windowStart + windowMs() + scaledMs(FLUSH_GRACE_MS) - scaledMs(1000);
  const jump = jumpClockOnWrite(
    world,
    (op, body) => op === "UpdateItem" && body.includes(n.id) && isWrite(body),
    Math.max(cutoff, inv.deadline) - Date.now() + 100,
    false,
    clock,
  );
  const flush = flushBeforeRelease(n, windowStart, ch);
  const d = { channel: ch.name, slot: ch.name };
  const first = await deliver(inv, n, d, openGate({}), quiet);
  jump.mockRestore();
  flush.spy.mockRestore();
  expect(flush.state.flushed).toBe(true);
  return first;
}

/** {@link lateFirst}, then the record's copy in a later invocation. Returns both outcomes. */
async function lateThenCopy(
  inv: Invocation,
  windowStart: number,
  n: Notification,
  isWrite: (body: string) => boolean,
  ch: Channel = SLACK_CH,
) {
  const first = await lateFirst(inv, windowStart, n, isWrite, ch);
  const copy = await deliver(
    invocation(Date.now() + 20_000),
    n,
    { channel: ch.name, slot: ch.name },
    openGate(world.config.channelSecrets),
    quiet,
  );
  return { first, copy };
}

it("a one-write grouped mark completed after the flush cutoff, its move failed at the deadline: the copy's send is recorded as a possible duplicate", async () => {
  const inv = invocation(Date.now() + 8_000);
  const windowStart = await spend(inv);
  const n = notification();

  const { first, copy } = await lateThenCopy(inv, windowStart, n, (body) =>
    body.includes("attribute_not_exists(pk)"),
  );

  expect(first.status).toBe("failed");
  const { item, digest } = await recordsOf(n, windowStart);
  // The flush read the window while the slot said grouped: its digest lists the notification.
  expect(digest).toMatchObject({ status: "sent" });
  expect(digest!.detail.notifications).toContain(n.id);
  // The slot was released, so the copy sent it on its own: twice on the channel, the second
  // visibly a possible duplicate.
  expect(copy.status).toBe("sent");
  expect(messagesOf(n)).toBe(2);
  expect(copy.ambiguous).toBe(true);
  expect(item).toMatchObject({ status: "sent", ambiguous: true });
}, 30_000);

it("the same on the claim path (claim, refused pacing call, grouped mark completed late): the copy's send is a possible duplicate", async () => {
  // Another container spent the window: this one (cold: its pacing memo empty) learns it from
  // its own pacing call. A warm container that saw it spent would take the one-write path.
  const windowStart = await spend(invocation(Date.now() + 30_000));
  forgetPaceMemo();
  const inv = invocation(Date.now() + 8_000);
  const n = notification();

  const { first, copy } = await lateThenCopy(
    inv,
    windowStart,
    n,
    (body) => body.includes(`DIGEST#${SLACK}#`) && !body.includes("attribute_not_exists(pk)"),
  );

  expect(first.status).toBe("failed");
  const { item, digest } = await recordsOf(n, windowStart);
  expect(digest!.detail.notifications).toContain(n.id);
  expect(copy.status).toBe("sent");
  expect(messagesOf(n)).toBe(2);
  expect(copy.ambiguous).toBe(true);
  expect(item).toMatchObject({ status: "sent", ambiguous: true });
}, 30_000);

it("a webhook: the copy's Idempotency-Key differs from the digest's, so its send is a possible duplicate too (not 'resent idempotent')", async () => {
  const inv = invocation(Date.now() + 8_000);
  const windowStart = await spend(inv, HOOK_CH);
  const n = notification();

  const { first, copy } = await lateThenCopy(
    inv,
    windowStart,
    n,
    (body) => body.includes("attribute_not_exists(pk)"),
    HOOK_CH,
  );

  expect(first.status).toBe("failed");
  const { item, digest } = await recordsOf(n, windowStart, HOOK_CH);
  expect(digest!.detail.notifications).toContain(n.id);
  expect(copy.status).toBe("sent");
  // The digest (key "<digest id>:hook-ops") and the message (key "<notification id>:hook-ops"):
  // two requests the receiver's idempotency cannot tell apart as one.
  expect(messagesOf(n, HOOK_CH)).toBe(2);
  expect(copy.ambiguous).toBe(true);
  expect(item).toMatchObject({ status: "sent", ambiguous: true });
  expect(item!.detail.resentIdempotent).toBeUndefined();
}, 30_000);

it("a webhook copy whose claim's reply is lost (the repeat finds its own claim) still knows a digest may list it: a possible duplicate", async () => {
  const inv = invocation(Date.now() + 8_000);
  const windowStart = await spend(inv, HOOK_CH);
  const n = notification();
  const first = await lateFirst(
    inv,
    windowStart,
    n,
    (b) => b.includes("attribute_not_exists(pk)"),
    HOOK_CH,
  );
  expect(first.status).toBe("failed");
  // The copy's claim is applied, its answer lost (the SDK's socket timeout): the repeat is
  // refused by the item that claim wrote, recognized by its claimId (store/ledger.ts).
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const lost = { count: 0 };
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const claim =
      String(cmd.input.UpdateExpression ?? "").includes(":sending") &&
      String(cmd.input.Key?.sk ?? "").includes(n.id);
    if (claim) lost.count++;
    const out = await send(cmd, ...rest);
    if (claim && lost.count === 1) {
      const err = new Error("socket timed out") as Error & Record<string, unknown>;
      err.name = "TimeoutError";
      throw err;
    }
    return out;
  }) as any);

  const copy = await deliver(
    invocation(Date.now() + 20_000),
    n,
    { channel: HOOK, slot: HOOK },
    openGate(world.config.channelSecrets),
    quiet,
  );
  jest.restoreAllMocks();

  expect(lost.count).toBe(2); // the claim, then its repeat, refused by the item it wrote
  expect(copy.status).toBe("sent");
  expect(messagesOf(n, HOOK_CH)).toBe(2);
  expect(copy.ambiguous).toBe(true);
}, 30_000);

it("a released grouped slot no longer says it is grouped: no grouped action in the audit trail, out of the digest's index", async () => {
  const inv = invocation(Date.now() + 8_000);
  const windowStart = await spend(inv);
  const n = notification();

  const first = await lateFirst(inv, windowStart, n, (b) => b.includes("attribute_not_exists(pk)"));

  expect(first.status).toBe("failed");
  const { item } = await recordsOf(n, windowStart);
  expect(item).toMatchObject({ status: "failed", mayHaveArrived: true });
  // The slot is given back (its copy sends it on its own): nothing says "grouped into digest …".
  expect(item).not.toHaveProperty("action");
  expect(item).not.toHaveProperty("result");
  expect(item).not.toHaveProperty("digestId");
  expect(item).not.toHaveProperty("gsi1pk");
  const reader = createAuditReader(world.standins.dynamo.endpoint, [TABLE]);
  try {
    const trail = await reader.read();
    expect(trail.filter((a) => a.notificationId === n.id)).toEqual([]);
  } finally {
    reader.close();
  }
}, 30_000);
