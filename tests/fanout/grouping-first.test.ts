/**
 * A grouped first attempt in ONE DynamoDB write (issue 12, cost; fanout/group-first.ts): once an
 * invocation knows a channel's grouping window is spent (store/pacing.ts), a notification over the
 * allowance is claimed and marked `grouped` by one conditional UpdateItem
 * (`attribute_not_exists(pk)`) instead of a claim and a mark. Exactly once still: a duplicate, a
 * concurrent copy, a slot claimed by another invocation, a retry and an applied write whose reply
 * was lost each end as before. Real fan-out against dynalite (every request of the handler's
 * document client counted, with the consumed capacity DynamoDB reports), HTTP receivers on
 * 127.0.0.1, the SQS stand-in. AWS time runs 6 times faster (TIME_SCALE 6): a 60 s window is 10 s.
 */
import { randomUUID } from "node:crypto";
import type { SQSRecord } from "aws-lambda";
import { ddb } from "../../handlers/aws";
import type { Logger } from "../../handlers/channels/types";
import { deliver } from "../../handlers/fanout/deliver";
import { openGate } from "../../handlers/fanout/gate";
import { allowanceFor } from "../../handlers/fanout/grouping";
import type { Invocation } from "../../handlers/fanout/invocation";
import { paceDelivery } from "../../handlers/fanout/pace";
import { digestEntries } from "../../handlers/store/digest-window";
import { claimDelivery, type DeliveryRef } from "../../handlers/store/ledger";
import { markFailed } from "../../handlers/store/marks";
import type { Notification } from "../../handlers/types";
import { event, record, startFanoutWorld, type FanoutWorld } from "../support/fanout";
import { deliveryRefOf, handInvocation, pipelineFailure } from "../support/grouping";

const EVENTS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events";
const SCALE = 6;
const WINDOW_MS = (60 * 1000) / SCALE;
const SLACK = "slack-eng";

let world: FanoutWorld;
const saved = { ...process.env };

beforeAll(async () => {
  process.env.EVENTS_QUEUE_URL = EVENTS_QUEUE_URL;
  process.env.TIME_SCALE = String(SCALE);
  world = await startFanoutWorld((raw) => {
    raw.pipelines.push({ prefix: "first-", tier: "critical", states: ["FAILED"] });
    raw.grouping = {
      channels: {
        [SLACK]: { windowSeconds: 60, maxIndividual: 3 },
        "sms-oncall": { windowSeconds: 60, maxIndividual: 1 },
      },
    };
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;

/** A window with at least 6 s (this clock) left: the current one, else the next. */
async function roomyWindow(): Promise<number> {
  const current = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  if (current + WINDOW_MS - Date.now() >= 6000) return current;
  await sleep(current + WINDOW_MS + 30 - Date.now());
  return current + WINDOW_MS;
}

function failure(name: string) {
  return event(
    "pipeline-failed",
    { pipeline: name, "execution-id": randomUUID() },
    { id: randomUUID(), time: new Date().toISOString().replace(/\.\d+Z$/, "Z") },
  );
}

/** One DynamoDB request of the handler: what, about which (notification, channel), its units. */
interface Call {
  what: string;
  channel: string;
  notificationId?: string;
  writeUnits: number;
}

function describeCall(input: any): Call {
  const pk = String(input.Key?.pk ?? input.Item?.pk ?? "");
  const expr = String(input.UpdateExpression ?? "");
  if (pk.startsWith("PACE#")) return { what: "pace", channel: pk.slice(5), writeUnits: 0 };
  if (!pk.startsWith("DELIVERY#")) return { what: pk.split("#")[0], channel: "", writeUnits: 0 };
  const [, notificationId, channel] = String(input.Key?.sk ?? "").split("#");
  const what =
    input.ConditionExpression === "attribute_not_exists(pk)" && expr.includes("digestId")
      ? "group-first"
      : expr.includes(":sending")
        ? "claim"
        : expr.includes("digestId")
          ? "mark-grouped"
          : expr.includes(":sent")
            ? "mark-sent"
            : "mark-failed";
  return { what, channel, notificationId, writeUnits: 0 };
}

/**
 * Records every request (ReturnConsumedCapacity INDEXES; a write to an item with `gsi1pk` counts
 * one more unit for the `byExecution` index, projection ALL: DynamoDB developer guide, "Provisioned
 * throughput considerations for global secondary indexes"; dynalite reports the table's part).
 */
function recordCalls(): Call[] {
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const calls: Call[] = [];
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const call = describeCall(cmd.input);
    calls.push(call);
    cmd.input.ReturnConsumedCapacity = "INDEXES";
    const out = await send(cmd, ...rest);
    const indexed = String(cmd.input.UpdateExpression ?? "").includes("gsi1pk");
    call.writeUnits = Number(out?.ConsumedCapacity?.CapacityUnits ?? 0) + (indexed ? 1 : 0);
    return out;
  }) as any);
  return calls;
}

/**
 * The calls of each delivery of `channel`, by notification id, in order: a pacing call belongs to
 * the delivery whose ledger call of that channel came last before it (records run one by one).
 */
function byNotification(calls: Call[], channel: string): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  for (const c of calls.filter((x) => x.channel === channel)) {
    if (c.notificationId && out.at(-1)?.[0] !== c.notificationId) out.push([c.notificationId, []]);
    out.at(-1)?.[1].push(c.what);
  }
  return out;
}

