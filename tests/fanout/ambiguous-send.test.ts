/**
 * A send whose earlier attempt got no answer is recorded as a possible duplicate (issue 12:
 * "exactly once, stated and measured honestly"). Until round 8 only a slot left `sending` by an
 * earlier invocation was flagged; an attempt of the same send that timed out or was reset after
 * its request went out (the receiver may have taken it: testing/receivers `lost-reply`, which a
 * client cannot tell from `reset`) was retried and the record said "sent", clean. Slack
 * incoming webhooks have no idempotency (a repeat is a second message), PagerDuty folds a repeat
 * into the incident by `dedup_key` (Events API v2, "Alert De-duplication"): so the Slack record
 * says `ambiguous`, the PagerDuty record `resentIdempotent`.
 */
import { randomUUID } from "node:crypto";
import {
  addDeployFailure,
  deliveryRecordOf,
  event,
  record,
  useFanoutWorld,
  type FanoutWorld,
} from "../support/fanout";

let world: FanoutWorld;
useFanoutWorld((w) => (world = w));

function prodFailure() {
  const executionId = randomUUID();
  addDeployFailure(world.standins.aws, executionId);
  return {
    executionId,
    ev: event("pipeline-failed", { "execution-id": executionId }, { id: randomUUID() }),
  };
}

/** The ledger item of `channel` for `executionId`. */
const ledgerOf = (executionId: string, channel: string) =>
  deliveryRecordOf(world, executionId, channel);

/** Channels of the `PossibleDuplicate` EMF counts the handler wrote since `world.lines` was emptied. */
function possibleDuplicates(): string[] {
  return world.lines.filter((l) => l.PossibleDuplicate === 1).map((l) => String(l.Channel));
}

