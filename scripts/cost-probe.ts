/**
 * `npx ts-node --transpile-only scripts/cost-probe.ts [--events <n>] [--no-webhook] [--json]`: the
 * chaos bench's clean pass alone (scripts/lib/chaos.ts: the prod stack's critical route plus the
 * webhook channel, one warm fan-out, no faults; `--no-webhook`: the critical route alone,
 * PagerDuty, Slack and SMS, the issue's own 3-channel event), priced by scripts/lib/chaos-cost.ts, and WHERE the
 * DynamoDB units go: calls and estimated write units per operation and item kind (the partition
 * key's prefix), and the size of the items at the end of the run.
 *
 * Two unit figures per write:
 * - `units`: the bench counter's (testing/dynamo-faults.ts: 1 per call, plus 1 when the request
 *   names the index key) — what `npm run bench -- --chaos` reports;
 * - `billed`: closer to DynamoDB's rules (developer guide, "Read/write capacity mode", "Global
 *   secondary indexes: provisioned throughput considerations"): the table write is
 *   ceil(max(item before, item after) / 1 KB) (the item's size at the end of the run stands for
 *   it), and each write to an item that is, or becomes, part of the `byExecution` index (projection
 *   ALL) is one more index write, two when it changes the item's index key (a delete and a put).
 * Minutes, not the chaos run's: for measuring cost changes step by step.
 */
import { parseArgs } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { TIME_SCALE_ENV } from "../handlers/http";
import { setSmsTimeScale, type AllStandins } from "../testing";
import { fanoutEvent, startArchiveWorld, type BenchContext } from "./bench";
import { addWebhookChannel, closeFleet, startFleet, CHAOS, type Fleet } from "./lib/chaos";
import { chaosCost } from "./lib/chaos-cost";
import * as os from "node:os";
import * as fs from "node:fs";
import * as path from "node:path";

// dynalite's own item size (the DynamoDB rules for attribute names and values).
const { itemSize } = require("dynalite/db") as { itemSize: (item: unknown) => number };

/** One DynamoDB request the proxy saw. */
interface Seen {
  op: string;
  kind: string;
  key: string;
  setsIndexKey: boolean;
  bytes: number;
}

const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem"]);

/** The item kind of a request: its partition key up to the first `#` (`DELIVERY#PIPELINE`, …). */
function describeRequest(op: string, body: string): Seen {
  let input: Record<string, any> = {};
  try {
    input = JSON.parse(body) as Record<string, any>;
  } catch {
    // counted as "?"
  }
  const key = input.Key ?? input.Item ?? {};
  const pk = String(key.pk?.S ?? input.ExpressionAttributeValues?.[":pk"]?.S ?? "?");
  const sk = String(key.sk?.S ?? "");
  const parts = pk.split("#");
  let kind = parts[0] === "DELIVERY" && parts[1] === "PIPELINE" ? "DELIVERY#PIPELINE" : parts[0];
  if (kind === "DELIVERY#PIPELINE" && parts[2] === "DIGEST") kind = "DELIVERY#PIPELINE#DIGEST";
  if (op === "Query" && input.IndexName) kind = `index:${parts[0]}`;
  return {
    op,
    kind,
    key: `${pk}\u0000${sk}`,
    // "gsi1pk" in an Item, or gsi1pk in an UpdateExpression.
    setsIndexKey: /\bgsi1pk\b/.test(body) && WRITES.has(op),
    bytes: body.length,
  };
}

/** Runs the clean pass with the request log on; resolves with its figures. */
async function probe(events: number, webhook = true): Promise<Record<string, unknown>> {
  const scale = CHAOS.timeScale;
  const ctx: BenchContext = {
    runs: 1,
    workDir: fs.mkdtempSync(path.join(os.tmpdir(), "cost-probe-")),
    log: (m) => process.stderr.write(`${m}\n`),
    results: {},
  };
  const world = await startArchiveWorld(ctx, webhook ? addWebhookChannel : undefined);
  process.env[TIME_SCALE_ENV] = String(scale);
  world.all.receivers.setTimeScale(scale);
  setSmsTimeScale(world.all.aws.state, scale);
  const seen: Seen[] = [];
  const faults = world.all.dynamo.faults as { decide: (op: string, body: string) => unknown };
  const decide = faults.decide.bind(faults);
  faults.decide = (op, body) => {
    seen.push(describeRequest(op, body));
    return decide(op, body);
  };
  const fleet = await startFleet(world, 1, scale);
  try {
    await play(world.all, fleet, 1, "warm");
    const before = notificationsIn(await scan(world));
    world.all.dynamo.faults.resetCounts();
    fleet.invocations.length = 0;
    seen.length = 0;
    await play(world.all, fleet, events, "clean");
    const counts = structuredClone(world.all.dynamo.faults.counts);
    const requests = seen.slice();
    const items = await scan(world);
    const byKey = new Map(items.map((i) => [`${String(i.pk)}\u0000${String(i.sk)}`, i]));
    const notifications = notificationsIn(items) - before;
    const cost = chaosCost(
      {
        events,
        notifications,
        counts,
        invocationMs: fleet.invocations.map((i) => i.ms),
        memoryMb: 128,
      },
      { events, counts },
    );
    return {
      events,
      notifications,
      invocations: fleet.invocations.length,
      cost,
      byKind: tabulate(requests, byKey, events),
      samples: samples(items),
      itemSizes: sizes(items),
    };
  } finally {
    await closeFleet(fleet);
    await world.all.close();
  }
}

