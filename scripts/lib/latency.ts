/**
 * `npm run bench`'s latency section (issue 12): how close the fan-out comes to an ideal one that
 * sends to every channel the moment the event arrives, and what its cold start costs over the
 * least a fan-out could cost.
 *
 * The run: one prod FAILED event at a time (PagerDuty, Slack, SMS) through a warm fan-out process
 * of the real archive, the receivers answering after {@link LATENCY}`.receiversMs`.
 *
 * Interpretation of issue 12's ratio, "(time until the last receiver got its request + slowest
 * channel) / slowest channel":
 * - t0 is when the bench hands the SQS batch to the Lambda process (the invocation's start);
 * - "the last receiver got its request" is the latest, over the event's channels, of the moment
 *   the receiver read the request (the receivers' own `at`, taken before their latency; for SMS
 *   the SNS stand-in records after its Publish delay, so that delay is subtracted) — the
 *   fan-out's overhead before its last send, enrichment and ledger claims included;
 * - "slowest channel" is the largest configured receiver latency (the time a perfect fan-out
 *   still has to wait after sending), so a fan-out that sent everything at t0 scores 1.0 and one
 *   that sent one channel after another scores about (sum of latencies + slowest) / slowest.
 * Per run, median of {@link LATENCY}`.runs`. `lastReceiverRatioProdLike` is the same with the
 * round trips AWS would add: every DynamoDB request delayed {@link LATENCY}`.prodLike.dynamodbMs`
 * (a proxy in front of the DynamoDB stand-in) and every CodePipeline call
 * {@link LATENCY}`.prodLike.codepipelineMs` (the AWS stand-in's delays); the local stand-ins
 * answer in about a millisecond, which would hide sequential round trips. `handlerRatio` is the
 * handler's whole invocation (the bookkeeping after the sends included) / slowest channel.
 *
 * Cold start: fresh process → archive loaded → first invocation done (median), with receivers
 * that answer at once (their answer time is not start-up cost), of the fan-out and of the SDK
 * floor (scripts/lib/sdk-floor-program.ts: one DynamoDBClient, one GetItem, serialized the same
 * way). Target: fan-out ≤ floor + {@link LATENCY}`.coldStartBudgetMs`.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createServer, request, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import {
  startLambda,
  type AllStandins,
  type InvokeResult,
  type LambdaProcess,
  type ProgramResult,
} from "../../testing";
import { MAX_INDIVIDUAL } from "../../handlers/contracts/grouping";
import type { BenchContext, ColdStart, SectionResult } from "../bench";
import { formatMs, median, verdict } from "./format";
import { buildSdkFloor } from "./sdk-floor-program";

/** The latency section's settings. */
export const LATENCY = {
  /** Receiver answer times, ms, per channel of the prod critical tier. */
  receiversMs: { pagerduty: 50, slack: 150, sms: 300 },
  /** Issue 12: what AWS adds per round trip, ms. */
  prodLike: { dynamodbMs: 5, codepipelineMs: 100 },
  /** Measured events per variant (median). */
  runs: 5,
  /**
   * Pause between two events (ms): Slack allows about 1 message per second per channel with a
   * short burst (the receivers enforce it), and a 429 is not what this section measures.
   */
  pauseMs: 1100,
  /** Targets of issue 12. */
  ratioTarget: 1.1,
  coldStartBudgetMs: 40,
} as const;

/** The `latency` fragment of `--json`. */
export interface LatencyJson {
  lastReceiverRatio: number;
  lastReceiverRatioProdLike: number;
  handlerRatio: number;
  slowestMs: number;
  /** Median ms from t0 until the last receiver got its request (local, prod-like). */
  lastRequestMs: number;
  lastRequestMsProdLike: number;
  coldStartMs: number;
  sdkFloorColdStartMs: number;
}

/** What the caller provides (scripts/bench.ts), to avoid a circular import. */
export interface LatencyDeps {
  startWorld(ctx: BenchContext): Promise<{ all: AllStandins; program: ProgramResult }>;
  fanoutEvent(all: AllStandins, pipeline: string): { Records: Array<Record<string, unknown>> };
  measureColdStarts(opts: {
    runs: number;
    start: () => Promise<LambdaProcess>;
    prepare: () => { event: unknown; check(result: InvokeResult): string | undefined };
  }): Promise<ColdStart>;
}

