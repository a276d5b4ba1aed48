/**
 * A 429 is not a failure (issue 11): when the receiver's Retry-After does not fit before the
 * invocation's deadline, the record is deferred — a copy sent to the events queue with SQS
 * `DelaySeconds` = the Retry-After (SQS API reference, SendMessage: "Valid values: 0 to 900"),
 * the original reported processed — never counted toward the DLQ, and delivered once by the
 * copy. Slack answers rate limiting with HTTP 429 and `Retry-After` in seconds
 * (https://api.slack.com/docs/rate-limits). Real fan-out, dynalite, HTTP receivers on 127.0.0.1,
 * the SQS stand-in.
 */
import { randomUUID } from "node:crypto";
import { MAX_DEFERRALS, RATE_LIMITED_REASON } from "../../handlers/fanout/deferral";
import {
  copyOf,
  addDeployFailure,
  DLQ_URL,
  event,
  record,
  startFanoutWorld,
  type FanoutWorld,
} from "../support/fanout";

const EVENTS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events";

let world: FanoutWorld;

beforeAll(async () => {
  process.env.EVENTS_QUEUE_URL = EVENTS_QUEUE_URL;
  world = await startFanoutWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());
afterEach(() => world.standins.receivers.setFault("slack", null));

/** A prod action failure: PagerDuty, Slack and SMS. */
function prodFailure() {
  const executionId = randomUUID();
  addDeployFailure(world.standins.aws, executionId);
  return event(
    "action-codebuild-failed",
    {
      pipeline: "main-app-production-v3",
      stage: "Deploy",
      action: "DeployECS",
      "execution-id": executionId,
    },
    { id: randomUUID() },
  );
}

const sent = (url: string) => world.standins.aws.state.sqs.sent.filter((m) => m.queueUrl === url);

/** The SQS record of the copy SendMessage put on the events queue, as a new message. */
describe("a rate-limited receiver defers the record instead of failing it (issue 11)", () => {
  it("429 with Retry-After 120 s beyond the deadline: requeued with DelaySeconds 120, no DLQ, delivered once by the copy", async () => {
    const ev = prodFailure();
    world.standins.receivers.setFault("slack", { status: 429, retryAfter: 120, times: 1 });

    const first = await world.invoke([record(ev, "m-1")], 30_000);

    // Reported processed: not a failure, so not a step toward maxReceiveCount.
    expect(first.batchItemFailures).toEqual([]);
    expect(sent(DLQ_URL)).toEqual([]);
    const copies = sent(EVENTS_QUEUE_URL);
    expect(copies).toHaveLength(1);
    expect(copies[0].delaySeconds).toBe(120);
    expect(copies[0].body).toBe(JSON.stringify(ev));
    expect(copies[0].attributes.deferrals).toBe("1");
    expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(0);
    // The other channels went at once.
    expect(world.standins.receivers.byReceiver("pagerduty")).toHaveLength(1);
    expect(world.standins.aws.state.sns.published).toHaveLength(1);
    // The Slack slot is left `failed` (claimable cleanly), with the deferral's reason.
    const slot = (await world.items()).find(
      (i) => String(i.sk).endsWith("#slack-eng") && String(i.pk).startsWith("DELIVERY#"),
    );
    expect(slot?.status).toBe("failed");
    expect(String(slot?.lastError)).toMatch(/^deferred: .*429/);

    // The copy arrives 120 s later as a new message (receive count 1).
    const second = await world.invoke([copyOf(copies[0], "m-copy")], 30_000);

    expect(second.batchItemFailures).toEqual([]);
    expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(1);
    // Exactly once elsewhere: the ledger deduplicates what the first receive delivered.
    expect(world.standins.receivers.byReceiver("pagerduty")).toHaveLength(1);
    expect(world.standins.aws.state.sns.published).toHaveLength(1);
    expect(sent(EVENTS_QUEUE_URL)).toHaveLength(1);
    const delivered = (await world.items()).find(
      (i) => String(i.sk).endsWith("#slack-eng") && String(i.pk).startsWith("DELIVERY#"),
    );
    // A clean send, not an "unconfirmed" ambiguous one.
    expect(delivered).toMatchObject({ status: "sent", ambiguous: false });
  }, 60_000);

  it("an event that fills the queue's message size is still deferred: its deferredFor is cut to the room its attributes leave", async () => {
    // SQS counts attributes toward MaximumMessageSize (262,144 bytes, MessageAttributeValue).
    const ev: Record<string, unknown> = { ...prodFailure(), padding: "" };
    ev.padding = "x".repeat(262_144 - 140 - Buffer.byteLength(JSON.stringify(ev)));
    world.standins.receivers.setFault("slack", { status: 429, retryAfter: 120, times: 1 });

    const first = await world.invoke([record(JSON.stringify(ev), "m-big")], 30_000);

    expect(first.batchItemFailures).toEqual([]);
    const [copy] = sent(EVENTS_QUEUE_URL);
    expect(copy.body).toBe(JSON.stringify(ev));
    expect(copy.attributes.deferrals).toBe("1");
    expect(copy.attributes.deferredFor).toMatch(/^slack-eng: .*…$/);
    expect(sent(DLQ_URL)).toEqual([]);
  }, 60_000);

  it(`a receiver that keeps answering 429 is dead-lettered after ${MAX_DEFERRALS} deferrals with "${RATE_LIMITED_REASON}"`, async () => {
    const ev = prodFailure();
    world.standins.receivers.setFault("slack", { status: 429, retryAfter: 600 });
    const r = record(ev, "m-last");
    r.messageAttributes = {
      deferrals: {
        stringValue: String(MAX_DEFERRALS),
        dataType: "String",
        stringListValues: [],
        binaryListValues: [],
      },
    };

    const out = await world.invoke([r], 30_000);

    expect(out.batchItemFailures).toEqual([]);
    expect(sent(EVENTS_QUEUE_URL)).toEqual([]);
    const dlq = sent(DLQ_URL);
    expect(dlq).toHaveLength(1);
    expect(dlq[0].attributes.reason).toContain(RATE_LIMITED_REASON);
    expect(dlq[0].attributes.failedChannels).toBe("slack-eng");
  }, 60_000);
});

describe("the local SQS honours DelaySeconds (SQS API reference, SendMessage: 0 to 900)", () => {
  it("the stand-in refuses 901 with InvalidParameterValue and hands a registered queue the delay", async () => {
    const { SendMessageCommand } = await import("@aws-sdk/client-sqs");
    const { sqs } = await import("../../handlers/aws");
    const handed: Array<{ body: string; delaySeconds: number }> = [];
    world.standins.aws.state.sqs.queues = {
      [EVENTS_QUEUE_URL]: (body, o) => void handed.push({ body, delaySeconds: o.delaySeconds }),
    };
    await expect(
      sqs().send(
        new SendMessageCommand({ QueueUrl: EVENTS_QUEUE_URL, MessageBody: "x", DelaySeconds: 901 }),
      ),
    ).rejects.toMatchObject({ name: "InvalidParameterValue" });
    await sqs().send(
      new SendMessageCommand({ QueueUrl: EVENTS_QUEUE_URL, MessageBody: "y", DelaySeconds: 900 }),
    );
    expect(handed).toEqual([{ body: "y", delaySeconds: 900 }]);
    delete world.standins.aws.state.sqs.queues;
  });

  it("a delayed message of the sandbox queue is received after its delay in scaled time, with its attributes", async () => {
    const { createQueue } = await import("../../testing/queue");
    const before = process.env.TIME_SCALE;
    process.env.TIME_SCALE = "100"; // 2 AWS seconds = 20 ms here
    const received: Array<{ at: number; attrs: unknown }> = [];
    const queue = createQueue({
      arn: "arn:aws:sqs:us-east-1:123456789012:events",
      region: "us-east-1",
      visibilityTimeoutMs: 1000,
      maxReceiveCount: 4,
      batchSize: 10,
      async consume(ev) {
        for (const r of ev.Records) received.push({ at: Date.now(), attrs: r.messageAttributes });
        return { ok: true, batchItemFailures: [] };
      },
    });
    try {
      const sentAt = Date.now();
      const m = queue.send("copy", { delaySeconds: 2, attributes: { deferrals: "1" } });
      expect(() => queue.send("bad", { delaySeconds: 901 })).toThrow(/0 to 900/);
      await queue.settled(m.messageId);
      expect(received).toHaveLength(1);
      expect(received[0].at - sentAt).toBeGreaterThanOrEqual(20);
      expect(received[0].attrs).toMatchObject({ deferrals: { stringValue: "1" } });
    } finally {
      queue.close();
      if (before === undefined) delete process.env.TIME_SCALE;
      else process.env.TIME_SCALE = before;
    }
  });
});

describe("DynamoDB calls of pacing in a storm (measured for issue 12's budget)", () => {
  it("10 failures of 10 pipelines in one batch: every Slack send paced (no 429), at most 2 pace calls per delivery", async () => {
    const { ddb } = await import("../../handlers/aws");
    const client = ddb();
    const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
    const calls: string[] = [];
    jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
      calls.push(String(cmd.input?.Key?.pk ?? cmd.input?.Item?.pk ?? "").split("#")[0]);
      return send(cmd, ...rest);
    }) as any);
    try {
      const events = Array.from({ length: 10 }, () => prodFailure());
      const started = Date.now();
      const out = await world.invoke(
        events.map((e, i) => record(e, `storm-${i}`)),
        60_000,
      );
      expect(out.batchItemFailures).toEqual([]);
      const slack = world.standins.receivers.attemptsOf("slack", "slack-eng");
      expect(slack.filter((a) => a.status === 429)).toEqual([]);
      expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(10);
      // Paced at Slack's 1 per second after a burst of 2: 10 sends take at least 7 s.
      const at = slack.map((a) => a.at.getTime());
      expect(Math.max(...at) - Math.min(...at)).toBeGreaterThanOrEqual(7000);
      const tally: Record<string, number> = {};
      for (const c of calls) tally[c] = (tally[c] ?? 0) + 1;
      const deliveries = 3 * events.length;
      process.stderr.write(
        `storm batch: ${calls.length} ddb calls for ${events.length} events / ${deliveries} deliveries ` +
          `(${(calls.length / events.length).toFixed(1)} per event) ${JSON.stringify(tally)}; ` +
          `${Date.now() - started} ms; deferred copies ${sent(EVENTS_QUEUE_URL).length}\n`,
      );
      expect(tally.PACE).toBeLessThanOrEqual(2 * deliveries);
    } finally {
      jest.restoreAllMocks();
    }
  }, 120_000);
});
