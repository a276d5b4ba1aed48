/**
 * The world of the grouping tests that move the clock through a Slack window and run its flush
 * and the record's copies by hand (grouping-late-copy, digest-sent-mark): the fan-out world with
 * Slack grouped 3 per 60 s, AWS time 6 times faster (TIME_SCALE 6: a 60 s window is 10 s), the
 * SQS stand-in as the events queue. The clock is moved, never waited for: each test starts 1 s
 * into a window no test used (its flush cutoff is 9.5 s of this clock away), so the digest
 * records of earlier tests, which stay in the table as in AWS, are never read.
 */
import { randomUUID } from "node:crypto";
import { digestFlushBody } from "../../handlers/contracts/digest-flush";
import { deliver } from "../../handlers/fanout/deliver";
import { flushDigestRecord } from "../../handlers/fanout/digest-flush";
import { openGate } from "../../handlers/fanout/gate";
import { digestSlot, entryOf, FLUSH_GRACE_MS } from "../../handlers/fanout/grouping";
import type { Invocation } from "../../handlers/fanout/invocation";
import { ddb } from "../../handlers/aws";
import { scaledMs } from "../../handlers/http";
import { claimGrouped } from "../../handlers/store/digest";
import { digestPartition } from "../../handlers/store/keys";
import type { Notification } from "../../handlers/types";
import { record, startFanoutWorld, type FanoutWorld } from "./fanout";
import { deliveryRefOf, handInvocation, pipelineFailure, quietLogger } from "./grouping";

/** The grouped channel. */
export const SLACK = "slack-eng";

const EVENTS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events";

/** What {@link useLateCopyWorld} gives a test file: the world (after `beforeAll`) and helpers. */
export interface LateCopyWorld {
  world: FanoutWorld;
  /** This clock's offset from the real one (ms). */
  clock: { offset: number };
  /** The window's length, ms of this clock. */
  windowMs: number;
  /** A fan-out invocation of the world's config until `deadline` (epoch ms). */
  invocation(deadline: number): Invocation;
  /** A critical pipeline FAILED notification of a pipeline of the file's prefix. */
  notification(): Notification;
  /** The Slack messages (individual or digest) that name `n`'s pipeline. */
  messagesOf(n: Notification): number;
  /** Runs the flush message `body` as its SQS record `id` would arrive; it must be done. */
  runFlush(body: string, id: string): Promise<void>;
  /** Runs the flush of the Slack digest of `windowStart`, as its delayed SQS message would. */
  flushWindow(windowStart: number, id?: string): Promise<void>;
  /** `n`'s delivery to Slack under `inv` (default: a fresh invocation): the record's copy. */
  copyOf(n: Notification, inv?: Invocation): ReturnType<typeof deliver>;
  /** `n`'s Slack delivery record, and the Slack digest record of `windowStart`. */
  recordsOf(
    n: Notification,
    windowStart: number,
  ): Promise<{ item?: Record<string, any>; digest?: Record<string, any> }>;
  /**
   * Leaves `n`'s Slack slot `grouped` into the digest of `windowStart` with the real one-write
   * grouped mark (store/digest.ts `claimGrouped`), as a mark landed after that window's flush
   * read it and whose move and release then failed would.
   */
  groupInto(n: Notification, windowStart: number): Promise<void>;
  /** Moves this clock past the flush of the window of `windowStart` (2 s of this clock after it). */
  pastFlushOf(windowStart: number): void;
  /**
   * A new notification grouped into the window open now ({@link groupInto}), this clock then
   * moved past that window's flush ({@link pastFlushOf}): a copy's starting point.
   */
  groupedPastFlush(): Promise<{ n: Notification; windowStart: number }>;
  /**
   * Makes the grouped mark of `n` into the window of `windowStart` reply late: the mark is
   * applied, then (once) `meanwhile` runs before its reply comes back (a lost reply the SDK
   * repeats after its request timeout). Resolves `applied()` true once it happened; the spy on
   * the client's `send` passes every call through unchanged (restore it with the test's mocks).
   */
  lateGroupedMark(
    n: Notification,
    windowStart: number,
    meanwhile: () => Promise<void>,
  ): { applied: () => boolean };
}

