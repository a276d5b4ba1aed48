/**
 * The one open PagerDuty incident per (channel, pipeline) item (issue 11, store/incidents.ts),
 * against dynalite: one key per open incident whatever the number of failures, agreement between
 * concurrent claims, the success that takes it exactly once, bounded size, pipelines of the same
 * name in two accounts, and items written before issue 11 (a growing `dedupKeys` set).
 *
 * PagerDuty semantics modelled (support.pagerduty.com/docs/event-management, "Deduplicate
 * Alerts"): a trigger with the dedup_key of an open incident is appended to it; with no open
 * incident for the key, a new incident opens — so after a resolve the item must give the next
 * failure a key of its own.
 */
import { randomUUID } from "node:crypto";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../../handlers/aws";
import { pagerdutyDedupKey } from "../../handlers/channels/pagerduty";
import { pipelineKeyOf } from "../../handlers/contracts/pipeline-id";
import {
  claimIncident,
  incidentItem,
  takeIncidents,
  type IncidentFailure,
} from "../../handlers/store/incidents";
import { incidentKey } from "../../handlers/store/keys";
import { startFanoutWorld, TABLE, type FanoutWorld } from "../support/fanout";

let world: FanoutWorld;

beforeAll(async () => {
  world = await startFanoutWorld();
});
afterAll(() => world.close());

const CHANNEL = "pagerduty-oncall";

/** A failure of `pipeline` (a fresh execution and notification unless given). */
function failure(pipeline: string, executionId = randomUUID()): IncidentFailure {
  return {
    candidateKey: pagerdutyDedupKey({ pipeline, executionId }),
    executionId,
    notificationId: `n-${randomUUID()}`,
  };
}

/** Size of an item as DynamoDB counts it, roughly: names plus values (JSON). */
function itemBytes(item: Record<string, unknown> | undefined): number {
  return Buffer.byteLength(JSON.stringify(item ?? {}), "utf8");
}

