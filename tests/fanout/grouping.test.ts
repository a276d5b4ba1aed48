/**
 * Grouping into digests (issue 11; Alertmanager's group_wait / group_interval idea, adapted): per
 * channel instance, the first `maxIndividual` notifications of a fixed window go on their own, the
 * rest of the window in ONE digest at its end; a lone failure is sent at once; SMS sends 1 text and
 * then "N more — see <slack channel>"; PagerDuty is never grouped. Real fan-out, dynalite (the
 * decision is one conditional UpdateItem shared by every invocation, store/pacing.ts), HTTP
 * receivers on 127.0.0.1 enforcing their documented limits, the SQS and SNS stand-ins.
 *
 * AWS time runs 6 times faster here (TIME_SCALE 6, http.ts `scaledMs`): a 60 s window lasts
 * 10 s (room for a batch on a busy shared machine), Slack's 1 message per second per channel is
 * one per 167 ms, and SQS DelaySeconds stay in AWS seconds (SendMessage: "Valid values: 0 to 900").
 * The clock (`Date.now` of this process, where the fan-out, the receivers, the stand-ins and
 * dynalite run, and of the two-process test's workers) is moved to the moments the tests used to
 * wait for (a window's start, a flush's due time), never run back, as
 * grouping-first-release.test.ts does.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { SQSRecord } from "aws-lambda";
import { isDigestFlush, parseDigestFlush } from "../../handlers/contracts/digest-flush";
import { consoleUrl } from "../../handlers/events/normalize";
import { digestPartition } from "../../handlers/store/keys";
import { marshall } from "@aws-sdk/util-dynamodb";

// dynalite's own item size (DynamoDB's rules for attribute names and values).
const { itemSize: sizeOf } = require("dynalite/db") as { itemSize: (item: unknown) => number };
const itemSize = (item: Record<string, unknown>) => sizeOf(marshall(item));
import { event, record, startFanoutWorld, type FanoutWorld } from "../support/fanout";
import { lastLine, startWorker } from "../support/together";

const EVENTS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events";
const SCALE = 6;
/** A 60 s window in this test's clock (ms). */
const WINDOW_MS = (60 * 1000) / SCALE;

let world: FanoutWorld;
const saved = { ...process.env };

