/**
 * One open PagerDuty incident per pipeline, end to end through the fan-out (issue 11): the real
 * handler, dynalite and the local PagerDuty receiver, which models incidents by `dedup_key` as
 * PagerDuty documents (support.pagerduty.com/docs/event-management, "Deduplicate Alerts"):
 * - a trigger with the key of an open incident is appended to it ("Subsequent alerts with a
 *   matching dedup_key deduplicate into the same incident ... appended to the incident's Alerts
 *   log as an additional Trigger log entry"): no new page;
 * - "If there are no open incidents with this key, PagerDuty creates a new incident";
 * - a resolve carries routing_key, event_action and dedup_key (Events API v2 OpenAPI,
 *   github.com/PagerDuty/api-schema: dedup_key "Required unless the event_type is trigger"); of
 *   a key with no open incident it is accepted (202) and does nothing.
 * Also the DynamoDB calls a PagerDuty trigger and a resolve cost (issue 12), printed for the report.
 */
import { randomUUID } from "node:crypto";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../../handlers/aws";
import { incidentItem } from "../../handlers/store/incidents";
import { incidentKey } from "../../handlers/store/keys";
import { pagerdutyCounts } from "../../testing";
import { event, record, startFanoutWorld, TABLE, type FanoutWorld } from "../support/fanout";

let world: FanoutWorld;

beforeAll(async () => {
  world = await startFanoutWorld();
});
afterAll(() => world.close());
beforeEach(() => world.reset());
afterEach(() => jest.restoreAllMocks());

const PIPELINE = "main-app-production-v3";
const CHANNEL = "pagerduty-oncall";
const r = () => world.standins.receivers;
const pages = () =>
  r()
    .byReceiver("pagerduty")
    .map((p) => p.body as any);
const keyOf = (executionId: string) => `deploy-notifier/${PIPELINE}/${executionId}`;
const ofPipeline = (key: string) => key.startsWith(`deploy-notifier/${PIPELINE}/`);

function failed(executionId: string) {
  return event(
    "action-codebuild-failed",
    { pipeline: PIPELINE, "execution-id": executionId },
    { id: randomUUID() },
  );
}

function succeeded(executionId = randomUUID()) {
  return event(
    "pipeline-succeeded",
    { pipeline: PIPELINE, "execution-id": executionId },
    { id: randomUUID() },
  );
}

/** Resolves what earlier tests left open (the table outlives a test), then clears the receivers. */
async function startWithNoOpenIncident(): Promise<void> {
  await world.drain([succeeded()]);
  world.reset();
}

describe("one open incident per pipeline", () => {
  it("trigger, add, resolve, reopen: two incidents for four failures", async () => {
    await startWithNoOpenIncident();
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];

    await world.drain([failed(a)]); // opens the incident under a's key
    await world.drain([failed(b)]); // added to it: the same key, no new page
    const success = succeeded();
    await world.drain([success]); // resolves it
    await world.drain([success]); // a redelivered success resolves nothing again
    await world.drain([failed(c)]); // a later failure: a NEW incident, with c's key

    expect(pages().map((p) => [p.event_action, p.dedup_key])).toEqual([
      ["trigger", keyOf(a)],
      ["trigger", keyOf(a)],
      ["resolve", keyOf(a)],
      ["trigger", keyOf(c)],
    ]);
    // Each trigger added to the open incident says which failure it is.
    expect(pages()[1].payload.custom_details).toMatchObject({ executionId: b });
    expect(pages()[1].payload.custom_details.executionUrl).toContain(b);
    expect(pages()[1].links[0].href).toContain(b);
    expect(pages()[2]).toEqual({
      routing_key: expect.any(String),
      event_action: "resolve",
      dedup_key: keyOf(a),
    });
    expect(pagerdutyCounts(r().incidents, ofPipeline)).toEqual({
      opened: 2,
      open: 1,
      resolved: 1,
      alerts: 3,
      added: 1,
    });
    expect(r().incidents.map((i) => [i.dedupKey, i.status, i.triggers])).toEqual([
      [keyOf(a), "resolved", 2],
      [keyOf(c), "triggered", 1],
    ]);
    expect(await incidentItem(CHANNEL, PIPELINE)).toMatchObject({
      dedupKey: keyOf(c),
      failures: 1,
      openedBy: c,
    });
    const resolved = await world.audit(
      (x) => x.action === "incident-resolved" && x.detail.dedupKey === keyOf(a),
    );
    expect(resolved).toHaveLength(1);
  });

  it("a storm of 10 failures of one pipeline pages once (one incident, 10 alerts)", async () => {
    await startWithNoOpenIncident();
    const ids = Array.from({ length: 10 }, () => randomUUID());

    await world.drain(ids.map(failed));

    expect(pagerdutyCounts(r().incidents, ofPipeline)).toMatchObject({ opened: 1, alerts: 10 });
    expect(new Set(pages().map((p) => p.dedup_key)).size).toBe(1);
  });

  it("two invocations failing the same pipeline at once agree on ONE incident", async () => {
    await startWithNoOpenIncident();
    const [a, b] = [randomUUID(), randomUUID()];

    // Two concurrent Lambda invocations (the event source mapping runs up to 5), one record each.
    const out = await Promise.all([
      world.invoke([record(failed(a), `m-${randomUUID()}`)]),
      world.invoke([record(failed(b), `m-${randomUUID()}`)]),
    ]);

    expect(out.flatMap((o) => o.batchItemFailures)).toEqual([]);
    const keys = pages().map((p) => p.dedup_key);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(1);
    expect([keyOf(a), keyOf(b)]).toContain(keys[0]);
    expect(pagerdutyCounts(r().incidents, ofPipeline)).toMatchObject({ opened: 1, alerts: 2 });
    expect(await incidentItem(CHANNEL, PIPELINE)).toMatchObject({ failures: 2 });
  });
});

