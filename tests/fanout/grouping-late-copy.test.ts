/**
 * Red team of a grouped slot whose mark outlived its window's flush read (fanout/grouping.ts
 * `groupDelivery`): a grouped mark that fails before the flush cutoff may still have been applied
 * (its reply lost): the flush can read it grouped and send it before the slot's release lands,
 * so the copy's own send is a possible duplicate, never a clean first send.
 * Real fan-out and flush against dynalite, the Slack receiver on 127.0.0.1, the SQS stand-in.
 * AWS time runs 6 times faster (TIME_SCALE 6): a 60 s window is 10 s; the clock is moved, never
 * waited for.
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
import { record, startFanoutWorld, type FanoutWorld } from "../support/fanout";

const EVENTS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events";
const SCALE = 6;
const SLACK = "slack-eng";
const WINDOW_MS = scaledMs(60_000);

let world: FanoutWorld;
const saved = { ...process.env };
/** This clock's offset from the real one (ms): the tests move time, never wait for it. */
const clock = { offset: 0 };

beforeAll(async () => {
  process.env.EVENTS_QUEUE_URL = EVENTS_QUEUE_URL;
  process.env.TIME_SCALE = String(SCALE);
  world = await startFanoutWorld((raw) => {
    raw.pipelines.push({ prefix: "latecopy-", tier: "critical", states: ["FAILED"] });
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
  const realNow = Date.now.bind(Date);
  // Each test starts 1 s into a fresh window (its flush cutoff is 9.5 s of this clock away).
  const start = (Math.floor(realNow() / WINDOW_MS) + 1) * WINDOW_MS + 1000;
  clock.offset = start - realNow();
  jest.spyOn(Date, "now").mockImplementation(() => realNow() + clock.offset);
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
    pipeline: `latecopy-${id.slice(0, 8)}`,
    executionId: randomUUID(),
    state: "FAILED",
    account: "123456789012",
    region: "us-east-1",
    time: new Date(Date.now()).toISOString().replace(/\.\d+Z$/, "Z"),
    consoleUrl: "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/x/view",
    tier: "critical",
    severity: "critical",
  } as Notification;
}

/** Spends the window's 3 individual Slack messages under `inv` (its pacing memo learns it). */
async function spend(inv: Invocation): Promise<number> {
  const allowance = allowanceFor(inv.config, SLACK)!;
  for (let i = 0; i < 3; i++) {
    await paceDelivery(SLACK, "slack", inv.deadline, undefined, Date.now, allowance);
  }
  return allowance.windowStart;
}

/** The Slack messages (individual or digest) that name `n`'s pipeline. */
function messagesOf(n: Notification): number {
  return world.standins.receivers
    .byReceiver("slack", SLACK)
    .filter((m) => JSON.stringify(m).includes(n.pipeline)).length;
}

/** Runs the flush of the Slack digest of `windowStart`, as its delayed SQS message would. */
async function flushWindow(windowStart: number, id = "f-1"): Promise<void> {
  // The digest takes a send slot of its own (the pacing of the window is not what is tested).
  await world.forgetPacing();
  const body = digestFlushBody({ channel: SLACK, windowStart, windowMs: WINDOW_MS });
  expect(await flushDigestRecord(invocation(Date.now() + 20_000), record(body, id))).toBe(true);
}

/** `n`'s delivery to Slack under a fresh invocation (the record's copy). */
function copyOf(n: Notification) {
  const gate = openGate(world.config.channelSecrets);
  return deliver(invocation(Date.now() + 20_000), n, { channel: SLACK, slot: SLACK }, gate, quiet);
}

/** `n`'s Slack delivery record, and the Slack digest record of `windowStart`. */
async function recordsOf(n: Notification, windowStart: number) {
  const items = await world.items();
  const mine = (i: Record<string, any>) => i.notificationId === n.id && i.channel === SLACK;
  return {
    item: items.find((i) => String(i.pk).startsWith("DELIVERY#") && mine(i)),
    digest: items.find((i) => i.notificationId === `digest/${SLACK}/${windowStart}`),
  };
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
