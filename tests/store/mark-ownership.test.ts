/**
 * A release (`markFailed`) changes a delivery slot only while the releasing invocation's own claim
 * holds it (issue 12, noticed at the last stop: markFailed was unconditional). When a claim's
 * lease runs out (store/ledger.ts: the claiming Lambda is presumed stopped) another receive may
 * claim the slot, send and mark it `sent`; a late release by the first invocation — a deferral,
 * a gate's release, a pacing error — must then change nothing: turning `sent` back into `failed`
 * would send the message again on the next receive, and freeing a live lease would let a third
 * receive send it at the same time. Against dynalite through the real SDK (no mocks): the
 * condition is DynamoDB's own (`ConditionExpression`, API reference, UpdateItem).
 */
import { randomUUID } from "node:crypto";
import { markGrouped } from "../../handlers/store/digest";
import { deliveryRecordKey } from "../../handlers/store/keys";
import { claimDelivery, type DeliveryRef } from "../../handlers/store/ledger";
import { markFailed, markSent } from "../../handlers/store/marks";
import { startFanoutWorld, type FanoutWorld } from "../support/fanout";

let world: FanoutWorld;

beforeAll(async () => {
  world = await startFanoutWorld();
});
afterAll(() => world.close());

function ref(): DeliveryRef {
  const id = randomUUID();
  return {
    pipeline: `mark-ownership-${id}`,
    eventTime: "2026-11-30T16:20:00Z",
    notificationId: `n-${id}`,
    slot: "slack-eng",
    channel: "slack-eng",
    executionId: `e-${id}`,
    eventId: `ev-${id}`,
  };
}

async function slot(r: DeliveryRef): Promise<Record<string, any> | undefined> {
  const k = deliveryRecordKey(r.pipeline, r.eventTime, r.notificationId, r.slot);
  return (await world.items()).find((i) => i.pk === k.pk && i.sk === k.sk);
}

const soon = () => Date.now() + 60_000;

/** Claims `r` as one invocation would: its own copy of the ref, carrying its claim. */
async function claimAs(r: DeliveryRef, leaseUntil: number, now = Date.now()) {
  const claim = await claimDelivery(r, leaseUntil, 1, now);
  if (!claim.claimed) throw new Error(`not claimed: ${claim.status}`);
  return { claim, mine: { ...r, claimId: claim.claimId } };
}

describe("markFailed only releases the caller's own claim", () => {
  it("a late release after another receive sent the slot leaves it `sent` (no second send)", async () => {
    const r = ref();
    const t0 = Date.now();
    // Invocation A's lease ends at t0 + 1; B claims at t0 + 2 (A presumed stopped).
    const a = await claimAs(r, t0 + 1, t0);
    const b = await claimAs(r, soon(), t0 + 2);
    expect(b.claim.unconfirmed).toBe(true);
    await markSent(b.mine, { action: "sent", ambiguous: true, detail: {} }, soon());

    // A was not stopped after all: its deferral releases the slot.
    const released = await markFailed(a.mine, "deferred: rate limited", false, soon());

    expect(released).toBe(false);
    expect(await slot(r)).toMatchObject({ status: "sent", claimId: b.claim.claimId });
    const again = await claimDelivery(r, soon(), 1);
    expect(again).toMatchObject({ claimed: false, status: "sent" });
  });

  it("a late release does not free another invocation's live lease", async () => {
    const r = ref();
    const t0 = Date.now();
    const a = await claimAs(r, t0 + 1, t0);
    const b = await claimAs(r, soon(), t0 + 2);

    expect(await markFailed(a.mine, "pacing unavailable", false, soon(), { unsent: true })).toBe(
      false,
    );

    const item = await slot(r);
    expect(item).toMatchObject({ status: "sending", claimId: b.claim.claimId });
    expect(item?.leaseUntil).toBeGreaterThan(Date.now());
    // B's turn counts; A's taken-back attempt (-1) was not applied.
    expect(item?.attempts).toBe(2);
    expect(await claimDelivery(r, soon(), 1)).toMatchObject({ claimed: false, status: "sending" });
  });

  it("the holder's own release still works: `failed`, claimable at once, the unsent attempt taken back", async () => {
    const r = ref();
    const { mine } = await claimAs(r, soon());

    expect(await markFailed(mine, "deferred: gate", false, soon(), { unsent: true })).toBe(true);

    expect(await slot(r)).toMatchObject({ status: "failed", leaseUntil: 0, attempts: 0 });
    const next = await claimDelivery(r, soon(), 1);
    expect(next).toMatchObject({ claimed: true, attempts: 1, unconfirmed: false });
  });

  it("a permanent failure by the holder is `abandoned`, and never claimed again", async () => {
    const r = ref();
    const { mine } = await claimAs(r, soon());

    expect(await markFailed(mine, "HTTP 404", true, soon())).toBe(true);

    expect(await slot(r)).toMatchObject({ status: "abandoned" });
    expect(await claimDelivery(r, soon(), 1)).toMatchObject({
      claimed: false,
      status: "abandoned",
    });
  });

  it("the holder gives back a slot it had marked `grouped` when its grouping fails after the mark (red team, round 8): `failed`, claimable, never stuck `grouped`", async () => {
    const r = ref();
    const { mine } = await claimAs(r, soon());
    // A late grouped mark landed (fanout/grouping.ts regroupLate then gave up at the deadline).
    const windowStart = Date.now() - (Date.now() % 60_000);
    await markGrouped(
      mine,
      { digestId: `digest/slack-eng/${windowStart}`, channel: "slack-eng", windowStart },
      {
        notificationId: r.notificationId,
        kind: "failure",
        pipeline: r.pipeline,
        account: "123456789012",
        region: "us-east-1",
        executionId: r.executionId!,
        time: r.eventTime,
        consoleUrl: "https://console.aws.amazon.com/codesuite/codepipeline/pipelines",
        severity: "critical",
      },
      soon(),
    );

    expect(await markFailed(mine, "pacing unavailable: grouping failed", false, soon())).toBe(true);

    expect(await slot(r)).toMatchObject({ status: "failed" });
    expect(await claimDelivery(r, soon(), 1)).toMatchObject({ claimed: true });
  });

  it("a slot taken over unconfirmed and given back unsent keeps saying its first send may have arrived (red team, round 8)", async () => {
    const r = ref();
    const t0 = Date.now();
    await claimAs(r, t0 + 1, t0); // A sends and crashes: the slot stays `sending`.
    const b = await claimAs(r, soon(), t0 + 2);
    expect(b.claim.unconfirmed).toBe(true);

    await markFailed(
      { ...b.mine, unconfirmed: b.claim.unconfirmed },
      "deferred: paced",
      false,
      soon(),
      { unsent: true },
    );

    expect(await slot(r)).toMatchObject({ status: "failed", mayHaveArrived: true });
    expect(await claimDelivery(r, soon(), 1)).toMatchObject({ claimed: true, unconfirmed: true });
  });
});
