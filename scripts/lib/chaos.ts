/**
 * `npm run bench -- --chaos`: exactly once when AWS has a bad day, measured (issue 12).
 *
 * FAILED events for the prod stack's critical pipelines go through the real fan-out archive, fed
 * by the local SQS queue with the declared redrive policy (testing/queue.ts), while
 * - 30 % of the receivers' requests fail at random: 500, 429 with `Retry-After: 1`, a timeout, a
 *   reset before the message was accepted, and a reply lost after it was (testing/receivers);
 * - 30 % of DynamoDB's data calls are throttled (`ProvisionedThroughputExceededException` /
 *   `ThrottlingException`, HTTP 400; testing/dynamo-faults.ts);
 * - Secrets Manager fails the first reads at cold start (HTTP 500 `InternalServiceError`).
 * The critical route is the stack's (PagerDuty, Slack by webhook, SMS) plus one generic webhook
 * channel (`webhook-ops`), so every kind of receiver idempotency is measured.
 *
 * Time is scaled keeping AWS's ratios, as the sandbox does: the fan-out runs with `TIME_SCALE` =
 * {@link CHAOS}`.timeScale`, and its timeout and the queue's visibility are the declared ones
 * divided by it (sandbox/wiring.ts `scaleTimes`: visibility / function timeout stays 6). Several queues with one warm fan-out each stand for the
 * event source mapping's concurrency (AWS runs batches in parallel).
 *
 * Per channel: `once` (delivered exactly once), `duplicates` (extra deliveries), `lost` (never
 * delivered and in no DLQ), `dlqWithReason` (in the fan-out's own DLQ naming the channel),
 * `dlqWithoutReason` (moved by SQS's redrive with no reason), `ambiguousSends` (lost replies on a
 * receiver with no idempotency: the window where a duplicate is still possible) and `lostReplies`
 * (all lost replies, de-duplicated or not).
 */
import type { SQSEvent } from "aws-lambda";
import { readDeclared, scaleTimes, type ScaledTimes } from "../../sandbox/wiring";
import { TIME_SCALE_ENV } from "../../handlers/http";
import {
  createQueue,
  readStackConfig,
  setSmsTimeScale,
  startLambda,
  type AllStandins,
  type BatchOutcome,
  type LambdaProcess,
  type ReceiverFault,
  type SandboxQueue,
} from "../../testing";
import type { BenchContext, SectionResult } from "../bench";
import { chaosCost, type ChaosCost, type CostInputs } from "./chaos-cost";
import { chaosTargetRows, chaosTargets, type ChaosTargets } from "./chaos-targets";
import { writeFileSync } from "node:fs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import {
  dlqReasons,
  groupingLedger,
  NO_GROUPING,
  tallyRun,
  type ChannelTally,
  type DigestTally,
  type GroupingLedger,
  type RunTally,
  type EventSent,
  type RouteChannel,
} from "./chaos-tally";

/** The chaos run's settings. */
export const CHAOS = {
  /** FAILED events of a full run, and of `--quick`. */
  events: 1000,
  quickEvents: 40,
  /** Fraction of receiver requests that fail, and of DynamoDB data calls throttled. */
  receiverFaultFraction: 0.3,
  ddbThrottleFraction: 0.3,
  /** Secrets Manager calls failing at cold start (the SDK tries each read 3 times). */
  secretsBlipCalls: 4,
  /** Queues (each with its own warm fan-out): the event source mapping's concurrency. */
  shards: 8,
  /**
   * AWS time / chaos time, full run and `--quick`: the fan-out runs with `TIME_SCALE` set to it
   * and its timeout and the queue's visibility come from the sandbox's `scaleTimes`
   * (sandbox/wiring.ts), as in `npm start`, so the HTTP timeout, the deadline margin, the retry
   * backoff, the enrichment budget and the SDK's own timeouts keep their ratios to the function
   * timeout (60 s declared → 20 s here). Not the sandbox's 50: the AWS SDK's retry backoff is not
   * scaled (throttling: 500 ms base, exponential, jittered), and at 1/50 one throttled DynamoDB
   * call would wait the equivalent of 12 s of a 60 s invocation, which AWS does not do; at 1/3 it
   * is about 0.75 s. `--quick` only checks the report's shape.
   */
  timeScale: 3,
  quickTimeScale: 10,
  seed: 12,
  /** Events of the clean (fault-free) pass that measures the cost of a normal day. */
  cleanEvents: 30,
  /** …and of `--quick`, which only checks the report's shape (tests/bench.test.ts). */
  quickCleanEvents: 5,
  /** Fan-outs of `--quick`: a few events need no more. */
  quickShards: 2,
} as const;