describe("migration: an incident item written before issue 11 (a dedupKeys set)", () => {
  it("the next success resolves every key in the set, once, and the item forgets it", async () => {
    await startWithNoOpenIncident();
    const old = [randomUUID(), randomUUID()].map(keyOf).sort();
    await ddb().send(
      new PutCommand({
        TableName: TABLE,
        Item: { ...incidentKey(CHANNEL, PIPELINE), dedupKeys: new Set(old), expiresAt: 1 },
      }),
    );

    const success = succeeded();
    await world.drain([success]);
    await world.drain([success]);

    expect(pages().map((p) => [p.event_action, p.dedup_key])).toEqual(
      old.map((k) => ["resolve", k]),
    );
    // Those incidents are unknown to this receiver: a resolve of them is accepted and a no-op.
    expect(r().incidents).toEqual([]);
    const item = await incidentItem(CHANNEL, PIPELINE);
    expect(item?.dedupKeys).toBeUndefined();
  });
});

/** DynamoDB calls of the handler that touch PagerDuty's bookkeeping, by what they are. */
function recordPagerDutyCalls(): string[] {
  const client = ddb();
  const send = client.send.bind(client) as (cmd: any, ...rest: any[]) => Promise<any>;
  const calls: string[] = [];
  jest.spyOn(client, "send").mockImplementation((async (cmd: any, ...rest: any[]) => {
    const key = cmd.input.Key ?? cmd.input.Item ?? {};
    const pk = String(key.pk ?? "");
    const sk = String(key.sk ?? "");
    const expr = String(cmd.input.UpdateExpression ?? "");
    if (pk.startsWith("INCIDENT#")) calls.push(`incident ${cmd.constructor.name}`);
    else if (pk.startsWith("DELIVERY#") && sk.includes(CHANNEL)) {
      calls.push(expr.includes(":sent") ? "mark-sent" : `delivery ${cmd.constructor.name}`);
    }
    return send(cmd, ...rest);
  }) as any);
  return calls;
}

describe("DynamoDB calls of PagerDuty's bookkeeping (issue 12)", () => {
  it("a trigger costs 3 (delivery claim, incident claim, mark-sent); a resolve 2 + 1 per success", async () => {
    await startWithNoOpenIncident();
    const calls = recordPagerDutyCalls();

    await world.drain([failed(randomUUID())]);
    const opening = calls.splice(0);
    await world.drain([failed(randomUUID())]);
    const adding = calls.splice(0);
    await world.drain([succeeded()]);
    const resolving = calls.splice(0);
    await world.drain([succeeded()]);
    const nothingOpen = calls.splice(0);

    process.stderr.write(
      `pagerduty ddb calls: open ${JSON.stringify(opening)}; add ${JSON.stringify(adding)}; ` +
        `resolve ${JSON.stringify(resolving)}; success with nothing open ${JSON.stringify(nothingOpen)}\n`,
    );
    const trigger = ["delivery UpdateCommand", "incident UpdateCommand", "mark-sent"];
    expect(opening).toEqual(trigger);
    expect(adding).toEqual(trigger);
    // The success takes the incident in the one write that finds it (1 per PagerDuty channel
    // per success, as the read it replaces), then the resolve's claim and mark: nothing after.
    expect(resolving).toEqual(["incident UpdateCommand", "delivery UpdateCommand", "mark-sent"]);
    expect(nothingOpen).toEqual(["incident UpdateCommand"]);
  });
});
