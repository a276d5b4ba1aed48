/**
 * A digest flush under DynamoDB throttling (issue 12 × issue 11 grouping; fanout/digest-flush.ts).
 * The chaos bench lost an SMS this way: the one notification grouped into an SMS window had one
 * flush message, and its four receives were each throttled (`ProvisionedThroughputExceededException`
 * / `ThrottlingException` after the SDK's 3 attempts). The flush reported failure every time, SQS's
 * `maxReceiveCount` (4) moved it to the DLQ with no reason, and the digest — the only message that
 * notification would ever get — was never sent. Throttling is injected on the wire by the DynamoDB
 * proxy in front of dynalite (testing/dynamo-faults.ts), as DynamoDB answers it (developer guide,
 * "Error handling with DynamoDB": HTTP 400, retryable).
 */
import { randomUUID } from "node:crypto";
import { digestFlushBody } from "../../handlers/contracts/digest-flush";
import { FLUSH_RETRIES_ATTRIBUTE, MAX_FLUSH_RETRIES } from "../../handlers/fanout/flush-retry";
import { digestRef } from "../../handlers/fanout/digest-build";
import { digestSlot } from "../../handlers/fanout/grouping";
import { markGrouped } from "../../handlers/store/digest";
import { deliveryRecordKey, digestPartition } from "../../handlers/store/keys";
import { DLQ_URL, SMS_TOPIC, record, throttleCalls, type FanoutWorld } from "../support/fanout";
import { EVENTS_QUEUE_URL, useQueuedWorld } from "../support/grouping";

const CHANNEL = "sms-oncall";
const WINDOW_MS = 120_000;

let world: FanoutWorld;
useQueuedWorld((w) => (world = w));
beforeEach(async () => {
  world.reset();
  world.lines.length = 0;
  await world.forgetPacing();
});
afterEach(() => jest.restoreAllMocks());

/**
 * Channels of the EMF counts named `metric` the handler wrote in this test (handlers/contracts/
 * metrics.ts; the per-channel failure alarm of infra/alarms.ts watches `Failed`).
 */
const counted = (metric: "Sent" | "Failed" | "PossibleDuplicate") =>
  world.lines.filter((l) => l._aws && l[metric] === 1).map((l) => String(l.Channel));

/** {@link throttleCalls}, alternating DynamoDB's two throttling errors. */
const throttle = (operation: string, marker: string, times: number) =>
  throttleCalls(world, operation, marker, times, (n) =>
    n % 2 ? "ProvisionedThroughputExceededException" : "ThrottlingException",
  );

/** One notification grouped into a closed SMS window; returns the window's flush. */
async function groupedWindow() {
  // A window of its own (a past one: its flush is due), so that tests do not share digests.
  const windowStart =
    (Math.floor(Date.now() / WINDOW_MS) - 1 - Math.floor(Math.random() * 1e6)) * WINDOW_MS;
  const id = randomUUID();
  const pipeline = "main-app-production-v3";
  const time = new Date(windowStart + 1000).toISOString();
  await markGrouped(
    {
      pipeline,
      eventTime: time,
      notificationId: `n-${id}`,
      slot: CHANNEL,
      channel: CHANNEL,
      executionId: id,
    },
    digestSlot(CHANNEL, { windowStart }),
    {
      notificationId: `n-${id}`,
      kind: "failure",
      pipeline,
      account: "123456789012",
      region: "us-east-1",
      executionId: id,
      time,
      consoleUrl: "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/x/view",
      severity: "critical",
    } as any,
    Date.now() + 10_000,
  );
  return { channel: CHANNEL, windowStart, windowMs: WINDOW_MS };
}

const texts = () => world.standins.aws.state.sns.published.filter((p) => p.topicArn === SMS_TOPIC);
const sent = (url: string) => world.standins.aws.state.sqs.sent.filter((m) => m.queueUrl === url);

async function digestSlotItem(f: { channel: string; windowStart: number }) {
  const r = digestRef(f);
  const key = deliveryRecordKey(r.pipeline, r.eventTime, r.notificationId, r.slot);
  return (await world.items()).find((i) => i.pk === key.pk && i.sk === key.sk);
}