/** The grouped ledger items of `channel` of pipeline `pipeline`. */
async function grouped(channel: string, pipeline: string) {
  return (await world.items()).filter(
    (i) =>
      i.pk === `DELIVERY#PIPELINE#${pipeline}` && i.channel === channel && i.status === "grouped",
  );
}

describe("a grouped first attempt in a window the invocation knows is spent", () => {
  it("costs ONE DynamoDB call and 2 write units (no claim, no pacing call, no separate mark)", async () => {
    const start = await roomyWindow();
    const calls = recordCalls();
    // One pipeline: its records take each channel's turn in batch order (fanout/order.ts).
    const events = Array.from({ length: 6 }, () => failure("first-a"));
    const out = await world.invoke(events.map((e, i) => record(e, `a-${i}`)));
    jest.restoreAllMocks();
    expect(out.batchItemFailures).toEqual([]);
    expect(Date.now()).toBeLessThan(start + WINDOW_MS);

    const slack = byNotification(calls, SLACK);
    expect(slack).toHaveLength(6);
    // 3 on their own; the 3rd's reservation filled the window (the count DynamoDB returned, + 1,
    // is the maximum: store/pacing.ts), so the 4th to 6th are one conditional write each.
    for (const [, c] of slack.slice(0, 3)) expect(c).toContain("mark-sent");
    for (const [, c] of slack.slice(3)) expect(c).toEqual(["group-first"]);
    // SMS (1 a window): the 2nd to 6th.
    const sms = byNotification(calls, "sms-oncall");
    expect(sms).toHaveLength(6);
    for (const [, c] of sms.slice(1)) expect(c).toEqual(["group-first"]);
    for (const c of calls.filter((x) => x.what === "group-first")) expect(c.writeUnits).toBe(2);

    // What the item says is what the claim and the mark said together: the flush lists them all.
    const slackItems = await grouped(SLACK, "first-a");
    expect(slackItems).toHaveLength(3);
    for (const item of slackItems) {
      expect(item).toMatchObject({ attempts: 1, action: "grouped", account: "123456789012" });
      expect(item.claimId).toEqual(expect.any(String));
      expect(item.eventId).not.toBe("-");
      expect(item.leaseUntil).toBeUndefined();
    }
    const { entries } = await digestEntries(SLACK, start);
    const ids = slackItems.map((i) => i.notificationId).sort();
    expect(
      entries
        .map((e) => e.notificationId)
        .filter((id) => ids.includes(id))
        .sort(),
    ).toEqual(ids);
  });

  it("a duplicate of a grouped notification is deduplicated from the refusal (one call, no claim), and listed once in the digest", async () => {
    const start = await roomyWindow();
    const events = Array.from({ length: 6 }, () => failure("first-b"));
    const records: SQSRecord[] = events.map((e, i) => record(e, `b-${i}`));
    await world.invoke(records);
    const slackSent = world.standins.receivers.byReceiver("slack", SLACK).length;
    // A new event over the allowance (the container learnt the window is spent in the previous
    // invocation), then the redelivered records of the grouped ones (SQS at-least-once).
    const calls = recordCalls();
    const out = await world.invoke([
      record(failure("first-b"), "b-new"),
      ...records.slice(3).map((r) => ({ ...r, attributes: { ...r.attributes } })),
    ]);
    jest.restoreAllMocks();
    expect(out.batchItemFailures).toEqual([]);
    expect(Date.now()).toBeLessThan(start + WINDOW_MS);

    expect(world.standins.receivers.byReceiver("slack", SLACK)).toHaveLength(slackSent);
    const slack = byNotification(calls, SLACK);
    // The new one is grouped by one write (no pacing call: store/pacing.ts's memo outlives the
    // invocation); each copy is one write too, refused with the item it found: deduplicated with
    // no claim.
    expect(slack.map(([, c]) => c)).toEqual([
      ["group-first"],
      ["group-first"],
      ["group-first"],
      ["group-first"],
    ]);
    const items = await grouped(SLACK, "first-b");
    expect(items).toHaveLength(4);
    for (const item of items) expect(item.attempts).toBe(1);
    const dups = await world.audit((a) => a.action === "deduplicated" && a.channel === SLACK);
    expect(dups.filter((a) => a.result === "already grouped").length).toBeGreaterThanOrEqual(2);
    const { entries } = await digestEntries(SLACK, start);
    const ids = entries.map((e) => e.notificationId);
    for (const item of items)
      expect(ids.filter((id) => id === item.notificationId)).toHaveLength(1);
  });
});