const PIPELINE = "main-app-production-v3";

/** A proxy that holds every request `delayMs` before passing it to `target`; counts them. */
async function delayingProxy(
  target: string,
  delayMs: number,
): Promise<{ endpoint: string; requests: () => number; close(): Promise<void> }> {
  const to = new URL(target);
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests++;
      setTimeout(() => {
        const out = request(
          {
            host: to.hostname,
            port: to.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 500, answer.headers);
            answer.pipe(res);
          },
        );
        out.on("error", () => res.destroy());
        out.end(Buffer.concat(chunks));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The fan-out archive and its function name. */
function fanoutArchive(program: ProgramResult): {
  dir: string;
  env: Record<string, string>;
  name: string;
} {
  const archive = program.archives.find((a) => a.name === "fanout");
  if (!archive) throw new Error("bench: the program has no fanout archive");
  const name = String(program.outputs.fanoutFunctionName ?? "fanout");
  return { dir: archive.dir, env: archive.environment, name };
}

/**
 * Deletes the channels' pacing items (`PACE#`): each measured event is a lone failure with every
 * send slot free, as in production between storms. Without this, the runs of one pipeline a few
 * hundred ms apart spend Slack's burst, and what is measured is the pacing, not the fan-out's
 * latency. The grouping windows are not freed this way: a warm fan-out remembers a window it saw
 * spent until the window ends (handlers/store/pace-memo.ts), which holds on AWS, where nothing
 * deletes a pace item within a day; so the worlds that measure lone failures raise the grouping
 * allowance instead ({@link loneFailureAllowance}).
 */
export async function forgetPacing(all: AllStandins, table: string | undefined): Promise<void> {
  if (!table) return;
  const client = new DynamoDBClient({
    endpoint: all.dynamo.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });
  const doc = DynamoDBDocumentClient.from(client);
  try {
    const out = await doc.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: "begins_with(pk, :p)",
        ExpressionAttributeValues: { ":p": "PACE#" },
      }),
    );
    for (const { pk, sk } of out.Items ?? []) {
      await doc.send(new DeleteCommand({ TableName: table, Key: { pk, sk } }));
    }
  } finally {
    client.destroy();
  }
}

/**
 * Patches a stack's raw config so that no grouping window of the `critical` tier is spent by a
 * benchmark's few lone failures: every channel of the tier may send
 * handlers/contracts/grouping.ts `MAX_INDIVIDUAL` (100) notifications on their own per window.
 * Without it the warm-up spends SMS's one text of its 120 s window (issue 11 defaults), and a warm
 * fan-out then groups every later text of that window with no call: the SMS is never sent and
 * the measure leaves out the slowest channel.
 */
export function loneFailureAllowance(raw: Record<string, any>): void {
  const grouping = (raw.grouping ?? {}) as Record<string, any>;
  const tiers = (grouping.tiers ?? {}) as Record<string, any>;
  raw.grouping = {
    ...grouping,
    tiers: { ...tiers, critical: { ...tiers.critical, maxIndividual: MAX_INDIVIDUAL } },
  };
}

/** One measured event: ms until the last receiver got its request, and the handler's ms. */
async function oneEvent(
  deps: LatencyDeps,
  all: AllStandins,
  lambda: LambdaProcess,
  table: string | undefined,
): Promise<{ lastMs: number; handlerMs: number; byChannel: Record<string, number> }> {
  await forgetPacing(all, table);
  const batch = deps.fanoutEvent(all, PIPELINE);
  const executionId = String(JSON.parse(String(batch.Records[0].body)).detail["execution-id"]);
  const t0 = Date.now();
  const r = await lambda.invoke<{ batchItemFailures?: unknown[] }>(batch);
  if (!r.ok || (r.value?.batchItemFailures?.length ?? 0) > 0) {
    throw new Error(`bench: latency run failed: ${r.error?.message ?? "record reported failed"}`);
  }
  const mine = (kind: "pagerduty" | "slack") =>
    all.receivers
      .attemptsOf(kind)
      .filter((a) => a.at.getTime() >= t0 && JSON.stringify(a.body).includes(executionId))
      .map((a) => a.at.getTime());
  const sms = all.aws.state.sns.published
    .filter((p) => p.at.getTime() >= t0)
    .map((p) => p.at.getTime() - LATENCY.receiversMs.sms);
  const firsts = [mine("pagerduty"), mine("slack"), sms].map((times) => {
    if (times.length === 0) throw new Error("bench: latency run: a channel got no request");
    return Math.min(...times) - t0;
  });
  const [pagerduty, slack, smsMs] = firsts;
  return {
    lastMs: Math.max(...firsts),
    handlerMs: r.ms,
    byChannel: { pagerduty, slack, sms: smsMs },
  };
}