describe("a retried send after an attempt with no answer", () => {
  it("Slack, reply lost then sent: two messages reached the channel, and the record says so (ambiguous)", async () => {
    world.standins.receivers.setFault("slack", { kind: "lost-reply", times: 1 });
    const { executionId, ev } = prodFailure();
    world.lines.length = 0;

    const out = await world.invoke([record(ev, "m-1")], 30_000);

    expect(out.batchItemFailures).toEqual([]);
    expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(2);
    expect(await ledgerOf(executionId, "slack-eng")).toMatchObject({
      status: "sent",
      ambiguous: true,
      result: expect.stringMatching(/possibly a duplicate/),
    });
    // The EMF metric a dashboard counts (handlers/contracts/metrics.ts `PossibleDuplicate`).
    expect(possibleDuplicates()).toEqual(["slack-eng"]);
  });

  it("Slack, connection reset after the request (not taken, but the sender cannot know): ambiguous too", async () => {
    world.standins.receivers.setFault("slack", { kind: "reset", times: 1 });
    const { executionId, ev } = prodFailure();

    await world.invoke([record(ev, "m-1")], 30_000);

    expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(1);
    expect(await ledgerOf(executionId, "slack-eng")).toMatchObject({
      status: "sent",
      ambiguous: true,
    });
  });

  it("Slack, an HTTP 503 then sent: an answer came, so the record is clean", async () => {
    world.standins.receivers.setFault("slack", { status: 503, times: 1 });
    const { executionId, ev } = prodFailure();
    world.lines.length = 0;

    await world.invoke([record(ev, "m-1")], 30_000);

    expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(1);
    expect(await ledgerOf(executionId, "slack-eng")).toMatchObject({
      status: "sent",
      ambiguous: false,
    });
    expect(possibleDuplicates()).toEqual([]);
  });

  it("Slack behind a gateway that answered 504 after Slack took the message, then sent: ambiguous (a 502 / 504 is the gateway's, not Slack's, answer)", async () => {
    world.standins.receivers.setFault("slack", { kind: "gateway-timeout", times: 1 });
    const { executionId, ev } = prodFailure();

    await world.invoke([record(ev, "m-1")], 30_000);

    // Both requests reached the channel; the first answer the sender saw was the gateway's 504.
    expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(2);
    expect(
      world.standins.receivers.attemptsOf("slack", "slack-eng").map((a) => [a.outcome, a.status]),
    ).toEqual([
      ["lost-reply", 504],
      ["delivered", 200],
    ]);
    expect(await ledgerOf(executionId, "slack-eng")).toMatchObject({
      status: "sent",
      ambiguous: true,
    });
  });

  it("PagerDuty, reply lost then sent: the repeat joined the incident (dedup_key), recorded as an idempotent resend, not ambiguous", async () => {
    world.standins.receivers.setFault("pagerduty", { kind: "lost-reply", times: 1 });
    const { executionId, ev } = prodFailure();

    await world.invoke([record(ev, "m-1")], 30_000);

    const page = await ledgerOf(executionId, "pagerduty-oncall");
    expect(page).toMatchObject({
      status: "sent",
      ambiguous: false,
      detail: { resentIdempotent: true },
    });
    // One incident with both triggers (the pipeline's open incident, issue 11: its dedup_key).
    expect(world.standins.receivers.incidents).toHaveLength(1);
    expect(world.standins.receivers.incidents[0].triggers).toBe(2);
  });

  it("every attempt unanswered: the slot is `failed` but remembers it, and the next receive's send is recorded ambiguous", async () => {
    world.standins.receivers.setFault("slack", { kind: "lost-reply", times: 3 });
    const { executionId, ev } = prodFailure();

    const first = await world.invoke([record(ev, "m-1")], 30_000);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
    expect(await ledgerOf(executionId, "slack-eng")).toMatchObject({
      status: "failed",
      mayHaveArrived: true,
    });

    const second = await world.invoke([record(ev, "m-1", 2)], 30_000);

    expect(second.batchItemFailures).toEqual([]);
    expect(world.standins.receivers.byReceiver("slack", "slack-eng")).toHaveLength(4);
    expect(await ledgerOf(executionId, "slack-eng")).toMatchObject({
      status: "sent",
      ambiguous: true,
    });
  });

  it("SMS, a Publish whose answer came after the SDK's request timeout: SNS took it, the retry is a second text, recorded ambiguous (the SDK no longer repeats it unseen)", async () => {
    // SNS answers the first Publish after the SDK's 5 s request timeout (handlers/aws.ts
    // sdkTimeouts), and stores it all the same: a standard topic has no idempotency.
    const delays = world.standins.aws.delays.sns;
    delays.Publish = 5_500;
    const calm = setTimeout(() => (delays.Publish = 0), 1_000);
    const { executionId, ev } = prodFailure();

    try {
      await world.invoke([record(ev, "m-1")], 30_000);
      // The first Publish completes on the stand-in after the client gave up on it.
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      clearTimeout(calm);
      delays.Publish = 0;
    }

    const texts = world.standins.aws.state.sns.published.filter((p) =>
      JSON.stringify(p).includes("main-app-production-v3"),
    );
    expect(texts).toHaveLength(2);
    expect(await ledgerOf(executionId, "sms-oncall")).toMatchObject({
      status: "sent",
      ambiguous: true,
    });
  }, 30_000);

  it("Slack, reply lost then rate-limited past the deadline: the deferral's slot remembers the unanswered attempt, and the copy's send is recorded ambiguous", async () => {
    process.env.EVENTS_QUEUE_URL ??= "https://sqs.us-east-1.amazonaws.com/123456789012/events";
    const receivers = world.standins.receivers;
    receivers.setFault("slack", { kind: "lost-reply", times: 1 });
    // The retry is then answered 429 with a Retry-After beyond the deadline (a deferral, issue 11).
    const stop = receivers.onAttempt((a) => {
      if (a.receiver === "slack" && a.outcome === "lost-reply") {
        receivers.setFault("slack", { status: 429, retryAfter: 120, times: 1 });
      }
    });
    const { executionId, ev } = prodFailure();

    let first;
    try {
      first = await world.invoke([record(ev, "m-1")], 30_000);
    } finally {
      stop();
    }

    expect(first.batchItemFailures).toEqual([]);
    expect(await ledgerOf(executionId, "slack-eng")).toMatchObject({
      status: "failed",
      mayHaveArrived: true,
      lastError: expect.stringMatching(/^deferred: .*429/),
    });
    // The delayed copy (a new message with the same event).
    await world.invoke([record(ev, "m-copy")], 30_000);
    expect(receivers.byReceiver("slack", "slack-eng")).toHaveLength(2);
    expect(await ledgerOf(executionId, "slack-eng")).toMatchObject({
      status: "sent",
      ambiguous: true,
    });
  });
});