describe("a window spent in an earlier invocation of the warm container (store/pacing.ts memo)", () => {
  it("groups the next invocation's first notification of that window with ONE call, and no pacing call", async () => {
    const start = await roomyWindow();
    // The first invocation spends Slack's 3 and SMS's 1 individual messages of the window.
    const first = Array.from({ length: 3 }, (_, i) => record(failure("first-d"), `d-${i}`));
    expect((await world.invoke(first)).batchItemFailures).toEqual([]);
    const slackSent = world.standins.receivers.byReceiver("slack", SLACK).length;

    // A new invocation (a fresh handler call, its own deadline) with one new failure.
    const calls = recordCalls();
    const out = await world.invoke([record(failure("first-d"), "d-new")]);
    jest.restoreAllMocks();
    expect(out.batchItemFailures).toEqual([]);
    expect(Date.now()).toBeLessThan(start + WINDOW_MS);

    // Without the memo across invocations: claim, a refused pacing call, the grouped mark (3 calls,
    // 4 write units with the index write) for each of Slack and SMS.
    for (const channel of [SLACK, "sms-oncall"]) {
      const mine = calls.filter((c) => c.channel === channel);
      expect(mine.map((c) => c.what)).toEqual(["group-first"]);
      expect(mine[0].writeUnits).toBe(2);
    }
    expect(calls.filter((c) => c.what === "pace" && c.channel !== "pagerduty-oncall")).toEqual([]);
    expect(world.standins.receivers.byReceiver("slack", SLACK)).toHaveLength(slackSent);
    expect(await grouped(SLACK, "first-d")).toHaveLength(1);
  });
});