/** Medians over {@link LATENCY}`.runs` events through a warm fan-out started with `env`. */
async function measureWarm(
  ctx: BenchContext,
  deps: LatencyDeps,
  all: AllStandins,
  program: ProgramResult,
  env: Record<string, string>,
): Promise<{ lastMs: number; handlerMs: number }> {
  const fanout = fanoutArchive(program);
  const lambda = await startLambda({
    dir: fanout.dir,
    functionName: fanout.name,
    env: { ...fanout.env, ...all.envFor(fanout.name), ...env },
  });
  try {
    await oneEvent(deps, all, lambda, fanout.env.AUDIT_TABLE); // warm-up: cold start, secret read, clients
    const last: number[] = [];
    const handler: number[] = [];
    for (let i = 0; i < LATENCY.runs; i++) {
      await new Promise((resolve) => setTimeout(resolve, LATENCY.pauseMs));
      const m = await oneEvent(deps, all, lambda, fanout.env.AUDIT_TABLE);
      last.push(m.lastMs);
      handler.push(m.handlerMs);
      const each = Object.entries(m.byChannel).map(([c, ms]) => `${c} ${Math.round(ms)}`);
      ctx.log(`latency: requests at ${each.join(", ")} ms; handler ${Math.round(m.handlerMs)} ms`);
    }
    return { lastMs: median(last), handlerMs: median(handler) };
  } finally {
    // LATENCY_LOGS=<dir>: keep the fan-out's log (its "record done" lines carry its timings).
    const dir = process.env.LATENCY_LOGS;
    if (dir) writeFileSync(path.join(dir, `fanout-${Date.now()}.log`), lambda.logs());
    await lambda.close();
  }
}

/** Cold starts of the fan-out and of the SDK floor (median of `ctx.runs`). */
async function coldStarts(
  ctx: BenchContext,
  deps: LatencyDeps,
  all: AllStandins,
  program: ProgramResult,
): Promise<{ fanoutMs: number; floorMs: number; problems: string[] }> {
  const fanout = fanoutArchive(program);
  const env = { ...fanout.env, ...all.envFor(fanout.name) };
  const ok = (r: InvokeResult) => (r.ok ? undefined : `invocation failed: ${r.error?.message}`);
  const fan = await deps.measureColdStarts({
    runs: ctx.runs,
    start: () => startLambda({ dir: fanout.dir, functionName: fanout.name, env }),
    prepare: () => ({ event: deps.fanoutEvent(all, PIPELINE), check: ok }),
  });
  ctx.log("latency: building the SDK-floor archive…");
  const floor = await buildSdkFloor(path.join(ctx.workDir, "sdk-floor-program"));
  // The fan-out's role and table: its policy allows this GetItem (a THREAD# item, the one kind
  // it still reads: a refused claim returns the item, so it reads no OUTCOME# item any more).
  const flo = await deps.measureColdStarts({
    runs: ctx.runs,
    start: () => startLambda({ dir: floor.dir, functionName: fanout.name, env }),
    prepare: () => ({ event: {}, check: ok }),
  });
  return {
    fanoutMs: fan.coldStartMs,
    floorMs: flo.coldStartMs,
    problems: [
      ...fan.problems.map((p) => `fanout: ${p}`),
      ...flo.problems.map((p) => `floor: ${p}`),
    ],
  };
}