/** The generic webhook channel added to the critical route for the run. */
export const CHAOS_WEBHOOK = "webhook-ops";

/** The receiver faults, picked at random for 30 % of the requests. */
export const CHAOS_FAULTS: ReceiverFault[] = [
  { status: 500 },
  { status: 429, retryAfter: 1 },
  { kind: "timeout" },
  { kind: "reset" },
  { kind: "lost-reply" },
];

/** The `chaos` fragment of the report. */
export interface ChaosJson {
  events: number;
  settings: Record<string, unknown>;
  channels: Record<string, ChannelTally>;
  /**
   * Per channel, the digests (issue 11 grouping): events delivered as a digest's entry (counted
   * in the channel's `once`), digests the receiver got, digests the ledger says were sent, and of
   * those the ones recorded `ambiguous` (a possible second send).
   */
  digests: Record<string, DigestTally>;
  /** The fan-out DLQ's most frequent reasons. */
  dlqReasons: Array<{ reason: string; count: number }>;
  /** Events whose deliveries could not be told apart (should be 0). */
  unattributed: number;
  cost: ChaosCost;
  /** Each target's figure, limit and verdict (scripts/lib/chaos-targets.ts). */
  targets: ChaosTargets;
  wallMs: number;
}

/** What the caller provides (scripts/bench.ts). */
export interface ChaosDeps {
  /** The prod stack's world, with `patchConfig` applied to its raw config before evaluation. */
  startWorld(
    ctx: BenchContext,
    patchConfig: (raw: Record<string, any>) => void,
  ): Promise<{ all: AllStandins; program: import("../../testing").ProgramResult }>;
  /** One FAILED event (an SQS batch of one record) with the given error summary. */
  fanoutEvent(
    all: AllStandins,
    pipeline: string,
    summary: string,
  ): { Records: Array<Record<string, unknown>> };
}

/** Adds {@link CHAOS_WEBHOOK} to the critical route. */
export function addWebhookChannel(raw: Record<string, any>): void {
  raw.channels = { ...raw.channels, [CHAOS_WEBHOOK]: { type: "webhook" } };
  const critical = (raw.routing?.critical ?? []) as string[];
  raw.routing = { ...raw.routing, critical: [...critical, CHAOS_WEBHOOK] };
}

/** The critical route of the prod stack with {@link CHAOS_WEBHOOK}: who should get each event. */
function criticalRoute(): RouteChannel[] {
  const raw = structuredClone(readStackConfig("prod").raw) as Record<string, any>;
  addWebhookChannel(raw);
  return (raw.routing.critical as string[]).map((name) => ({
    name,
    type: String(raw.channels[name]?.type),
  }));
}

/** The fan-out's SNS topic per sms/email channel (its `CHANNEL_TOPICS`). */
export function channelTopics(
  program: import("../../testing").ProgramResult,
): Record<string, string> {
  const fanout = program.archives.find((a) => a.name === "fanout");
  return JSON.parse(fanout?.environment.CHANNEL_TOPICS ?? "{}") as Record<string, string>;
}

/**
 * The ledger's grouping state after a run (chaos-tally.ts `groupingLedger`): one Scan of the
 * fan-out's table, with the throttling off (the run is over; its calls were counted before).
 */
async function readGrouping(world: {
  all: AllStandins;
  program: import("../../testing").ProgramResult;
}): Promise<GroupingLedger> {
  const fanout = world.program.archives.find((a) => a.name === "fanout");
  const table = fanout?.environment.AUDIT_TABLE;
  if (!table) return NO_GROUPING;
  world.all.dynamo.faults.setThrottling(null);
  const client = new DynamoDBClient({
    endpoint: world.all.dynamo.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });
  const doc = DynamoDBDocumentClient.from(client);
  const items: Array<Record<string, unknown>> = [];
  try {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
  } catch (err: unknown) {
    // Without the ledger, events delivered in a digest show as lost: say so, do not fail the run.
    process.stderr.write(`chaos: reading the ledger for digests failed: ${String(err)}\n`);
    return NO_GROUPING;
  } finally {
    client.destroy();
  }
  return groupingLedger(items);
}

