/**
 * The chaos bench's tally (scripts/lib/chaos-tally.ts) with grouping on (issue 11 defaults: SMS
 * 1 text per 120 s window then one "N more - see <slack channel>" digest; chat and webhooks 3 per
 * 60 s then a digest). Before this, an event grouped into a digest was counted `lost` (SMS: 28
 * of 200 in the 10:46 run) and a digest was counted as a delivery of the first event it named.
 * What the receivers got is given as the stand-ins record it; the ledger as a Scan returns it.
 */
import {
  groupingLedger,
  isDigest,
  tallyChannels,
  tallyRun,
  type EventSent,
} from "../../scripts/lib/chaos-tally";
import { localRoutingKey } from "../../testing/world";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:channel-sms-oncall";
const exec = (i: number) => `0000000${i}-0000-4000-8000-000000000000`;
const events: EventSent[] = [0, 1, 2].map((i) => ({
  token: `chaos000${i}`,
  executionId: exec(i),
  message: { state: "deleted" } as unknown as EventSent["message"],
}));

/** A minimal stand-in world: SNS publishes and webhook attempts, no DLQ. */
function world(sms: string[], webhook: unknown[]): any {
  return {
    aws: {
      state: {
        sns: { published: sms.map((message) => ({ topicArn: TOPIC, message })) },
        sqs: { sent: [] },
      },
    },
    receivers: {
      incidents: [],
      attemptsOf: (kind: string) =>
        kind === "webhook" ? webhook.map((body) => ({ outcome: "delivered", body })) : [],
    },
  };
}

const route = [
  { name: "sms-oncall", type: "sms" },
  { name: "webhook-ops", type: "webhook" },
];