describe("exactly once, one write or not", () => {
  function invocation(): Invocation {
    return handInvocation(world, Date.now() + 20_000);
  }

  function notification(): Notification {
    return pipelineFailure("first-c-");
  }

  function refOf(n: Notification): DeliveryRef {
    return deliveryRefOf(n, SLACK);
  }

  /** Spends the Slack window's 3 individual messages under `inv` (its pacing memo learns it). */
  async function spend(inv: Invocation): Promise<number> {
    const allowance = allowanceFor(inv.config, SLACK)!;
    for (let i = 0; i < 3; i++) {
      await paceDelivery(SLACK, "slack", inv.deadline, undefined, Date.now, allowance);
    }
    return allowance.windowStart;
  }

  const gate = () => openGate(world.config.channelSecrets);
  const itemOf = async (n: Notification) =>
    (await world.items()).find(
      (i) =>
        String(i.pk).startsWith("DELIVERY#") && i.notificationId === n.id && i.channel === SLACK,
    );

  it("two concurrent copies of one notification: one groups it, the other is deduplicated; listed once", async () => {
    await roomyWindow();
    const inv = invocation();
    const windowStart = await spend(inv);
    const n = notification();
    const d = { channel: SLACK, slot: SLACK };

    const outcomes = await Promise.all([
      deliver(inv, n, d, gate(), quiet),
      deliver(inv, n, d, gate(), quiet),
    ]);

    expect(outcomes.map((o) => o.status).sort()).toEqual(["deduplicated", "grouped"]);
    expect(await itemOf(n)).toMatchObject({ status: "grouped", attempts: 1 });
    const { entries } = await digestEntries(SLACK, windowStart);
    expect(entries.filter((e) => e.notificationId === n.id)).toHaveLength(1);
  });

  it("a slot another invocation claimed (sending, live lease) is left to it: deduplicated, its claim untouched", async () => {
    await roomyWindow();
    const inv = invocation();
    await spend(inv);
    const n = notification();
    const theirs = await claimDelivery(refOf(n), Date.now() + 60_000, 1);
    expect(theirs.claimed).toBe(true);

    const outcome = await deliver(inv, n, { channel: SLACK, slot: SLACK }, gate(), quiet);

    expect(outcome.status).toBe("deduplicated");
    const item = await itemOf(n);
    expect(item).toMatchObject({ status: "sending", attempts: 1 });
    expect(item!.claimId).toBe((theirs as { claimId: string }).claimId);
    expect(item!.gsi1pk).toBeUndefined();
  });

  it("a retry (its slot failed before) is claimed as before and sent on its own, never grouped by its failed attempt", async () => {
    await roomyWindow();
    const inv = invocation();
    await spend(inv);
    const n = notification();
    const ref = refOf(n);
    const first = await claimDelivery(ref, Date.now() + 60_000, 1);
    await markFailed(
      { ...ref, claimId: (first as { claimId: string }).claimId },
      "x",
      false,
      inv.deadline,
    );
    const before = world.standins.receivers.byReceiver("slack", SLACK).length;

    const outcome = await deliver(inv, n, { channel: SLACK, slot: SLACK }, gate(), quiet);

    expect(outcome.status).toBe("sent");
    expect(await itemOf(n)).toMatchObject({ status: "sent", attempts: 2 });
    expect(world.standins.receivers.byReceiver("slack", SLACK)).toHaveLength(before + 1);
  });

  it("a verdict not to send writes nothing (no slot to give back)", async () => {
    await roomyWindow();
    const inv = invocation();
    await spend(inv);
    const n = notification();
    const calls = recordCalls();

    const outcome = await deliver(
      inv,
      n,
      { channel: SLACK, slot: SLACK },
      { paceEarly: true, verdict: async () => ({ send: false, reason: "rejected" }) },
      quiet,
    );

    expect(outcome.status).toBe("released");
    expect(calls.filter((c) => c.notificationId === n.id)).toEqual([]);
    expect(await itemOf(n)).toBeUndefined();
  });

  it("the one write applied but its reply lost: the repeat finds its own item (claimId) and reports grouped, not a duplicate", async () => {
    await roomyWindow();
    const inv = invocation();
    const windowStart = await spend(inv);
    const n = notification();
    const client = ddb();
    const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
    const lost = { count: 0 };
    jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
      const oneWrite = cmd.input.ConditionExpression === "attribute_not_exists(pk)";
      if (oneWrite) lost.count++;
      const out = await send(cmd, ...rest);
      if (oneWrite && lost.count === 1) {
        // Applied by DynamoDB; the answer never came (the SDK's socket timeout, retryable).
        const err = new Error("socket timed out") as Error & Record<string, unknown>;
        err.name = "TimeoutError";
        throw err;
      }
      return out;
    }) as any);

    const outcome = await deliver(inv, n, { channel: SLACK, slot: SLACK }, gate(), quiet);
    jest.restoreAllMocks();

    expect(lost.count).toBe(2); // the write, then its repeat, refused by the item it wrote
    expect(outcome.status).toBe("grouped");
    expect(await itemOf(n)).toMatchObject({ status: "grouped", attempts: 1 });
    const dups = await world.audit((a) => a.action === "deduplicated" && a.notificationId === n.id);
    expect(dups).toEqual([]);
    const { entries } = await digestEntries(SLACK, windowStart);
    expect(entries.filter((e) => e.notificationId === n.id)).toHaveLength(1);
  });
});