/** Tallies a run's events over the critical route (digests: see chaos-tally.ts). */
async function tally(
  world: { all: AllStandins; program: import("../../testing").ProgramResult },
  sent: EventSent[],
): Promise<RunTally> {
  const grouping = await readGrouping(world);
  return tallyRun(world.all, criticalRoute(), channelTopics(world.program), sent, grouping);
}

/** The fan-out processes and queues of one run. */
export interface Fleet {
  lambdas: LambdaProcess[];
  queues: SandboxQueue[];
  invocations: Array<{ ms: number }>;
}

/** Starts `shards` fan-out processes, each behind its own queue with the declared semantics. */
export async function startFleet(
  world: { all: AllStandins; program: import("../../testing").ProgramResult },
  shards: number,
  scale: number,
): Promise<Fleet> {
  const declared = readDeclared(world.program, "prod");
  const times: ScaledTimes = scaleTimes(declared, scale);
  const timeoutMs = times.fanoutTimeoutMs;
  const fleet: Fleet = { lambdas: [], queues: [], invocations: [] };
  for (let i = 0; i < shards; i++) {
    const lambda = await startLambda({
      dir: declared.archives.fanout.dir,
      functionName: declared.functions.fanout,
      env: {
        ...declared.archives.fanout.environment,
        ...world.all.envFor(declared.functions.fanout),
        [TIME_SCALE_ENV]: String(times.scale),
      },
    });
    fleet.lambdas.push(lambda);
    fleet.queues.push(
      createQueue({
        arn: declared.queueArn,
        region: "us-east-1",
        visibilityTimeoutMs: times.visibilityTimeoutMs,
        maxReceiveCount: declared.maxReceiveCount,
        batchSize: declared.batchSize,
        consume: async (event: SQSEvent): Promise<BatchOutcome> => {
          const r = await lambda.invoke<{ batchItemFailures?: Array<{ itemIdentifier: string }> }>(
            event,
            timeoutMs,
          );
          fleet.invocations.push({ ms: r.ms });
          if (!r.ok) return { ok: false, error: r.error?.message ?? "invocation failed" };
          return { ok: true, batchItemFailures: r.value?.batchItemFailures ?? [] };
        },
      }),
    );
  }
  // The fan-out's SendMessage to the events queue (issue 11: a deferred copy, with DelaySeconds)
  // lands in the fleet's queues, as in AWS and in the sandbox (sandbox/event-source.ts); without
  // this it would stay in the SQS stand-in and its event would count as lost.
  const url = declared.archives.fanout.environment.EVENTS_QUEUE_URL;
  if (url) {
    const sqs = world.all.aws.state.sqs;
    let next = 0;
    sqs.queues = {
      ...sqs.queues,
      [url]: (body, o) => void fleet.queues[next++ % fleet.queues.length].send(body, o),
    };
  }
  return fleet;
}

/** Messages sent to the fleet's queues so far (events and deferred copies). */
function sentCount(fleet: Fleet): number {
  return fleet.queues.reduce((n, q) => n + q.messages.length, 0);
}

/**
 * Resolves when every queue is idle at once: a fan-out of one queue may requeue a deferred copy
 * into another queue that was already idle, so wait again until no message was added meanwhile.
 */
async function allIdle(fleet: Fleet): Promise<void> {
  for (;;) {
    const before = sentCount(fleet);
    await Promise.all(fleet.queues.map((q) => q.idle()));
    if (sentCount(fleet) === before) return;
  }
}

export async function closeFleet(fleet: Fleet): Promise<void> {
  for (const queue of fleet.queues) queue.close();
  // CHAOS_LOGS=<dir>: keep each fan-out's log, to see why an event was not delivered.
  const dir = process.env.CHAOS_LOGS;
  if (dir) {
    fleet.lambdas.forEach((l, i) =>
      writeFileSync(`${dir}/fanout-${Date.now()}-${i}.log`, l.logs()),
    );
  }
  await Promise.allSettled(fleet.lambdas.map((l) => l.close()));
}

