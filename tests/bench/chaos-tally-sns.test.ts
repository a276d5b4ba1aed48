/**
 * The chaos tally (scripts/lib/chaos-tally.ts) for SNS channels (SMS, email), from the 200-event
 * run of 11:25: SMS 196 once, 5 duplicates, 2 lost, 0 ambiguous, 1 unattributed.
 * - One "lost" SMS was delivered: on a cold start the enrichment (CodePipeline) did not answer in
 *   time, so the text had no error summary and no event's marker; it was counted unattributed and
 *   its event lost. Its ledger record kept the publish's MessageId (`receiptId`): that names it.
 * - The duplicates were SNS publishes whose answer never reached the fan-out (the SDK's 2 s request
 *   timeout on a loaded machine; the SDK and then the fan-out published again): SNS has no
 *   idempotency for a standard topic's Publish (SNS API reference, Publish:
 *   `MessageDeduplicationId` applies "only to FIFO (first-in-first-out) topics"), so these are
 *   exactly the ambiguous sends issue 12 allows, but the tally counted lost replies only for HTTP
 *   receivers. An accepted publish whose MessageId no ledger record holds is one the fan-out never
 *   learned of.
 */
import { groupingLedger, tallyRun, type EventSent } from "../../scripts/lib/chaos-tally";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:channel-sms-oncall";
const exec = (i: number) => `0000000${i}-0000-4000-8000-000000000000`;
const events: EventSent[] = [0, 1].map((i) => ({
  token: `chaos000${i}`,
  executionId: exec(i),
  message: { state: "deleted" } as unknown as EventSent["message"],
}));
const route = [{ name: "sms-oncall", type: "sms" }];

/** A stand-in world whose SNS accepted `published` (as testing/aws/sns.ts records them). */
function world(published: Array<{ message: string; messageId: string }>): any {
  return {
    aws: {
      state: {
        sns: { published: published.map((p) => ({ topicArn: TOPIC, ...p })) },
        sqs: { sent: [] },
      },
    },
    receivers: { incidents: [], attemptsOf: () => [] },
  };
}

/**
 * The tally of `published` with the ledger of both events' texts sent, each record keeping its
 * publish's MessageId (`m-0`, `m-1`) as `receiptId`.
 */
function tallyWithLedger(published: Array<{ message: string; messageId: string }>) {
  const ledger = groupingLedger([
    { status: "sent", channel: "sms-oncall", executionId: exec(0), receiptId: "m-0" },
    { status: "sent", channel: "sms-oncall", executionId: exec(1), receiptId: "m-1" },
  ]);
  return tallyRun(world(published), route, { "sms-oncall": TOPIC }, events, ledger);
}

describe("chaos tally of SNS channels", () => {
  it("a text that names no event (enrichment timed out: no summary) is attributed through its MessageId to the event whose record kept it: once, not lost nor unattributed", () => {
    const published = [
      { message: "FAILED main-app @Deploy/X: chaos0000 health checks failed", messageId: "m-0" },
      { message: "FAILED api-gateway-prod-cluster", messageId: "m-1" },
    ];
    const tally = tallyWithLedger(published);

    expect(tally.channels["sms-oncall"]).toMatchObject({
      once: 2,
      duplicates: 0,
      lost: 0,
      unattributed: 0,
      ambiguousSends: 0,
    });
  });

  it("a publish whose MessageId no record kept (its answer never reached the fan-out) is an ambiguous send: the repeat it caused is a duplicate within ambiguousSends", () => {
    // Event 0: the first publish timed out at the client (accepted, answer lost), the retry's
    // MessageId was recorded. Event 1: one clean publish.
    const published = [
      { message: "FAILED main-app: chaos0000 health checks failed", messageId: "lost" },
      { message: "FAILED main-app: chaos0000 health checks failed", messageId: "m-0" },
      { message: "FAILED main-app: chaos0001 health checks failed", messageId: "m-1" },
    ];
    const tally = tallyWithLedger(published);

    expect(tally.channels["sms-oncall"]).toMatchObject({
      once: 1,
      duplicates: 1,
      lost: 0,
      ambiguousSends: 1,
      lostReplies: 1,
    });
  });

  it("without the ledger (not read) no SNS publish is taken for a lost reply", () => {
    const published = [{ message: "FAILED main-app: chaos0000 x", messageId: "m-0" }];

    const tally = tallyRun(world(published), route, { "sms-oncall": TOPIC }, events);

    expect(tally.channels["sms-oncall"]).toMatchObject({ once: 1, ambiguousSends: 0, lost: 1 });
  });
});

describe("chaos tally of digests: what the digest really listed", () => {
  it("a notification marked grouped after its window's flush read the index (not among the ids the sent digest's record lists) is lost, not delivered in the digest", () => {
    // fanout/grouping.ts marks a slot `grouped` until shortly before the flush reads the window;
    // a mark that lands after the read is in no digest, though its slot says grouped.
    const ledger = groupingLedger([
      {
        status: "grouped",
        channel: "sms-oncall",
        executionId: exec(0),
        notificationId: "n0",
        digestId: "digest/sms-oncall/1",
      },
      {
        status: "grouped",
        channel: "sms-oncall",
        executionId: exec(1),
        notificationId: "n1",
        digestId: "digest/sms-oncall/1",
      },
      {
        status: "sent",
        notificationId: "digest/sms-oncall/1",
        detail: { kind: "digest", count: 1, notifications: ["n0"] },
      },
    ]);

    const tally = tallyRun(world([]), route, { "sms-oncall": TOPIC }, events, ledger);

    expect(tally.channels["sms-oncall"]).toMatchObject({ once: 1, lost: 1 });
    expect(tally.lostExecutions["sms-oncall"]).toEqual([exec(1)]);
  });
});