describe("claimIncident: one open incident per pipeline", () => {
  it("opens with the first failure's key; later failures get the SAME key (added, no new page)", async () => {
    const pipeline = `p-${randomUUID()}`;
    const first = failure(pipeline);
    const second = failure(pipeline);

    const opened = await claimIncident(CHANNEL, pipeline, first, 30);
    const added = await claimIncident(CHANNEL, pipeline, second, 30);

    expect(opened).toMatchObject({ dedupKey: first.candidateKey, opened: true, failures: 1 });
    expect(added).toMatchObject({ dedupKey: first.candidateKey, opened: false, failures: 2 });
    expect(added.openedBy).toBe(first.executionId);
    expect(await incidentItem(CHANNEL, pipeline)).toMatchObject({
      dedupKey: first.candidateKey,
      failures: 2,
      openedBy: first.executionId,
      lastExecution: second.executionId,
    });
  });

  it("counts a retried delivery of the same notification once", async () => {
    const pipeline = `p-${randomUUID()}`;
    const f = failure(pipeline);

    await claimIncident(CHANNEL, pipeline, f, 30);
    const again = await claimIncident(CHANNEL, pipeline, f, 30);

    expect(again).toMatchObject({ dedupKey: f.candidateKey, failures: 1 });
  });

  it("two invocations claiming at once agree on one key (atomic if_not_exists)", async () => {
    const pipeline = `p-${randomUUID()}`;
    const claims = await Promise.all(
      Array.from({ length: 8 }, () => claimIncident(CHANNEL, pipeline, failure(pipeline), 30)),
    );

    const keys = new Set(claims.map((c) => c.dedupKey));
    expect(keys.size).toBe(1);
    expect(claims.filter((c) => c.opened)).toHaveLength(1);
    expect(claims.map((c) => c.failures).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("stays the same size after 100 failures (issue 11: the old set grew to 8 KB)", async () => {
    const pipeline = `p-${randomUUID()}`;
    await claimIncident(CHANNEL, pipeline, failure(pipeline), 30);
    const afterOne = itemBytes(await incidentItem(CHANNEL, pipeline));

    for (let i = 0; i < 99; i++) await claimIncident(CHANNEL, pipeline, failure(pipeline), 30);
    const item = await incidentItem(CHANNEL, pipeline);

    expect(item?.failures).toBe(100);
    // Only the counter gains digits ("1" → "100"): bounded, whatever the number of failures.
    expect(itemBytes(item)).toBeLessThanOrEqual(afterOne + 2);
    expect(itemBytes(item)).toBeLessThan(600);
  });
});

describe("takeIncidents: the next success resolves it, once", () => {
  it("takes the open key, clears the item, and the next failure opens a NEW key", async () => {
    const pipeline = `p-${randomUUID()}`;
    const first = failure(pipeline);
    await claimIncident(CHANNEL, pipeline, first, 30);
    await claimIncident(CHANNEL, pipeline, failure(pipeline), 30);

    const success = `n-${randomUUID()}`;
    const taken = await takeIncidents(CHANNEL, pipeline, success);
    const cleared = await incidentItem(CHANNEL, pipeline);
    const reopened = failure(pipeline);
    const next = await claimIncident(CHANNEL, pipeline, reopened, 30);

    expect(taken.map((t) => t.dedupKey)).toEqual([first.candidateKey]);
    expect(cleared?.dedupKey).toBeUndefined();
    expect(cleared?.failures).toBeUndefined();
    // After a resolve, a trigger opens a new incident: a key of its own (Events API v2).
    expect(next).toMatchObject({ dedupKey: reopened.candidateKey, opened: true, failures: 1 });
    expect(next.dedupKey).not.toBe(first.candidateKey);
  });

  it("a redelivery of the same success gets the same keys; another success gets none", async () => {
    const pipeline = `p-${randomUUID()}`;
    const f = failure(pipeline);
    await claimIncident(CHANNEL, pipeline, f, 30);
    const success = `n-${randomUUID()}`;

    const first = await takeIncidents(CHANNEL, pipeline, success);
    const redelivered = await takeIncidents(CHANNEL, pipeline, success, true);
    const concurrentDuplicate = await takeIncidents(CHANNEL, pipeline, success, false);
    const other = await takeIncidents(CHANNEL, pipeline, `n-${randomUUID()}`, true);

    expect(first.map((t) => t.dedupKey)).toEqual([f.candidateKey]);
    expect(first[0].lastExecution).toBe(f.executionId);
    expect(redelivered).toEqual(first);
    expect(concurrentDuplicate).toEqual([]);
    expect(other).toEqual([]);
  });

  it("nothing open: nothing to resolve, and no item is created", async () => {
    const pipeline = `p-${randomUUID()}`;

    expect(await takeIncidents(CHANNEL, pipeline, `n-${randomUUID()}`)).toEqual([]);
    expect(await incidentItem(CHANNEL, pipeline)).toBeUndefined();
  });
});

describe("migration: an item written before issue 11", () => {
  it("resolves every key of the old dedupKeys set on the next success, then forgets the set", async () => {
    const pipeline = `p-${randomUUID()}`;
    const old = [1, 2, 3].map((i) => `deploy-notifier/${pipeline}/old-${i}`);
    await ddb().send(
      new PutCommand({
        TableName: TABLE,
        Item: { ...incidentKey(CHANNEL, pipeline), dedupKeys: new Set(old), expiresAt: 1 },
      }),
    );
    // A failure before the success opens the one incident next to the old set.
    const f = failure(pipeline);
    await claimIncident(CHANNEL, pipeline, f, 30);

    const taken = await takeIncidents(CHANNEL, pipeline, `n-${randomUUID()}`);
    const item = await incidentItem(CHANNEL, pipeline);

    expect(taken.map((t) => t.dedupKey).sort()).toEqual([...old, f.candidateKey].sort());
    expect(item?.dedupKeys).toBeUndefined();
    expect(item?.dedupKey).toBeUndefined();
  });
});

describe("pipelines of the same name in two accounts (issue 14)", () => {
  const saved = process.env.HOME_ACCOUNT;
  beforeAll(() => {
    process.env.HOME_ACCOUNT = "111111111111";
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.HOME_ACCOUNT;
    else process.env.HOME_ACCOUNT = saved;
  });

  it("get two items and two dedup keys: two incidents, never one shared", async () => {
    const name = `p-${randomUUID()}`;
    const region = process.env.AWS_REGION ?? "us-east-1";
    const executionId = randomUUID();
    const refs = ["111111111111", "222222222222"].map((account) => ({
      account,
      region,
      pipeline: name,
    }));
    const claims = [];
    for (const ref of refs) {
      claims.push(
        await claimIncident(
          CHANNEL,
          pipelineKeyOf(ref),
          {
            candidateKey: pagerdutyDedupKey({ ...ref, executionId }),
            executionId,
            notificationId: `n-${randomUUID()}`,
          },
          30,
        ),
      );
    }

    expect(claims.map((c) => c.opened)).toEqual([true, true]);
    expect(claims[0].dedupKey).toBe(`deploy-notifier/${name}/${executionId}`);
    expect(claims[1].dedupKey).toBe(
      `deploy-notifier/arn:aws:codepipeline:${region}:222222222222:${name}/${executionId}`,
    );
  });
});