/** Sends `count` events round-robin over the fleet's queues and waits until all settled. */
async function play(
  deps: ChaosDeps,
  all: AllStandins,
  fleet: Fleet,
  count: number,
  prefix: string,
): Promise<EventSent[]> {
  const pipelines = ["main-app-production-v3", "api-gateway-prod-cluster"];
  const sent: EventSent[] = [];
  for (let i = 0; i < count; i++) {
    const token = `${prefix}${String(i).padStart(4, "0")}`;
    const batch = deps.fanoutEvent(all, pipelines[i % 2], `${token} health checks failed`);
    const body = String(batch.Records[0].body);
    const executionId = String((JSON.parse(body) as any).detail["execution-id"]);
    const message = fleet.queues[i % fleet.queues.length].send(body);
    sent.push({ token, executionId, message });
  }
  await allIdle(fleet);
  return sent;
}

/** Turns the faults on: receivers, DynamoDB, the Secrets Manager blip. */
function startFaults(all: AllStandins): void {
  all.receivers.setChaos(
    { fraction: CHAOS.receiverFaultFraction, faults: CHAOS_FAULTS, seed: CHAOS.seed },
    ["slack", "pagerduty", "webhook"],
  );
  all.dynamo.faults.setThrottling({
    fraction: CHAOS.ddbThrottleFraction,
    code: "mixed",
    seed: CHAOS.seed,
  });
  all.aws.faults.secretsmanager = {
    code: "InternalServiceError",
    status: 500,
    message: "An error occurred on the server side.",
    times: CHAOS.secretsBlipCalls,
  };
}

/** The clean pass: the same traffic without faults, for the cost of a normal day. */
async function cleanPass(
  deps: ChaosDeps,
  world: { all: AllStandins; program: import("../../testing").ProgramResult },
  events: number,
  scale: number,
): Promise<CostInputs> {
  const fleet = await startFleet(world, 1, scale);
  try {
    // The cold start's reads are not part of the steady state.
    await play(deps, world.all, fleet, 1, "warm");
    world.all.dynamo.faults.resetCounts();
    fleet.invocations.length = 0;
    const sent = await play(deps, world.all, fleet, events, "clean");
    const counts = structuredClone(world.all.dynamo.faults.counts);
    const { channels } = await tally(world, sent);
    const notifications = Object.values(channels).reduce((n, c) => n + c.once + c.duplicates, 0);
    return {
      events: sent.length,
      notifications,
      counts,
      invocationMs: fleet.invocations.map((i) => i.ms),
      memoryMb: fanoutMemoryMb(world.program),
    };
  } finally {
    await closeFleet(fleet);
  }
}

/** The fan-out's declared memory (MB). */
function fanoutMemoryMb(program: import("../../testing").ProgramResult): number {
  const fn = program.resources.find(
    (r) => r.type === "aws:lambda/function:Function" && r.name === "fanout",
  );
  return Number(fn?.inputs.memorySize ?? 128);
}

/** Runs the chaos benchmark; resolves with its report fragment and table. */
export async function runChaos(ctx: BenchContext, deps: ChaosDeps): Promise<SectionResult> {
  const quick = ctx.runs === 1;
  const events = ctx.events ?? (quick ? CHAOS.quickEvents : CHAOS.events);
  const scale = quick ? CHAOS.quickTimeScale : CHAOS.timeScale;
  const world = await deps.startWorld(ctx, addWebhookChannel);
  // This process's clock too, as `npm start` (sandbox/wiring.ts): the receivers' and SNS's rate
  // limits run on AWS time, and a deferred copy's DelaySeconds is scaled (testing/queue.ts).
  const scaleBefore = process.env[TIME_SCALE_ENV];
  process.env[TIME_SCALE_ENV] = String(scale);
  applyTimeScale(world.all, scale);
  try {
    const cleanEvents = quick ? CHAOS.quickCleanEvents : CHAOS.cleanEvents;
    const shards = quick ? CHAOS.quickShards : CHAOS.shards;
    ctx.log(`chaos: clean pass, ${cleanEvents} events…`);
    const clean = await cleanPass(deps, world, cleanEvents, scale);
    world.all.receivers.reset();
    world.all.aws.state.sns.published.length = 0;
    world.all.aws.state.sqs.sent.length = 0;
    world.all.dynamo.faults.resetCounts();
    applyTimeScale(world.all, scale);
    ctx.log(`chaos: ${events} events under faults, ${shards} fan-outs…`);
    startFaults(world.all);
    const started = performance.now();
    const fleet = await startFleet(world, shards, scale);
    let sent: EventSent[];
    try {
      sent = await play(deps, world.all, fleet, events, "chaos");
    } finally {
      await closeFleet(fleet);
    }
    const wallMs = performance.now() - started;
    const chaosCounts = structuredClone(world.all.dynamo.faults.counts);
    const { channels, digests, lostExecutions, unattributedSamples } = await tally(world, sent);
    for (const [channel, ids] of Object.entries(lostExecutions)) {
      if (ids.length > 0) ctx.log(`chaos: lost on ${channel}: ${ids.join(", ")}`);
    }
    for (const [channel, samples] of Object.entries(unattributedSamples)) {
      for (const text of samples) ctx.log(`chaos: unattributed on ${channel}: ${text}`);
    }
    const cost = chaosCost(clean, { events, counts: chaosCounts });
    const json: ChaosJson = {
      events,
      settings: {
        receiverFaultFraction: CHAOS.receiverFaultFraction,
        receiverFaults: CHAOS_FAULTS,
        ddbThrottleFraction: CHAOS.ddbThrottleFraction,
        secretsBlipCalls: CHAOS.secretsBlipCalls,
        shards,
        timeScale: scale,
        lambdaTimeoutMs: scaleTimes(readDeclared(world.program, "prod"), scale).fanoutTimeoutMs,
        seed: CHAOS.seed,
      },
      channels,
      digests,
      dlqReasons: dlqReasons(world.all),
      unattributed: Object.values(channels).reduce((n, c) => n + c.unattributed, 0),
      cost,
      targets: chaosTargets({ channels, cost }),
      wallMs: Math.round(wallMs),
    };
    return { tables: [chaosTable(json), targetsTable(json)], json: { chaos: json } };
  } finally {
    if (scaleBefore === undefined) delete process.env[TIME_SCALE_ENV];
    else process.env[TIME_SCALE_ENV] = scaleBefore;
    await world.all.close();
  }
}