/** Rounds to 3 decimals. */
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Runs the latency section. */
export async function runLatency(ctx: BenchContext, deps: LatencyDeps): Promise<SectionResult> {
  const { all, program } = await deps.startWorld(ctx);
  const proxies: Array<{ close(): Promise<void> }> = [];
  try {
    const ms = LATENCY.receiversMs;
    all.receivers.setLatency("pagerduty", ms.pagerduty);
    all.receivers.setLatency("slack", ms.slack);
    all.aws.delays.sns.Publish = ms.sms;
    const slowestMs = Math.max(ms.pagerduty, ms.slack, ms.sms);
    ctx.log("latency: local stand-ins…");
    const local = await measureWarm(ctx, deps, all, program, {});
    ctx.log("latency: prod-like round trips…");
    const fanout = fanoutArchive(program);
    const target = all.envFor(fanout.name).AWS_ENDPOINT_URL_DYNAMODB ?? all.dynamo.endpoint;
    const proxy = await delayingProxy(target, LATENCY.prodLike.dynamodbMs);
    proxies.push(proxy);
    // Every CodePipeline operation, whichever enrichment calls.
    all.aws.delays.codepipeline = new Proxy({} as Record<string, number>, {
      get: () => LATENCY.prodLike.codepipelineMs,
    });
    const prodLike = await measureWarm(ctx, deps, all, program, {
      AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
    });
    all.aws.delays.codepipeline = {};
    // Cold starts against receivers that answer at once: a receiver's answer time (300 ms for the
    // SMS stand-in's Publish) is not start-up cost, and the SDK floor has no receiver to wait for.
    all.receivers.setLatency("pagerduty", 0);
    all.receivers.setLatency("slack", 0);
    all.aws.delays.sns.Publish = 0;
    ctx.log("latency: cold starts…");
    const cold = await coldStarts(ctx, deps, all, program);
    const ratio = (lastMs: number) => (lastMs + slowestMs) / slowestMs;
    const json: LatencyJson = {
      lastReceiverRatio: r3(ratio(local.lastMs)),
      lastReceiverRatioProdLike: r3(ratio(prodLike.lastMs)),
      handlerRatio: r3(local.handlerMs / slowestMs),
      slowestMs,
      lastRequestMs: Math.round(local.lastMs * 10) / 10,
      lastRequestMsProdLike: Math.round(prodLike.lastMs * 10) / 10,
      coldStartMs: Math.round(cold.fanoutMs * 10) / 10,
      sdkFloorColdStartMs: Math.round(cold.floorMs * 10) / 10,
    };
    return { tables: [latencyTable(json, cold.problems)], json: { latency: json } };
  } finally {
    for (const p of proxies) await p.close();
    await all.close();
  }
}

/** The printed table. */
function latencyTable(json: LatencyJson, problems: string[]): SectionResult["tables"][number] {
  const coldOk =
    problems.length === 0 &&
    json.coldStartMs <= json.sdkFloorColdStartMs + LATENCY.coldStartBudgetMs;
  return {
    title: `Fan-out latency: last receiver's request vs the slowest channel (${json.slowestMs} ms), median of ${LATENCY.runs}`,
    columns: ["MEASURE", "VALUE", "TARGET", "OK"],
    rows: [
      ["lastReceiverRatio (local)", json.lastReceiverRatio.toFixed(3), "", ""],
      [
        "lastReceiverRatioProdLike",
        json.lastReceiverRatioProdLike.toFixed(3),
        `<= ${LATENCY.ratioTarget}`,
        verdict(json.lastReceiverRatioProdLike <= LATENCY.ratioTarget),
      ],
      ["handlerRatio", json.handlerRatio.toFixed(3), "", ""],
      [
        "cold start vs SDK floor",
        `${formatMs(json.coldStartMs)} vs ${formatMs(json.sdkFloorColdStartMs)}`,
        `<= floor + ${LATENCY.coldStartBudgetMs} ms`,
        verdict(coldOk),
      ],
    ],
    align: ["left", "right", "left", "left"],
    notes: [
      "ratio = (t0 -> the last receiver read its request + slowest channel) / slowest channel; 1.0 = all sent at t0",
      `prod-like: +${LATENCY.prodLike.dynamodbMs} ms per DynamoDB request, +${LATENCY.prodLike.codepipelineMs} ms per CodePipeline call`,
      `last request: ${json.lastRequestMs} ms local, ${json.lastRequestMsProdLike} ms prod-like`,
      ...problems.map((p) => `FAIL ${p}`),
    ],
  };
}