describe("a digest flush under DynamoDB throttling", () => {
  it("a flush whose index read is throttled past the SDK's 3 attempts still sends the digest in the same receive", async () => {
    const f = await groupedWindow();
    const throttled = throttle("Query", digestPartition(CHANNEL, f.windowStart), 4);

    const out = await world.invoke([record(digestFlushBody(f), `m-${randomUUID()}`)]);

    expect(throttled()).toBe(4);
    expect(out.batchItemFailures).toEqual([]);
    expect(texts()).toHaveLength(1);
    expect(texts()[0].message).toMatch(/ - see /);
    expect(await digestSlotItem(f)).toMatchObject({ status: "sent" });
  }, 60_000);

  it("a flush that still fails is put back on the queue as a new delayed message (never counted toward maxReceiveCount, whose redrive carries no reason), and the digest goes out with it", async () => {
    const f = await groupedWindow();
    throttle("Query", digestPartition(CHANNEL, f.windowStart), 1_000);

    // A receive with 2 s before its deadline (5 s remaining minus the handler's 3 s margin).
    const out = await world.invoke([record(digestFlushBody(f), `m-${randomUUID()}`)], 5000);

    expect(out.batchItemFailures).toEqual([]);
    const copies = sent(EVENTS_QUEUE_URL);
    expect(copies).toHaveLength(1);
    expect(JSON.parse(copies[0].body)).toMatchObject(f);
    expect(copies[0].delaySeconds).toBe(10);
    expect(copies[0].attributes[FLUSH_RETRIES_ATTRIBUTE]).toBe("1");
    expect(texts()).toEqual([]);

    // The copy arrives when DynamoDB is well again: the digest is sent.
    jest.restoreAllMocks();
    const copy = record(copies[0].body, copies[0].messageId);
    copy.messageAttributes = {
      [FLUSH_RETRIES_ATTRIBUTE]: { stringValue: "1", dataType: "String" } as any,
    };
    const again = await world.invoke([copy]);
    expect(again.batchItemFailures).toEqual([]);
    expect(texts()).toHaveLength(1);
  }, 60_000);

  it("a flush failing after it claimed the digest gives the slot back (failed, not a live 'sending' lease its copy would wait behind)", async () => {
    const f = await groupedWindow();
    // The pacing write (after the claim) throttled for the whole receive.
    throttle("UpdateItem", `PACE#${CHANNEL}`, 1_000);

    const out = await world.invoke([record(digestFlushBody(f), `m-${randomUUID()}`)], 5000);

    expect(out.batchItemFailures).toEqual([]);
    expect(sent(EVENTS_QUEUE_URL)).toHaveLength(1);
    expect(await digestSlotItem(f)).toMatchObject({ status: "failed" });
    // DynamoDB's fault, not the channel's: no `Failed` count for the channel's alarm.
    expect(counted("Failed")).toEqual([]);
    expect(counted("Sent")).toEqual([]);
  }, 60_000);

  it(`after ${MAX_FLUSH_RETRIES} copies a failing flush is dead-lettered with its reason (DynamoDB's), not dropped`, async () => {
    const f = await groupedWindow();
    throttle("Query", digestPartition(CHANNEL, f.windowStart), 1_000);
    const last = record(digestFlushBody(f), `m-${randomUUID()}`);
    last.messageAttributes = {
      [FLUSH_RETRIES_ATTRIBUTE]: {
        stringValue: String(MAX_FLUSH_RETRIES),
        dataType: "String",
      } as any,
    };

    const out = await world.invoke([last], 5000);

    expect(out.batchItemFailures).toEqual([]);
    expect(sent(EVENTS_QUEUE_URL)).toEqual([]);
    const dead = sent(DLQ_URL);
    expect(dead).toHaveLength(1);
    expect(dead[0].attributes.reason).toMatch(
      /^DynamoDB: (ProvisionedThroughputExceededException|ThrottlingException): /,
    );
  }, 60_000);

  it("a digest whose send fails with a retryable error (SNS InternalError, HTTP 500) is put back the same way, its slot released: not left to SQS's redrive", async () => {
    const f = await groupedWindow();
    // Every Publish fails for this receive (SNS API reference, Publish errors: InternalError, 500).
    world.standins.aws.faults.sns = {
      code: "InternalError",
      status: 500,
      message: "Request could not be completed",
      times: 100,
    };

    const out = await world.invoke([record(digestFlushBody(f), `m-${randomUUID()}`)], 5000);

    expect(out.batchItemFailures).toEqual([]);
    const copies = sent(EVENTS_QUEUE_URL);
    expect(copies).toHaveLength(1);
    expect(copies[0].attributes[FLUSH_RETRIES_ATTRIBUTE]).toBe("1");
    expect(await digestSlotItem(f)).toMatchObject({ status: "failed" });
    // Counted as a failure of the channel, like a single notification's, so its alarm sees it.
    expect(counted("Failed")).toEqual([CHANNEL]);
    expect(counted("Sent")).toEqual([]);
  }, 60_000);

  it("a digest whose first Publish was answered after the SDK's timeout (SNS took it) is sent again and recorded ambiguous (red team, round 8)", async () => {
    const f = await groupedWindow();
    // SNS answers the first Publish after the SDK's 5 s request timeout and keeps it all the
    // same (testing/aws/sns.ts): the retry is a second text, which the record must own up to.
    const delays = world.standins.aws.delays.sns;
    delays.Publish = 5_500;
    const calm = setTimeout(() => (delays.Publish = 0), 1_000);
    try {
      const out = await world.invoke([record(digestFlushBody(f), `m-${randomUUID()}`)]);
      expect(out.batchItemFailures).toEqual([]);
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      clearTimeout(calm);
      delays.Publish = 0;
    }

    expect(texts()).toHaveLength(2);
    expect(await digestSlotItem(f)).toMatchObject({ status: "sent", ambiguous: true });
    // Counted like a single notification's possible duplicate (contracts/metrics.ts).
    expect(counted("PossibleDuplicate")).toEqual([CHANNEL]);
    expect(counted("Sent")).toEqual([CHANNEL]);
    expect(counted("Failed")).toEqual([]);
  }, 30_000);
});