/** The stand-ins' rate limits on the run's clock (AWS time / local time = `scale`). */
function applyTimeScale(all: AllStandins, scale: number): void {
  all.receivers.setTimeScale(scale);
  setSmsTimeScale(all.aws.state, scale);
}

/** The printed table of the chaos run. */
function chaosTable(json: ChaosJson): SectionResult["tables"][number] {
  const columns = [
    "CHANNEL",
    "ONCE",
    "DUPLICATES",
    "LOST",
    "DLQ+REASON",
    "DLQ NO REASON",
    "AMBIGUOUS",
    "LOST REPLIES",
    "IN DIGEST",
    "DIGESTS GOT/SENT/AMBIG",
  ];
  const rows = Object.entries(json.channels).map(([name, c]) => [
    name,
    String(c.once),
    String(c.duplicates),
    String(c.lost),
    String(c.dlqWithReason),
    String(c.dlqWithoutReason),
    String(c.ambiguousSends),
    String(c.lostReplies),
    String(json.digests[name]?.inDigest ?? 0),
    `${json.digests[name]?.received ?? 0}/${json.digests[name]?.sent ?? 0}/${json.digests[name]?.ambiguous ?? 0}`,
  ]);
  const { cost } = json;
  return {
    title: `Chaos: ${json.events} FAILED events, 30 % receiver faults, 30 % DynamoDB throttling, a Secrets Manager blip`,
    columns,
    rows,
    align: [
      "left",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
    ],
    notes: [
      `cost (clean pass): ${cost.ddbCallsPerNotification} DynamoDB calls per notification, ${cost.ddbWritesPerEvent} write units per event, $${cost.usdPerMillionEvents} per million events`,
      `wall ${Math.round(json.wallMs / 1000)} s; unattributed deliveries: ${json.unattributed}`,
    ],
  };
}

/** The printed targets of the chaos run, PASS/FAIL (scripts/lib/chaos-targets.ts). */
function targetsTable(json: ChaosJson): SectionResult["tables"][number] {
  return {
    title: `Chaos targets (${json.events} events)`,
    columns: ["FIGURE", "VALUE", "TARGET", "OK"],
    rows: chaosTargetRows(json.targets),
    align: ["left", "right", "left", "left"],
    notes: [
      "duplicates beyond ambiguous sends: per channel, duplicates <= ambiguous sends (0 where the receiver de-duplicates)",
      `DynamoDB calls per event under faults: SDK retries and throttled calls included (${(json.cost.chaosThrottledShare * 100).toFixed(1)} % throttled)`,
      ...(json.events < CHAOS.events
        ? [
            `its limit was set on ${CHAOS.events} events: on ${json.events}, the cold starts' and the digests' calls weigh more per event`,
          ]
        : []),
    ],
  };
}