beforeAll(async () => {
  process.env.EVENTS_QUEUE_URL = EVENTS_QUEUE_URL;
  process.env.TIME_SCALE = String(SCALE);
  world = await startFanoutWorld((raw) => {
    raw.pipelines.push({ prefix: "storm-", tier: "critical", states: ["FAILED"] });
    raw.grouping = {
      channels: {
        "slack-eng": { windowSeconds: 60, maxIndividual: 3 },
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
  // The window allowances and send slots earlier tests used (store/pacing.ts `PACE#` items): each
  // test starts with every channel's allowance unused, in whichever window it starts.
  await world.forgetPacing();
});

/** A FAILED pipeline event of pipeline `name` (critical: PagerDuty, Slack, SMS). */
function failure(name: string) {
  return event(
    "pipeline-failed",
    { pipeline: name, "execution-id": randomUUID() },
    { id: randomUUID(), time: new Date().toISOString().replace(/\.\d+Z$/, "Z") },
  );
}

const slack = () => world.standins.receivers.byReceiver("slack", "slack-eng");
const pages = () => world.standins.receivers.byReceiver("pagerduty");
const texts = () => world.standins.aws.state.sns.published;
const flushes = () =>
  world.standins.aws.state.sqs.sent.filter(
    (m) => m.queueUrl === EVENTS_QUEUE_URL && isDigestFlush(m.body),
  );
/**
 * This clock's offset from the real one (ms): the tests move time, never wait for it. `at`, when
 * set, stops it at that moment (ms since the epoch): for an invocation that must be decided
 * inside one window however long this machine takes to run it.
 */
const clock: { offset: number; at?: number } = { offset: 0 };
const realNow = Date.now.bind(Date);
beforeEach(() => {
  jest.spyOn(Date, "now").mockImplementation(() => clock.at ?? realNow() + clock.offset);
});
afterEach(() => {
  // Time goes on from where the stopped clock was, never back.
  if (clock.at !== undefined) clock.offset = Math.max(clock.offset, clock.at - realNow());
  clock.at = undefined;
  jest.restoreAllMocks();
});

/** Lets `ms` pass on this clock: moves it forward at once. */
function wait(ms: number): void {
  if (ms <= 0) return;
  if (clock.at !== undefined) clock.at += ms;
  else clock.offset += ms;
}

/**
 * Moves the clock to `offsetMs` after the start of a window and returns that start: the
 * current window when that moment is still ahead or at most `lateMs` past and no earlier test left
 * a notification grouped into its digest, else the next one. The current window's allowance is
 * unused (beforeEach forgets the channels' `PACE#` items, where store/pacing.ts counts it), so a
 * test starts in the current window when it can — but never with less than
 * `WINDOW_MS - offsetMs - lateMs` of it left.
 */
async function freshWindow(offsetMs = 30, lateMs = 1500): Promise<number> {
  const now = Date.now();
  const current = Math.floor(now / WINDOW_MS) * WINDOW_MS;
  const digests = ["slack-eng", "sms-oncall"].map((channel) => digestPartition(channel, current));
  const used = (await world.items()).some((i) => digests.includes(String(i.gsi1pk)));
  const start = !used && Date.now() <= current + offsetMs + lateMs ? current : current + WINDOW_MS;
  wait(start + offsetMs - Date.now());
  return start;
}

/**
 * Plays SQS delivering each queued flush once its delay is over (the window's end + grace): the
 * clock is moved there.
 */
async function deliverFlushes(): Promise<SQSRecord[]> {
  const due = flushes().map((m, i) => ({
    r: record(m.body, `flush-${i}`),
    f: parseDigestFlush(m.body)!,
  }));
  const last = Math.max(...due.map((d) => d.f.windowStart + d.f.windowMs));
  wait(last + 5000 / SCALE + 20 - Date.now());
  return due.map((d) => d.r);
}

/** Ledger items of `channel` by status, of pipelines named `prefix…` (the table is not reset). */
async function slots(channel: string, status: string, prefix = "storm-") {
  return (await world.items()).filter(
    (i) =>
      String(i.pk).startsWith(`DELIVERY#PIPELINE#${prefix}`) &&
      i.channel === channel &&
      i.status === status,
  );
}

describe("grouping into digests (issue 11)", () => {
  it("a lone failure is sent at once on every channel, and no digest is queued", async () => {
    await freshWindow();
    const out = await world.invoke([record(failure("storm-lone"), "m-lone")]);

    expect(out.batchItemFailures).toEqual([]);
    expect(slack()).toHaveLength(1);
    expect(texts()).toHaveLength(1);
    expect(pages()).toHaveLength(1);
    expect(flushes()).toEqual([]);
    expect(await slots("slack-eng", "grouped", "storm-lone")).toEqual([]);
  });

  it('over the allowance: 3 Slack messages + ONE digest with the right count and each entry\'s console link; SMS 1 text + "5 more — see slack-eng"; PagerDuty never grouped', async () => {
    const start = await freshWindow();
    const events = Array.from({ length: 6 }, (_, i) =>
      failure(`storm-${String(i).padStart(2, "0")}`),
    );
    const out = await world.invoke(events.map((e, i) => record(e, `m-${i}`)));
    expect(out.batchItemFailures).toEqual([]);
    expect(Date.now()).toBeLessThan(start + WINDOW_MS); // all decided in one window

    expect(slack()).toHaveLength(3);
    expect(texts()).toHaveLength(1);
    // PagerDuty is never grouped: one incident per failing pipeline.
    expect(pages()).toHaveLength(6);
    const groupedSlack = await slots("slack-eng", "grouped", "storm-0");
    const groupedSms = await slots("sms-oncall", "grouped", "storm-0");
    expect(groupedSlack).toHaveLength(3);
    expect(groupedSms).toHaveLength(5);
    // Under 1 KB (dynalite's item size, DynamoDB's rules): the mark is one write unit and one
    // index write unit, not two each (issue 12, cost).
    for (const g of [...groupedSlack, ...groupedSms]) expect(itemSize(g)).toBeLessThan(1024);
    // Found by the flush through the byExecution index, not under an execution's key.
    for (const g of [...groupedSlack, ...groupedSms]) expect(g.gsi1pk).toMatch(/^DIGEST#/);
    // One flush per (channel, window) per invocation, due after the window's end (AWS seconds).
    const queued = flushes();
    expect(queued.map((m) => parseDigestFlush(m.body)!.channel).sort()).toEqual([
      "slack-eng",
      "sms-oncall",
    ]);
    for (const m of queued) {
      expect(m.delaySeconds).toBeGreaterThan(0);
      expect(m.delaySeconds).toBeLessThanOrEqual(60 + 5 + 1);
    }

    const records = await deliverFlushes();
    const flushed = await world.invoke(records);
    expect(flushed.batchItemFailures).toEqual([]);

    expect(slack()).toHaveLength(4);
    const digest = JSON.stringify(slack()[3].body);
    expect(digest).toMatch(/3 pipelines failed/);
    // Each entry's console link: the grouped item keeps only what it does not have already
    // (store/digest.ts, under 1 KB), and the link is its execution's in its region.
    for (const g of groupedSlack) {
      expect(g.entry.consoleUrl).toBeUndefined();
      expect(digest).toContain(consoleUrl(g.region, g.entry.pipeline, g.executionId));
    }
    expect(texts()).toHaveLength(2);
    expect(String(texts()[1].message)).toMatch(/^5 more pipelines failed.*see slack-eng/);
    // The digest's own ledger slot is sent, with what it stood for.
    const digests = (await world.items()).filter(
      (i) => String(i.pk).startsWith("DELIVERY#PIPELINE#DIGEST#") && i.status === "sent",
    );
    expect(digests.map((d) => d.detail.count).sort()).toEqual([3, 5]);
    expect(pages()).toHaveLength(6);
  });

  it("a duplicated flush message, and two invocations flushing at once, deliver the digest exactly once", async () => {
    await freshWindow();
    const events = Array.from({ length: 5 }, (_, i) => failure(`storm-dup-${i}`));
    await world.invoke(events.map((e, i) => record(e, `d-${i}`)));
    expect(slack()).toHaveLength(3);
    // Nothing re-sends a grouped slot: the same records again (at-least-once delivery) are
    // deduplicated by the ledger, individual and grouped alike.
    await world.invoke(events.map((e, i) => record(e, `d-${i}`, 2)));
    expect(slack()).toHaveLength(3);
    expect(await slots("slack-eng", "grouped", "storm-dup-")).toHaveLength(2);
    const [r] = (await deliverFlushes()).filter(
      (x) => parseDigestFlush(x.body)!.channel === "slack-eng",
    );

    const both = await Promise.all([
      world.invoke([r]),
      world.invoke([{ ...r, messageId: "copy" }]),
    ]);
    await world.invoke([{ ...r, messageId: "again" }]);

    expect(slack()).toHaveLength(4);
    // The one that found the slot held by the other queued a recheck (not SQS's visibility
    // timeout): that copy, when it comes, finds the digest sent.
    expect(both.flatMap((b) => b.batchItemFailures)).toEqual([]);
    const rechecks = flushes().filter((m) => m.delaySeconds === 30);
    for (const [i, m] of rechecks.entries()) await world.invoke([record(m.body, `recheck-${i}`)]);
    expect(slack()).toHaveLength(4);
  });

  it("two processes flushing the same digest at the same moment deliver it exactly once (its ledger slot)", async () => {
    // Both processes load (2 shared cores, ts-node: seconds to tens of seconds) while the test
    // fills a window and moves the clock past its flush; they read the flush record once
    // released, together, when both are ready.
    const file = path.join(os.tmpdir(), `grouping-${process.pid}.json`);
    const worker = path.join(__dirname, "..", "support", "digest-flush-worker.ts");
    const workers = [0, 1].map(() => startWorker(worker, [file, "ready"]));
    try {
      await freshWindow();
      const events = Array.from({ length: 4 }, (_, i) => failure(`storm-proc-${i}`));
      await world.invoke(events.map((e, i) => record(e, `p-${i}`)));
      expect(slack()).toHaveLength(3);
      const [r] = (await deliverFlushes()).filter(
        (x) => parseDigestFlush(x.body)!.channel === "slack-eng",
      );
      // The workers read this clock too (its offset), as every process on AWS reads one time.
      fs.writeFileSync(
        file,
        JSON.stringify({
          runtime: world.config.runtime,
          records: [r],
          clockOffsetMs: clock.offset,
        }),
      );
      await Promise.all(workers.map((w) => w.ready));
      const startAt = Date.now() + 300;
      for (const w of workers) w.go(startAt);
      const runs = await Promise.all(workers.map((w) => w.done));

      for (const run of runs) expect(run.stderr).not.toMatch(/Error/);
      expect(runs.map((run) => JSON.parse(lastLine(run.stdout)).batchItemFailures)).toEqual([
        [],
        [],
      ]);
      expect(slack()).toHaveLength(4);
      expect(JSON.stringify(slack()[3].body)).toMatch(/1 pipeline failed/);
    } finally {
      for (const w of workers) w.go(0); // a failed step must not leave them waiting
      fs.rmSync(file, { force: true });
    }
  }, 120_000);

  // Last: it leaves a notification grouped into the current window's digest, which a later test
  // would find in its own (freshWindow then waits for the next window).
  it("window boundaries: 3 just before a boundary and 3 just after are all sent on their own; a 4th after is grouped", async () => {
    const start = await freshWindow(WINDOW_MS - 2500, 0);
    // The 3 go in the last 2.5 s of a window (this clock, stopped there: under load the
    // invocation can take longer than that, and its last records would go into the next window)…
    clock.at = Date.now();
    await world.invoke([0, 1, 2].map((i) => record(failure(`storm-b-${i}`), `b-${i}`)));
    expect(Date.now()).toBeLessThan(start + WINDOW_MS);
    expect(slack()).toHaveLength(3);
    // …and the next 3 just after the boundary: a new window, a new allowance.
    wait(start + WINDOW_MS + 30 - Date.now());
    await world.invoke([3, 4, 5].map((i) => record(failure(`storm-b-${i}`), `b-${i}`)));
    expect(slack()).toHaveLength(6);
    expect(await slots("slack-eng", "grouped", "storm-b-")).toHaveLength(0);
    await world.invoke([record(failure("storm-b-6"), "b-6")]);
    expect(slack()).toHaveLength(6);
    expect(await slots("slack-eng", "grouped", "storm-b-")).toHaveLength(1);
  });
});