/**
 * Sets up the file's hooks (world started once, reset and the clock moved before each test,
 * mocks restored after) for pipelines named `<prefix>…`, and returns the helpers.
 */
export function useLateCopyWorld(prefix: string): LateCopyWorld {
  const saved = { ...process.env };
  // Set now, not in beforeAll: the window length below and the test files' copies of it are
  // computed while the file loads, and must be the fan-out's (10 s of this clock).
  process.env.TIME_SCALE = "6";
  const windowMs = scaledMs(60_000);
  const t: LateCopyWorld = {
    world: undefined as unknown as FanoutWorld,
    clock: { offset: 0 },
    windowMs,
    invocation: (deadline) => handInvocation(t.world, deadline),
    notification: () => pipelineFailure(prefix),
    messagesOf: (n) =>
      t.world.standins.receivers
        .byReceiver("slack", SLACK)
        .filter((m) => JSON.stringify(m).includes(n.pipeline)).length,
    async runFlush(body, id) {
      // The digest takes a send slot of its own (the pacing of the window is not what is tested).
      await t.world.forgetPacing();
      const inv = t.invocation(Date.now() + 20_000);
      expect(await flushDigestRecord(inv, record(body, id))).toBe(true);
    },
    flushWindow: (windowStart, id = "f-1") =>
      t.runFlush(digestFlushBody({ channel: SLACK, windowStart, windowMs }), id),
    copyOf(n, inv = t.invocation(Date.now() + 20_000)) {
      const gate = openGate(t.world.config.channelSecrets);
      return deliver(inv, n, { channel: SLACK, slot: SLACK }, gate, quietLogger);
    },
    async recordsOf(n, windowStart) {
      const items = await t.world.items();
      const mine = (i: Record<string, any>) => i.notificationId === n.id && i.channel === SLACK;
      return {
        item: items.find((i) => String(i.pk).startsWith("DELIVERY#") && mine(i)),
        digest: items.find((i) => i.notificationId === `digest/${SLACK}/${windowStart}`),
      };
    },
    async groupInto(n, windowStart) {
      const ref = { ...deliveryRefOf(n, SLACK), claimId: randomUUID() };
      const slot = digestSlot(SLACK, { windowStart });
      const r = await claimGrouped(ref, slot, entryOf(n), 30, Date.now() + 5000);
      expect(r.grouped).toBe(true);
    },
    pastFlushOf(windowStart) {
      t.clock.offset += windowStart + windowMs + scaledMs(FLUSH_GRACE_MS) + 2000 - Date.now();
    },
    lateGroupedMark(n, windowStart, meanwhile) {
      const client = ddb();
      const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
      let late = false;
      jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
        const input = cmd.input as Record<string, any>;
        const g1 = input.ExpressionAttributeValues?.[":g1"];
        const mark = g1 === digestPartition(SLACK, windowStart);
        const out = await send(cmd, ...rest);
        if (mark && !late && String(input.Key?.sk ?? "").includes(n.id)) {
          late = true;
          await meanwhile();
        }
        return out;
      }) as any);
      return { applied: () => late };
    },
    async groupedPastFlush() {
      const windowStart = Math.floor(Date.now() / windowMs) * windowMs;
      const n = t.notification();
      await t.groupInto(n, windowStart);
      t.pastFlushOf(windowStart);
      return { n, windowStart };
    },
  };
  beforeAll(async () => {
    process.env.EVENTS_QUEUE_URL = EVENTS_QUEUE_URL;
    t.world = await startFanoutWorld((raw) => {
      raw.pipelines.push({ prefix, tier: "critical", states: ["FAILED"] });
      raw.grouping = { channels: { [SLACK]: { windowSeconds: 60, maxIndividual: 3 } } };
    });
  });
  afterAll(async () => {
    await t.world.close();
    process.env = saved;
  });
  beforeEach(async () => {
    t.world.reset();
    await t.world.forgetPacing();
    const realNow = Date.now.bind(Date);
    const start = (Math.floor((realNow() + t.clock.offset) / windowMs) + 3) * windowMs + 1000;
    t.clock.offset = start - realNow();
    jest.spyOn(Date, "now").mockImplementation(() => realNow() + t.clock.offset);
  });
  afterEach(() => jest.restoreAllMocks());
  return t;
}
