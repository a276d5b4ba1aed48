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
 * AWS time runs 6 times faster (TIME_SCALE 6): a 60 s window is 10 s.
 */
import { randomUUID } from "node:crypto";
import { ddb } from "../../handlers/aws";
import type { Logger } from "../../handlers/channels/types";
import { digestFlushBody } from "../../handlers/contracts/digest-flush";
import { deliver } from "../../handlers/fanout/deliver";
import { flushDigestRecord } from "../../handlers/fanout/digest-flush";
import { openGate } from "../../handlers/fanout/gate";
import { allowanceFor, FLUSH_GRACE_MS } from "../../handlers/fanout/grouping";
import type { Invocation } from "../../handlers/fanout/invocation";
import { paceDelivery } from "../../handlers/fanout/pace";
import { scaledMs } from "../../handlers/http";
import type { Notification } from "../../handlers/types";
import { createAuditReader } from "../../sandbox/audit-trail";
import {
  jumpClockOnWrite,
  record,
  startFanoutWorld,
  TABLE,
  type FanoutWorld,
} from "../support/fanout";

const EVENTS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events";
const SCALE = 6;
const SLACK = "slack-eng";

let world: FanoutWorld;
const saved = { ...process.env };

beforeAll(async () => {
  process.env.EVENTS_QUEUE_URL = EVENTS_QUEUE_URL;
  process.env.TIME_SCALE = String(SCALE);
  world = await startFanoutWorld((raw) => {
    raw.pipelines.push({ prefix: "release-", tier: "critical", states: ["FAILED"] });
    raw.grouping = { channels: { [SLACK]: { windowSeconds: 60, maxIndividual: 3 } } };
  });
});
afterAll(async () => {
  await world.close();
  process.env = saved;
});
beforeEach(async () => {
  world.reset();
  await world.forgetPacing();
});
afterEach(() => jest.restoreAllMocks());

const quiet = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  child: () => quiet,
} as unknown as Logger;

function invocation(deadline: number): Invocation {
  return {
    config: world.config.runtime,
    deadline,
    secrets: async () => world.config.channelSecrets,
    topics: {},
    log: quiet as Invocation["log"],
  };
}

function notification(): Notification {
  const id = randomUUID().replace(/-/g, "").slice(0, 24);
  return {
    id,
    eventId: randomUUID(),
    kind: "failure",
    level: "pipeline",
    pipeline: `release-${id.slice(0, 8)}`,
    executionId: randomUUID(),
    state: "FAILED",
    account: "123456789012",
    region: "us-east-1",
    time: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    consoleUrl: "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/x/view",
    tier: "critical",
    severity: "critical",
  } as Notification;
}

/** Spends the Slack window's 3 individual messages under `inv` (its pacing memo learns it). */
async function spend(inv: Invocation): Promise<number> {
  const allowance = allowanceFor(inv.config, SLACK)!;
  for (let i = 0; i < 3; i++) {
    await paceDelivery(SLACK, "slack", inv.deadline, undefined, Date.now, allowance);
  }
  return allowance.windowStart;
}

/** The Slack messages (individual or digest) that name `n`'s pipeline. */
function slackMessagesOf(n: Notification): number {
  return world.standins.receivers
    .byReceiver("slack", SLACK)
    .filter((m) => JSON.stringify(m).includes(n.pipeline)).length;
}

/**
 * Runs the flush of `windowStart`'s digest (as its delayed SQS message would) the moment the
 * release of `n`'s grouped slot reaches DynamoDB: the flush read the window after the late mark
 * completed and before the release.
 */
function flushBeforeRelease(n: Notification, windowStart: number): { flushed: boolean } {
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const state = { flushed: false };
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const release = String(cmd.input.UpdateExpression ?? "").includes("lastError = :e");
    if (release && String(cmd.input.Key?.sk ?? "").includes(n.id) && !state.flushed) {
      state.flushed = true;
      // The digest takes a send slot of its own (the pacing of the window is not what is tested).
      await world.forgetPacing();
      const body = digestFlushBody({
        channel: SLACK,
        windowStart,
        windowMs: scaledMs(60_000),
      });
      const done = await flushDigestRecord(invocation(Date.now() + 20_000), record(body, "f-1"));
      expect(done).toBe(true);
    }
    return send(cmd, ...rest);
  }) as any);
  return state;
}

/** The delivery record of `n` on Slack, and the digest record of `windowStart`. */
async function recordsOf(n: Notification, windowStart: number) {
  const items = await world.items();
  return {
    item: items.find((i) => String(i.pk).startsWith("DELIVERY#") && i.notificationId === n.id),
    digest: items.find((i) => i.notificationId === `digest/${SLACK}/${windowStart}`),
  };
}

/**
 * Delivers `n` once under `inv` with the grouped write of `n` (matched by `isWrite`) completing
 * past both the window's flush cutoff and the invocation's deadline, the flush running before the
 * release. Returns the outcome.
 */
async function lateFirst(
  inv: Invocation,
  windowStart: number,
  n: Notification,
  isWrite: (body: string) => boolean,
) {
  const cutoff = windowStart + scaledMs(60_000) + scaledMs(FLUSH_GRACE_MS) - scaledMs(1000);
  jumpClockOnWrite(
    world,
    (op, body) => op === "UpdateItem" && body.includes(n.id) && isWrite(body),
    Math.max(cutoff, inv.deadline) - Date.now() + 100,
  );
  const flush = flushBeforeRelease(n, windowStart);
  const first = await deliver(inv, n, { channel: SLACK, slot: SLACK }, openGate({}), quiet);
  jest.restoreAllMocks();
  expect(flush.flushed).toBe(true);
  return first;
}

/** {@link lateFirst}, then the record's copy in a later invocation. Returns both outcomes. */
async function lateThenCopy(
  inv: Invocation,
  windowStart: number,
  n: Notification,
  isWrite: (body: string) => boolean,
) {
  const first = await lateFirst(inv, windowStart, n, isWrite);
  const copy = await deliver(
    invocation(Date.now() + 20_000),
    n,
    { channel: SLACK, slot: SLACK },
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
  expect(slackMessagesOf(n)).toBe(2);
  expect(copy.ambiguous).toBe(true);
  expect(item).toMatchObject({ status: "sent", ambiguous: true });
}, 30_000);

it("the same on the claim path (claim, refused pacing call, grouped mark completed late): the copy's send is a possible duplicate", async () => {
  // Another invocation spent the window: this one learns it from its own pacing call.
  const windowStart = await spend(invocation(Date.now() + 30_000));
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
  expect(slackMessagesOf(n)).toBe(2);
  expect(copy.ambiguous).toBe(true);
  expect(item).toMatchObject({ status: "sent", ambiguous: true });
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