describe("chaos tally with digests", () => {
  it("recognizes each medium's digest (channels/sms.ts, slack-digest.ts, webhook.ts)", () => {
    expect(isDigest("sms", "2 more pipelines failed in 2 min: a, b - see slack-eng")).toBe(true);
    expect(isDigest("sms", "FAILED main-app @Deploy/X: chaos0001 health checks failed")).toBe(
      false,
    );
    expect(isDigest("webhook", { type: "digest", digest: {} })).toBe(true);
    expect(isDigest("webhook", { notificationId: "x" })).toBe(false);
    expect(
      isDigest("slack", {
        blocks: [{ type: "context", text: "… · 37 notifications, 2 pipelines" }],
      }),
    ).toBe(true);
    expect(isDigest("slack", { text: "main-app failed: chaos0001" })).toBe(false);
  });

  it("an event grouped into a digest the ledger says was sent is delivered once, not lost; the digest is no event's delivery", () => {
    // SMS: event 0 texted on its own; 1 and 2 grouped into one digest, sent.
    // Webhook: event 0 on its own; 1 and 2 in a digest body that names both (not a delivery of 1).
    const sms = [
      "FAILED main-app-production-v3 @Deploy/DeployToProduction: chaos0000 health checks failed",
      "2 more pipelines failed in 2 min: main-app-production-v3 - see slack-eng",
    ];
    const webhook = [
      { notificationId: "n0", executionId: exec(0) },
      { type: "digest", digest: { entries: [{ executionId: exec(1) }, { executionId: exec(2) }] } },
    ];
    const ledger = groupingLedger([
      { status: "grouped", channel: "sms-oncall", executionId: exec(1), digestId: "digest/sms/1" },
      { status: "grouped", channel: "sms-oncall", executionId: exec(2), digestId: "digest/sms/1" },
      { status: "sent", notificationId: "digest/sms/1", channel: "sms-oncall" },
      { status: "grouped", channel: "webhook-ops", executionId: exec(1), digestId: "digest/w/1" },
      { status: "grouped", channel: "webhook-ops", executionId: exec(2), digestId: "digest/w/1" },
      { status: "sent", notificationId: "digest/w/1", channel: "webhook-ops" },
    ]);

    const tally = tallyRun(world(sms, webhook), route, { "sms-oncall": TOPIC }, events, ledger);

    for (const name of ["sms-oncall", "webhook-ops"]) {
      expect(tally.channels[name]).toMatchObject({
        once: 3,
        duplicates: 0,
        lost: 0,
        unattributed: 0,
      });
      expect(tally.digests[name]).toEqual({
        inDigest: 2,
        received: 1,
        sent: 1,
        ambiguous: 0,
        dropped: 0,
      });
    }
  });

  it("a digest the receiver got twice is explained by the ledger's ambiguous digest: received 2, sent 1, ambiguous 1", () => {
    // SMS: event 0 texted on its own; 1 and 2 in one digest that SNS accepted twice (its first
    // Publish's answer was lost), which the ledger recorded sent, ambiguous.
    const digest = "2 more pipelines failed in 2 min: main-app-production-v3 - see slack-eng";
    const sms = [
      "FAILED main-app-production-v3 @Deploy/DeployToProduction: chaos0000 health checks failed",
      digest,
      digest,
    ];
    const ledger = groupingLedger([
      { status: "grouped", channel: "sms-oncall", executionId: exec(1), digestId: "digest/sms/1" },
      { status: "grouped", channel: "sms-oncall", executionId: exec(2), digestId: "digest/sms/1" },
      { status: "sent", notificationId: "digest/sms/1", channel: "sms-oncall", ambiguous: true },
    ]);

    const tally = tallyRun(world(sms, []), route, { "sms-oncall": TOPIC }, events, ledger);

    expect(tally.digests["sms-oncall"]).toEqual({
      inDigest: 2,
      received: 2,
      sent: 1,
      ambiguous: 1,
      dropped: 0,
    });
  });

  it("an event grouped into a digest that was never sent is lost (the tally does not trust the grouping alone)", () => {
    const ledger = groupingLedger([
      { status: "grouped", channel: "sms-oncall", executionId: exec(1), digestId: "digest/sms/9" },
    ]);

    const tally = tallyChannels(world([], []), route, { "sms-oncall": TOPIC }, events, ledger);

    expect(tally["sms-oncall"]).toMatchObject({ once: 0, lost: 3 });
  });

  it("an event grouped into a digest dropped for a channel no longer in the stack config is lost, and counted dropped: the ledger says why", () => {
    // The digest's record as store/digest-drop.ts writes it (status abandoned, detail.dropped).
    const ledger = groupingLedger([
      { status: "grouped", channel: "sms-oncall", executionId: exec(1), digestId: "digest/sms/9" },
      { status: "grouped", channel: "sms-oncall", executionId: exec(2), digestId: "digest/sms/8" },
      {
        status: "abandoned",
        notificationId: "digest/sms/9",
        action: "failed",
        result: "dropped: channel sms-oncall is no longer in the stack config",
        detail: { kind: "digest", count: 1, notifications: ["n1"], dropped: true },
      },
    ]);

    const tally = tallyRun(world([], []), route, { "sms-oncall": TOPIC }, events, ledger);

    expect(tally.channels["sms-oncall"]).toMatchObject({ once: 0, lost: 3 });
    // Event 1's digest was dropped; event 2's was never sent and says nothing: not dropped.
    expect(tally.digests["sms-oncall"]).toMatchObject({ sent: 0, dropped: 1 });
  });

  it("an event sent on its own AND grouped into a sent digest counts as a duplicate", () => {
    const sms = ["FAILED main-app @Deploy/X: chaos0001 health checks failed"];
    const ledger = groupingLedger([
      { status: "grouped", channel: "sms-oncall", executionId: exec(1), digestId: "digest/sms/1" },
      { status: "sent", notificationId: "digest/sms/1" },
    ]);

    const tally = tallyChannels(world(sms, []), route, { "sms-oncall": TOPIC }, events, ledger);

    expect(tally["sms-oncall"]).toMatchObject({ once: 0, duplicates: 1, lost: 2 });
  });

  it("an event listed in a sent digest whose grouped slot was released and then sent on its own is a duplicate, and the ambiguous send the ledger recorded counts", () => {
    // Event 1's grouped mark completed after its window's flush read it, then was released
    // (fanout/grouping.ts): the digest lists it, and the record's copy texted it again, recorded
    // `ambiguous` (the slot kept `mayHaveArrived`). Its slot says `sent`, not `grouped`.
    const sms = ["FAILED main-app @Deploy/X: chaos0001 health checks failed"];
    const ledger = groupingLedger([
      {
        pk: "DELIVERY#PIPELINE#main-app",
        status: "sent",
        channel: "sms-oncall",
        executionId: exec(1),
        notificationId: "n1",
        ambiguous: true,
      },
      {
        status: "sent",
        notificationId: "digest/sms-oncall/1",
        channel: "sms-oncall",
        detail: { kind: "digest", count: 2, notifications: ["n9", "n1"] },
      },
    ]);

    const tally = tallyChannels(world(sms, []), route, { "sms-oncall": TOPIC }, events, ledger);

    expect(tally["sms-oncall"]).toMatchObject({ once: 0, duplicates: 1, lost: 2 });
    expect(tally["sms-oncall"].ambiguousSends).toBe(1);
  });

  /**
   * Event 1's slot grouped into digest 2 (moved there from digest 1, which listed `first`), both
   * sent, digest 2's record saying `second` (default: it lists event 1 alone).
   */
  function movedAfterListing(
    slot: Record<string, unknown>,
    first = ["n9", "n1"],
    second: Record<string, unknown> = { count: 1, notifications: ["n1"] },
  ) {
    return groupingLedger([
      {
        pk: "DELIVERY#PIPELINE#main-app",
        status: "grouped",
        channel: "sms-oncall",
        executionId: exec(1),
        notificationId: "n1",
        digestId: "digest/sms-oncall/2",
        ...slot,
      },
      {
        status: "sent",
        notificationId: "digest/sms-oncall/1",
        detail: { kind: "digest", count: first.length, notifications: first },
      },
      {
        status: "sent",
        notificationId: "digest/sms-oncall/2",
        detail: { kind: "digest", ...second },
      },
    ]);
  }

  it("an entry listed by two sent digests (moved after the first listed it) is a duplicate", () => {
    const ledger = movedAfterListing({});

    const tally = tallyRun(world([], []), route, { "sms-oncall": TOPIC }, events, ledger);

    expect(tally.channels["sms-oncall"]).toMatchObject({ once: 0, duplicates: 1, lost: 2 });
    expect(tally.channels["sms-oncall"].ambiguousSends).toBe(0); // a move that said nothing
    expect(tally.digests["sms-oncall"].inDigest).toBe(1);
  });

  it("the second listing of an entry moved from a digest whose record could not say (mayBeInDigest) is an ambiguous send", () => {
    const ledger = movedAfterListing({ mayBeInDigest: true, mayHaveArrived: true });

    const tally = tallyChannels(world([], []), route, { "sms-oncall": TOPIC }, events, ledger);

    expect(tally["sms-oncall"]).toMatchObject({ duplicates: 1, ambiguousSends: 1 });
  });

  it("an entry moved from a digest that did not list it is delivered once", () => {
    const ledger = movedAfterListing({}, ["n9", "n8"]);

    const tally = tallyChannels(world([], []), route, { "sms-oncall": TOPIC }, events, ledger);

    expect(tally["sms-oncall"]).toMatchObject({ once: 1, duplicates: 0, ambiguousSends: 0 });
  });

  it("an entry in a digest it cut at 200 ids counts once through that digest, and again for a complete list that names it", () => {
    const ledger = movedAfterListing({}, ["n1"], { count: 201, notifications: ["n8"] });

    const tally = tallyChannels(world([], []), route, { "sms-oncall": TOPIC }, events, ledger);

    expect(tally["sms-oncall"]).toMatchObject({ once: 0, duplicates: 1 });
  });
});