/** Notifications delivered (sent, or grouped into a digest) in the table. */
function notificationsIn(items: Array<Record<string, unknown>>): number {
  return items.filter(
    (i) =>
      String(i.pk).startsWith("DELIVERY#PIPELINE#") &&
      !String(i.pk).startsWith("DELIVERY#PIPELINE#DIGEST#") &&
      ["sent", "grouped"].includes(String(i.status)),
  ).length;
}

/** Calls, counter units and billed-estimate units per (operation, kind), per event. */
function tabulate(seen: Seen[], items: Map<string, Record<string, unknown>>, events: number) {
  const rows: Record<string, { calls: number; units: number; billed: number; bytes: number }> = {};
  const inIndex = new Set<string>();
  for (const s of seen) {
    const row = (rows[`${s.op} ${s.kind}`] ??= { calls: 0, units: 0, billed: 0, bytes: 0 });
    row.calls += 1;
    row.bytes += s.bytes;
    if (!WRITES.has(s.op)) {
      row.units += 1;
      row.billed += 1;
      continue;
    }
    row.units += 1 + (s.setsIndexKey ? 1 : 0);
    const item = items.get(s.key);
    const tableUnits = Math.max(1, Math.ceil((item ? sizeOf(item) : 0) / 1024));
    const was = inIndex.has(s.key);
    const indexUnits = s.setsIndexKey ? (was ? 2 : 1) : was ? 1 : 0;
    if (s.setsIndexKey) inIndex.add(s.key);
    row.billed += tableUnits + indexUnits;
  }
  return Object.fromEntries(
    Object.entries(rows)
      .sort((a, b) => b[1].billed - a[1].billed)
      .map(([k, r]) => [
        k,
        {
          callsPerEvent: +(r.calls / events).toFixed(2),
          unitsPerEvent: +(r.units / events).toFixed(2),
          billedPerEvent: +(r.billed / events).toFixed(2),
          avgRequestBytes: Math.round(r.bytes / r.calls),
        },
      ]),
  );
}

/** One item of each kind and status, with its size: what the bytes are. */
function samples(items: Array<Record<string, unknown>>) {
  const out: Record<string, unknown> = {};
  for (const i of items) {
    const k = `${String(i.pk).split("#").slice(0, 2).join("#")} ${String(i.status ?? "")}`;
    out[k] ??= { bytes: sizeOf(i), item: i };
  }
  return out;
}

/** Item count and size (bytes, DynamoDB's rules) per kind at the end of the run. */
function sizes(items: Array<Record<string, unknown>>) {
  const out: Record<string, { items: number; maxBytes: number; avgBytes: number }> = {};
  for (const i of items) {
    const s = describeRequest(
      "GetItem",
      JSON.stringify({ Key: { pk: { S: i.pk }, sk: { S: i.sk } } }),
    );
    const row = (out[`${s.kind} ${String(i.status ?? "")}`] ??= {
      items: 0,
      maxBytes: 0,
      avgBytes: 0,
    });
    const size = sizeOf(i);
    row.avgBytes = (row.avgBytes * row.items + size) / (row.items + 1);
    row.items += 1;
    row.maxBytes = Math.max(row.maxBytes, size);
  }
  for (const r of Object.values(out)) r.avgBytes = Math.round(r.avgBytes);
  return out;
}

/** Every item of the fan-out's table, in DynamoDB's attribute-value form (for itemSize). */
async function scan(world: Awaited<ReturnType<typeof startArchiveWorld>>) {
  const fanout = world.program.archives.find((a) => a.name === "fanout");
  const client = new DynamoDBClient({
    endpoint: world.all.dynamo.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "probe", secretAccessKey: "probe" },
  });
  const doc = DynamoDBDocumentClient.from(client);
  const items: Array<Record<string, unknown>> = [];
  try {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await doc.send(
        new ScanCommand({ TableName: fanout?.environment.AUDIT_TABLE, ExclusiveStartKey: start }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  return items;
}

/** The size of a document-client item by DynamoDB's rules (dynalite's, on its attribute values). */
function sizeOf(item: Record<string, unknown>): number {
  return itemSize(marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true }));
}

/** Sends `count` events to the fleet and waits until it is idle (chaos.ts `play`, simplified). */
async function play(all: AllStandins, fleet: Fleet, count: number, prefix: string) {
  const pipelines = ["main-app-production-v3", "api-gateway-prod-cluster"];
  for (let i = 0; i < count; i++) {
    const batch = fanoutEvent(all, pipelines[i % 2], `${prefix}${i} health checks failed`);
    void fleet.queues[i % fleet.queues.length].send(String(batch.Records[0].body));
  }
  for (;;) {
    const before = fleet.queues.reduce((n, q) => n + q.messages.length, 0);
    await Promise.all(fleet.queues.map((q) => q.idle()));
    if (fleet.queues.reduce((n, q) => n + q.messages.length, 0) === before) return;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: "string" },
      "no-webhook": { type: "boolean" },
      json: { type: "boolean" },
    },
  });
  const result = await probe(Number(values.events ?? CHAOS.cleanEvents), !values["no-webhook"]);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
}