describe("chaos tally: what it cannot attribute", () => {
  it("names each unattributed delivery (its body or text), so a run's 'unattributed: 1' can be looked into", () => {
    // Prepare: an SMS and a webhook body that name no event of the run (a marker of another
    // pass, no marker at all), next to attributable ones.
    const sms = [
      "FAILED main-app @Deploy/X: chaos0000 health checks failed",
      "FAILED main-app @Deploy/X: clean0007 health checks failed",
    ];
    const webhook = [{ notificationId: "n0", executionId: exec(0) }, { notificationId: "n9" }];

    // Act
    const tally = tallyRun(world(sms, webhook), route, { "sms-oncall": TOPIC }, events);

    // Assess
    expect(tally.channels["sms-oncall"].unattributed).toBe(1);
    expect(tally.unattributedSamples["sms-oncall"]).toEqual([
      "-: FAILED main-app @Deploy/X: clean0007 health checks failed",
    ]);
    expect(tally.channels["webhook-ops"].unattributed).toBe(1);
    expect(tally.unattributedSamples["webhook-ops"]).toEqual(['{"notificationId":"n9"}']);
  });
});

describe("chaos tally: PagerDuty triggers that join an open incident", () => {
  it("credits each trigger to its own event, not to the execution that opened the incident (its dedup_key)", () => {
    // Prepare: three failures of one pipeline. The first opens the incident; the next two join
    // it with the same dedup_key (channels/pagerduty.ts), which names the first execution.
    const key = `deploy-notifier/main-app-production-v3/${exec(0)}`;
    const routingKey = localRoutingKey("local:pagerduty-oncall");
    const triggers = events.map((e) => ({
      routing_key: routingKey,
      event_action: "trigger",
      dedup_key: key,
      payload: {
        summary: `main-app-production-v3 failed: ${e.token} health checks failed`,
        custom_details: { execution: e.executionId },
      },
    }));
    const all = world([], []);
    all.receivers.incidents = [{ dedupKey: key, status: "triggered" }];
    all.receivers.attemptsOf = (kind: string, name: string) =>
      kind === "pagerduty" && name === "enqueue"
        ? triggers.map((body) => ({ outcome: "delivered", body }))
        : [];

    // Act
    const tally = tallyChannels(all, [{ name: "pagerduty-oncall", type: "pagerduty" }], {}, events);

    // Assess: each event was paged once (its trigger joined the one incident); none lost.
    expect(tally["pagerduty-oncall"]).toMatchObject({ once: 3, lost: 0, duplicates: 0 });
  });
});
