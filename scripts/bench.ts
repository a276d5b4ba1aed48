/**
 * `npm run bench`: what the deploy-notifier costs, measured on the real artifacts.
 *
 * - baseline: an empty `aws.lambda.CallbackFunction` serialized the same way (its archive size and
 *   cold start are what "nothing" costs);
 * - artifacts: each Lambda archive the program builds (fanout, approval): unpacked bytes, files,
 *   require time, and cold start = fresh Node process → archive loaded → first invocation done,
 *   with a representative first invocation against the local stand-ins (median of 5 runs);
 * - program: offline evaluation time and resource count for 2 and 500 pipelines.
 *
 * Targets (printed PASS/FAIL): every archive < 5 MB unpacked; cold start ≤ baseline + 150 ms.
 *
 * Options (`--help` prints them): `--json` prints exactly one JSON object on stdout (progress
 * goes to stderr);
 * `--quick` takes 1 run per cold start instead of 5; `--chaos` runs the chaos benchmark instead
 * (scripts/lib/chaos.ts: exactly once under receiver faults, DynamoDB throttling and a Secrets
 * Manager blip, and the cost per million events; `"chaos"` in the JSON), with `--quick` on
 * fewer events; `--latency` runs only the latency section (scripts/lib/latency.ts); `--storm`
 * runs only the storm benchmark (scripts/lib/storm.ts: 1000 FAILED events for 100 critical
 * pipelines in 60 s against rate-limited receivers; `"storm"` in the JSON; `--events <n>` for a
 * smaller run).
 *
 * The report is a list of sections, each contributing tables and a JSON fragment: add a section
 * to `SECTIONS` to extend it.
 */
import { measureSandbox } from "../sandbox/bench";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { computeSlackSignature } from "../handlers/approval/signature";
import {
  pointAtReceivers,
  provisionForArchives,
  readStackConfig,
  runProgram,
  startAll,
  startLambda,
  type AllStandins,
  type ArchiveInfo,
  type InvokeResult,
  type LambdaProcess,
  type ProgramFailure,
  type ProgramResult,
} from "../testing";
import { buildBaseline } from "./lib/baseline-program";
import {
  errorMessage,
  formatBytes,
  formatMs,
  median,
  renderTable,
  verdict,
  type Table,
} from "./lib/format";
import { withAccounts, withPipelines } from "./lib/stacks";
import { runChaos } from "./lib/chaos";
import { runStorm } from "./lib/storm";
import { forgetPacing, LATENCY, loneFailureAllowance, runLatency } from "./lib/latency";

/** Unpacked archive size target (decimal megabytes: the stricter reading of "5 MB"). */
export const ARCHIVE_MAX_BYTES = 5 * 1000 * 1000;
/** A handler may cost at most this much cold start over an empty function. */
export const COLD_START_BUDGET_MS = 150;
/** Pipeline counts of the program evaluation rows. */
export const PROGRAM_SIZES = [2, 500] as const;
/** The multi-account row (issue 14): pipelines over accounts × regions. */
export const ACCOUNTS_ROW = { pipelines: 500, accounts: 50, regions: 3 } as const;

const ROOT = path.resolve(__dirname, "..");
/** The stack whose config the artifacts are built from (it has approvals and every kind of tier). */
const STACK = "prod";
/** The benchmark's own Slack signing secret: only ever stored in the Secrets Manager stand-in. */
const SIGNING_SECRET = "bench-signing-secret-0123456789abcdef";

/** Settings and shared results of one benchmark run. */
export interface BenchContext {
  /** Cold starts measured per artifact (median taken). */
  runs: number;
  /** Scratch space outside the project (archives must not find the project's node_modules). */
  workDir: string;
  /** Progress, to stderr. */
  log(message: string): void;
  /** `--events <n>`: the chaos or storm run's event count instead of its default. */
  events?: number;
  /** JSON fragments of the sections that already ran, for later sections to build on. */
  results: Record<string, unknown>;
  /** What the run's archive worlds share ({@link startArchiveWorld}); made by the first one. */
  worlds?: SharedWorlds;
}

/**
 * What the archive worlds of one run share: the port of the first world's receivers, on which
 * each later world's receivers listen again (the sections run one after the other, each closing
 * its world first), so that a later world with the same stack config is the same evaluation, and
 * each evaluation by its config (the receivers' URLs included), made once per run.
 */
export interface SharedWorlds {
  receiversPort?: number;
  programs: Map<string, Promise<ProgramResult | ProgramFailure>>;
}

/** What a section adds to the report. */
export interface SectionResult {
  tables: Table[];
  /** Merged into the `--json` object. */
  json: Record<string, unknown>;
}

/** One part of the report. Sections run in order; later ones may read `ctx.results`. */
export interface Section {
  name: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}

/** A cold start measurement of one archive. */
export interface ColdStart {
  coldStartMs: number;
  loadMs: number;
  /** Problems of the first invocations (a failed invocation makes the number meaningless). */
  problems: string[];
}

/**
 * Measures `runs` cold starts: each spawns a fresh Lambda process, loads the archive and finishes
 * the first invocation. `prepare` runs before each spawn (fresh ids, so that no run is a no-op
 * replay of the previous one) and returns the event and a check of the result.
 */
export async function measureColdStarts(opts: {
  runs: number;
  start: () => Promise<LambdaProcess>;
  prepare: () => { event: unknown; check(result: InvokeResult): string | undefined };
  /** Waits for work the invocation left running (e.g. an async self-invocation). */
  settle?: () => Promise<void>;
}): Promise<ColdStart> {
  const cold: number[] = [];
  const loads: number[] = [];
  const problems: string[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const { event, check } = opts.prepare();
    const started = performance.now();
    const lambda = await opts.start();
    try {
      const result = await lambda.invoke(event);
      cold.push(performance.now() - started);
      loads.push(lambda.loadMs);
      const problem = check(result);
      if (problem) problems.push(`run ${i + 1}: ${problem}`);
      await opts.settle?.();
    } finally {
      await lambda.close();
    }
  }
  return { coldStartMs: median(cold), loadMs: median(loads), problems };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

// ---- baseline ---------------------------------------------------------------------------------

/** The `baseline` fragment: `{ bytes, coldStartMs }`. */
interface BaselineJson {
  bytes: number;
  coldStartMs: number;
}

const baselineSection: Section = {
  name: "baseline",
  async run(ctx) {
    ctx.log("baseline: serializing an empty CallbackFunction under mocks…");
    const archive = await buildBaseline(path.join(ctx.workDir, "baseline-program"));
    ctx.log(`baseline: ${ctx.runs} cold start(s)…`);
    const measured = await measureColdStarts({
      runs: ctx.runs,
      start: () => startLambda({ dir: archive.dir, functionName: "baseline", env: {} }),
      prepare: () => ({
        event: {},
        check: (r) => (r.ok ? undefined : `invocation failed: ${r.error?.message}`),
      }),
    });
    const json: BaselineJson = { bytes: archive.bytes, coldStartMs: round(measured.coldStartMs) };
    return {
      tables: [
        {
          title: `Baseline: an empty CallbackFunction (async () => ({})), median of ${ctx.runs}`,
          columns: ["ARCHIVE", "BYTES", "FILES", "LOAD", "COLD START"],
          rows: [
            [
              "baseline",
              String(archive.bytes),
              String(archive.files),
              formatMs(measured.loadMs),
              formatMs(measured.coldStartMs),
            ],
          ],
          align: ["left", "right", "right", "right", "right"],
          notes: measured.problems,
        },
      ],
      json: { baseline: json },
    };
  },
};

// ---- artifacts --------------------------------------------------------------------------------

function readFixture(relative: string): any {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "tests", "events", relative), "utf8"));
}

/**
 * An SQS batch with one prod FAILED pipeline event, with fresh ids (no ledger replay); `summary`
 * replaces the failed action's error summary (the chaos bench marks each event's with a token).
 */
export function fanoutEvent(
  all: AllStandins,
  pipeline: string,
  summary = "Deployment failed: health checks did not pass on 2 of 4 instances",
): { Records: Array<Record<string, unknown>> } {
  const event = readFixture("codepipeline/pipeline-failed.json");
  const executionId = randomUUID();
  event.id = randomUUID();
  event.time = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  event.detail.pipeline = pipeline;
  event.detail["execution-id"] = executionId;
  all.aws.addFailedExecution({
    pipeline,
    executionId,
    stage: "Deploy",
    action: "DeployToProduction",
    category: "Deploy",
    provider: "CodeDeploy",
    errorCode: "JobFailed",
    summary,
    revision: {
      name: "SourceArtifact",
      revisionId: "9f1c2ab",
      revisionSummary: "Fix checkout timeout",
    },
  });
  const sent = Date.now();
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: `bench-${randomUUID()}`,
        body: JSON.stringify(event),
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: String(sent),
          SenderId: "AIDAEVENTBRIDGE",
          ApproximateFirstReceiveTimestamp: String(sent),
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:deploy-notifier-events",
        awsRegion: "us-east-1",
      },
    ],
  };
}

/** A Slack block_actions click by an approver, signed with the bench's signing secret. */
function approvalEvent(all: AllStandins, pipeline: string, approver: string): unknown {
  const executionId = randomUUID();
  const target = { pipeline, stage: "Approve", action: "ManualApproval", executionId };
  all.aws.addPendingApproval({ ...target });
  const fixture = readFixture("slack/block-actions-approve.json");
  const value = JSON.stringify(target);
  const payload = {
    ...fixture,
    user: { id: approver, username: "approver", name: "Approver", team_id: "T0TEAM" },
    response_url: all.receivers.urlFor("slack-response", executionId),
    actions: [{ ...fixture.actions[0], value }],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    version: "2.0",
    rawPath: "/",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": timestamp,
      "x-slack-signature": computeSlackSignature(SIGNING_SECRET, timestamp, body),
    },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: "POST", path: "/" }, timeEpoch: Date.now() },
  };
}

/** One artifact row of the JSON report. */
interface ArtifactJson {
  name: string;
  bytes: number;
  files: number;
  coldStartMs: number;
  loadMs: number;
}

/** Cold start of one archive with the stand-ins prepared for it. */
async function measureArchive(
  ctx: BenchContext,
  all: AllStandins,
  program: ProgramResult,
  archive: ArchiveInfo,
): Promise<ColdStart> {
  const functionName = String(program.outputs[`${archive.name}FunctionName`] ?? archive.name);
  // Its own role's credentials: every AWS call is checked against the declared policy.
  const env = { ...archive.environment, ...all.envFor(functionName) };
  const start = () => startLambda({ dir: archive.dir, functionName, env });
  switch (archive.name) {
    case "fanout":
      return measureColdStarts({
        runs: ctx.runs,
        start,
        prepare: () => ({
          event: fanoutEvent(all, "main-app-production-v3"),
          check: (r) => {
            if (!r.ok) return `invocation failed: ${r.error?.message}`;
            const failures = (r.value as { batchItemFailures?: unknown[] } | undefined)
              ?.batchItemFailures;
            return failures && failures.length > 0 ? "the record was reported failed" : undefined;
          },
        }),
      });
    case "approval": {
      // The click invokes the function itself asynchronously (the slow CodePipeline part): the
      // Lambda stand-in hands that invocation to the running process, as Lambda would.
      const current: { lambda?: LambdaProcess } = {};
      all.aws.registerFunction(functionName, async (event) => {
        if (!current.lambda) throw new Error(`${functionName}: no running process`);
        const r = await current.lambda.invoke(event);
        if (!r.ok) throw new Error(r.error?.message ?? "invocation failed");
        return r.value;
      });
      return measureColdStarts({
        runs: ctx.runs,
        start: async () => (current.lambda = await start()),
        prepare: () => ({
          event: approvalEvent(all, "main-app-production-v3", "U012ABCDEF"),
          check: (r) => {
            if (!r.ok) return `invocation failed: ${r.error?.message}`;
            const status = (r.value as { statusCode?: number } | undefined)?.statusCode;
            return status === 200 ? undefined : `answered HTTP ${status}`;
          },
        }),
        settle: () => all.aws.idle(),
      });
    }
    default:
      throw new Error(`bench: no representative first invocation for archive "${archive.name}"`);
  }
}

/** The prod stack's archives with the stand-ins prepared for them (table, secrets). */
export interface ArchiveWorld {
  all: AllStandins;
  program: ProgramResult;
}

/**
 * Evaluates the prod stack with its channels pointed at fresh local stand-ins, and makes the
 * resources its Lambdas name real there: the audit table and the two secrets. `patchConfig`
 * may change the stack's raw config first (e.g. add a channel). The stand-ins are new for each
 * world (no state from an earlier section); their receivers listen on the run's port
 * ({@link SharedWorlds}) when it is free, and an evaluation of the same config earlier in the
 * run is used again: the same archives, the same resource names, about 10 s of CPU each saved.
 */
export async function startArchiveWorld(
  ctx: BenchContext,
  patchConfig?: (raw: Record<string, any>) => void,
): Promise<ArchiveWorld> {
  const shared: SharedWorlds = (ctx.worlds ??= { programs: new Map() });
  const all = await startStandins(shared.receiversPort);
  shared.receiversPort ??= all.receivers.port;
  try {
    const stackRaw = structuredClone(readStackConfig(STACK).raw) as Record<string, any>;
    patchConfig?.(stackRaw);
    const { raw, secrets } = pointAtReceivers(stackRaw, all.receivers, SIGNING_SECRET);
    const key = JSON.stringify({ raw, secrets });
    let evaluation = shared.programs.get(key);
    if (evaluation) ctx.log(`the ${STACK} stack: the same config as an earlier world's`);
    else {
      ctx.log(`evaluating the ${STACK} stack…`);
      evaluation = runProgram({
        stack: STACK,
        config: raw,
        secrets,
        outDir: fs.mkdtempSync(path.join(ctx.workDir, "program-")),
      });
      shared.programs.set(key, evaluation);
      evaluation.catch(() => shared.programs.delete(key)); // a crash is not kept
    }
    const program = await evaluation;
    if (!program.ok) {
      throw new Error(`bench: the ${STACK} stack does not evaluate: ${program.message}`);
    }
    await provisionForArchives(program, all, secrets);
    return { all, program };
  } catch (err: unknown) {
    await all.close();
    throw err;
  }
}

/** The stand-ins with the receivers on `port` (random when unset, or when it is taken now). */
async function startStandins(port: number | undefined): Promise<AllStandins> {
  if (port === undefined) return startAll();
  try {
    return await startAll({ receivers: { port } });
  } catch {
    return startAll(); // taken meanwhile: a new port, and so a new evaluation
  }
}

const artifactsSection: Section = {
  name: "artifacts",
  async run(ctx) {
    const baseline = ctx.results.baseline as BaselineJson | undefined;
    if (!baseline) throw new Error("bench: the artifacts section needs the baseline section first");
    const { all, program } = await startArchiveWorld(ctx);
    try {
      const artifacts: ArtifactJson[] = [];
      const rows: string[][] = [];
      const problems: string[] = [];
      for (const archive of program.archives) {
        ctx.log(`artifacts: ${archive.name}: ${ctx.runs} cold start(s)…`);
        const measured = await measureArchive(ctx, all, program, archive);
        problems.push(...measured.problems.map((p) => `${archive.name}: ${p}`));
        artifacts.push({
          name: archive.name,
          bytes: archive.bytes,
          files: archive.files,
          coldStartMs: round(measured.coldStartMs),
          loadMs: round(measured.loadMs),
        });
        const sizeOk = archive.bytes < ARCHIVE_MAX_BYTES;
        const coldOk =
          measured.problems.length === 0 &&
          measured.coldStartMs <= baseline.coldStartMs + COLD_START_BUDGET_MS;
        rows.push([
          archive.name,
          String(archive.bytes),
          formatBytes(archive.bytes),
          String(archive.files),
          formatMs(measured.loadMs),
          formatMs(measured.coldStartMs),
          `+${formatMs(measured.coldStartMs - baseline.coldStartMs)}`,
          verdict(sizeOk),
          verdict(coldOk),
        ]);
      }
      for (const p of problems) ctx.log(`warning: ${p}`);
      const delivered = all.receivers.deliveries.reduce<Record<string, number>>((acc, d) => {
        acc[d.receiver] = (acc[d.receiver] ?? 0) + 1;
        return acc;
      }, {});
      delivered.sns = all.aws.state.sns.published.length;
      const deliveredText = Object.entries(delivered)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      return {
        tables: [
          {
            title: `Lambda archives (${STACK} stack), cold start median of ${ctx.runs}`,
            columns: [
              "ARCHIVE",
              "BYTES",
              "SIZE",
              "FILES",
              "LOAD",
              "COLD START",
              "VS BASELINE",
              "< 5 MB",
              `<= BASELINE + ${COLD_START_BUDGET_MS} MS`,
            ],
            rows,
            align: ["left", "right", "right", "right", "right", "right", "right", "left", "left"],
            notes: [
              "cold start = fresh Node process -> archive loaded -> first invocation finished",
              "(fanout: SQS batch with one FAILED event; approval: a signed approve click)",
              `requests the stand-ins received during these runs: ${deliveredText}`,
              ...problems.map((p) => `FAIL ${p}`),
            ],
          },
        ],
        json: { artifacts },
      };
    } finally {
      await all.close();
    }
  },
};

// ---- program ----------------------------------------------------------------------------------

const programSection: Section = {
  name: "program",
  async run(ctx) {
    const json: Record<string, { resources: number; evalMs: number; patternChars?: number }> = {};
    const rows: string[][] = [];
    const { accounts, regions } = ACCOUNTS_ROW;
    const runs = [
      ...PROGRAM_SIZES.map((count) => ({
        key: `pipelines${count}`,
        label: String(count),
        config: withPipelines(STACK, count),
      })),
      {
        key: `accounts${accounts * regions}`,
        label: `${ACCOUNTS_ROW.pipelines} (${accounts} accounts × ${regions} regions)`,
        config: withAccounts(STACK, ACCOUNTS_ROW.pipelines, accounts, regions),
      },
    ];
    for (const run of runs) {
      ctx.log(`program: evaluating with ${run.label} pipelines…`);
      const result = await runProgram({
        stack: STACK,
        config: run.config,
        outDir: path.join(ctx.workDir, `program-${run.key}`),
      });
      if (!result.ok)
        throw new Error(`bench: ${run.label} pipelines do not evaluate: ${result.message}`);
      json[run.key] = { resources: result.resources.length, evalMs: result.evalMs };
      if (run.key.startsWith("accounts")) {
        json[run.key].patternChars = result.rulePattern.pattern.length;
      }
      const precision = (result.rulePattern.branches as Array<{ precision: string }>)
        .map((b) => b.precision)
        .join(", ");
      rows.push([
        run.label,
        String(result.resources.length),
        formatMs(result.evalMs),
        `${result.rulePattern.pattern.length}`,
        precision,
      ]);
    }
    return {
      tables: [
        {
          title: `Program evaluation (${STACK} stack config, generated pipelines, mock engine)`,
          columns: ["PIPELINES", "RESOURCES", "EVAL", "PATTERN CHARS", "PATTERN PRECISION"],
          rows,
          align: ["right", "right", "right", "right", "left"],
        },
      ],
      json: { program: json },
    };
  },
};

/** The report, in run order (the artifacts compare themselves with the baseline). */
// ---- fan-out latency and throughput ------------------------------------------------------------

/** Receiver latencies of the fan-out latency run, per channel of the prod critical tier (ms). */
export const FANOUT_LATENCIES = { pagerduty: 50, slack: 150, sms: 300 } as const;

/** A warm fan-out process of the prod archive, in a prepared world. */
async function warmFanout(ctx: BenchContext, world: ArchiveWorld): Promise<LambdaProcess> {
  const archive = world.program.archives.find((a) => a.name === "fanout");
  if (!archive) throw new Error("bench: the program has no fanout archive");
  const functionName = String(world.program.outputs.fanoutFunctionName ?? "fanout");
  const lambda = await startLambda({
    dir: archive.dir,
    functionName,
    env: { ...archive.environment, ...world.all.envFor(functionName) },
  });
  const warm = await lambda.invoke(fanoutEvent(world.all, "main-app-production-v3"));
  if (!warm.ok) throw new Error(`bench: fan-out warm-up failed: ${warm.error?.message}`);
  ctx.log("fan-out: warm");
  return lambda;
}

const fanoutSection: Section = {
  name: "fanout",
  async run(ctx) {
    // Lone failures: the warm-up must not spend a grouping window (scripts/lib/latency.ts).
    const world = await startArchiveWorld(ctx, loneFailureAllowance);
    const lambda = await warmFanout(ctx, world);
    try {
      const { all } = world;
      all.receivers.setLatency("pagerduty", FANOUT_LATENCIES.pagerduty);
      all.receivers.setLatency("slack", FANOUT_LATENCIES.slack);
      all.aws.delays.sns.Publish = FANOUT_LATENCIES.sms;
      const walls: number[] = [];
      const table = world.program.archives.find((a) => a.name === "fanout")?.environment
        .AUDIT_TABLE;
      for (let i = 0; i < Math.max(3, ctx.runs); i++) {
        // Each run is a lone failure: its send slots are free (not Slack's burst spent by the
        // last run), and the world's grouping allowance is never spent (loneFailureAllowance).
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, LATENCY.pauseMs));
        await forgetPacing(all, table);
        const result = await lambda.invoke(fanoutEvent(all, "main-app-production-v3"));
        const failures = (result.value as { batchItemFailures?: unknown[] } | undefined)
          ?.batchItemFailures;
        if (!result.ok || (failures && failures.length > 0)) {
          throw new Error(
            `bench: fan-out run ${i + 1} failed: ${result.error?.message ?? "record failed"}`,
          );
        }
        walls.push(result.ms);
      }
      const slowestMs = Math.max(...Object.values(FANOUT_LATENCIES));
      const wallMs = median(walls);
      const ratio = wallMs / slowestMs;
      return {
        tables: [
          {
            title: "Fan-out latency: one prod failure to PagerDuty, Slack and SMS",
            columns: ["RECEIVERS (ms)", "SLOWEST", "WALL (median)", "RATIO", "<= 1.1"],
            rows: [
              [
                `pagerduty ${FANOUT_LATENCIES.pagerduty}, slack ${FANOUT_LATENCIES.slack}, sms ${FANOUT_LATENCIES.sms}`,
                formatMs(slowestMs),
                formatMs(wallMs),
                ratio.toFixed(2),
                verdict(ratio <= 1.1),
              ],
            ],
            align: ["left", "right", "right", "right", "left"],
            notes: [
              "wall = the handler's invocation time in a warm fan-out process (ledger, audit and",
              "enrichment included); a sequential fan-out would score about 1.7",
            ],
          },
        ],
        json: {
          fanout: { ratio: Math.round(ratio * 1000) / 1000, slowestMs, wallMs: round(wallMs) },
        },
      };
    } finally {
      await lambda.close();
      await world.all.close();
    }
  },
};

/**
 * Events per throughput run, in SQS batches of 10 (the event source mapping's batch size); read
 * at run time, so tests/bench.test.ts can run one batch.
 */
export const THROUGHPUT_EVENTS = 60;

const throughputSection: Section = {
  name: "throughput",
  async run(ctx) {
    const world = await startArchiveWorld(ctx);
    const lambda = await warmFanout(ctx, world);
    try {
      const pipelines = ["main-app-production-v3", "api-gateway-prod-cluster"];
      const batches: unknown[] = [];
      for (let i = 0; i < THROUGHPUT_EVENTS; i += 10) {
        const records = Array.from(
          { length: 10 },
          (_, j) => fanoutEvent(world.all, pipelines[j % 2]).Records[0],
        );
        batches.push({ Records: records });
      }
      const started = performance.now();
      let cpuMs = 0;
      for (const batch of batches) {
        const result = await lambda.invoke(batch);
        if (!result.ok) throw new Error(`bench: throughput batch failed: ${result.error?.message}`);
        cpuMs += result.cpuMs ?? 0;
      }
      const elapsed = performance.now() - started;
      // Each prod failure is 3 notifications (PagerDuty, Slack, SMS).
      const notifications = THROUGHPUT_EVENTS * 3;
      const eventsPerSec = THROUGHPUT_EVENTS / (elapsed / 1000);
      const cpuMsPerNotification = cpuMs / notifications;
      return {
        tables: [
          {
            title: `Throughput: ${THROUGHPUT_EVENTS} prod failures through one warm fan-out, instant receivers`,
            columns: ["EVENTS/S", "NOTIFICATIONS/S", "CPU MS / NOTIFICATION"],
            rows: [
              [
                eventsPerSec.toFixed(1),
                (notifications / (elapsed / 1000)).toFixed(1),
                cpuMsPerNotification.toFixed(2),
              ],
            ],
            align: ["right", "right", "right"],
            notes: ["CPU = the Lambda process's own user+system time (stand-ins excluded)"],
          },
        ],
        json: {
          throughput: {
            eventsPerSec: Math.round(eventsPerSec * 10) / 10,
            cpuMsPerNotification: Math.round(cpuMsPerNotification * 100) / 100,
          },
        },
      };
    } finally {
      await lambda.close();
      await world.all.close();
    }
  },
};

const sandboxSection: Section = {
  name: "sandbox",
  async run(ctx) {
    ctx.log("sandbox: starting a prod sandbox…");
    const m = await measureSandbox();
    return {
      tables: [
        {
          title: "Local sandbox (prod stack)",
          columns: ["START -> PAGE READY", "POST /events -> LAST RECEIVER"],
          rows: [[formatMs(m.startToReadyMs), formatMs(m.eventToLastDeliveryMs)]],
          align: ["right", "right"],
          notes: [
            "start = the npm start script spawned (ts-node, program evaluation, stand-ins, Lambdas, page)",
            "event = a prod FAILED routed by the rule, queued, fanned out to PagerDuty, Slack and SMS",
          ],
        },
      ],
      json: {
        sandbox: {
          startToReadyMs: round(m.startToReadyMs),
          eventToLastDeliveryMs: round(m.eventToLastDeliveryMs),
        },
      },
    };
  },
};

/** The chaos benchmark (`--chaos`), on its own: it takes minutes. */
export const chaosSection: Section = {
  name: "chaos",
  run: (ctx) => runChaos(ctx, { startWorld: startArchiveWorld, fanoutEvent }),
};

/** The storm benchmark (`--storm`, issue 11), on its own: it takes minutes. */
export const stormSection: Section = {
  name: "storm",
  run: (ctx) => runStorm(ctx, { startWorld: startArchiveWorld, fanoutEvent }),
};

/**
 * Issue 12's latency: the last receiver's request vs the slowest channel, locally and with
 * prod-like round trips, and the fan-out's cold start vs the SDK floor (scripts/lib/latency.ts).
 * Also on its own with `--latency`.
 */
export const latencySection: Section = {
  name: "latency",
  run: (ctx) =>
    runLatency(ctx, {
      startWorld: (c) => startArchiveWorld(c, loneFailureAllowance),
      fanoutEvent,
      measureColdStarts,
    }),
};

export const SECTIONS: Section[] = [
  baselineSection,
  artifactsSection,
  programSection,
  fanoutSection,
  latencySection,
  throughputSection,
  sandboxSection,
];

/**
 * The sections one run takes: `--chaos`, `--storm` or `--latency` alone (in that precedence),
 * else every section of {@link SECTIONS}.
 */
export function sectionsFor(options: {
  chaos?: boolean;
  storm?: boolean;
  latency?: boolean;
}): Section[] {
  if (options.chaos) return [chaosSection];
  if (options.storm) return [stormSection];
  if (options.latency) return [latencySection];
  return SECTIONS;
}

/** The bench's usage text (`--help`, and after a usage error). */
export const USAGE =
  "usage: npm run bench -- [--json] [--quick] [--chaos | --storm [--events <n>]] [--latency]\n" +
  "  (no option)     every section (baseline, artifacts, program, fanout, latency, throughput,\n" +
  "                  sandbox): tables with PASS/FAIL against the targets\n" +
  "  --json          print exactly one JSON object on stdout (progress goes to stderr)\n" +
  "  --quick         1 cold start per archive instead of the median of 5\n" +
  "  --chaos         only the chaos benchmark: exactly once under faults, cost per million events\n" +
  "  --storm         only the storm benchmark: 1000 FAILED events against rate-limited receivers\n" +
  "  --events <n>    with --chaos or --storm: play n events instead\n" +
  "  --latency       only the fan-out latency section\n" +
  "  --help          print this text";

/** Runs every section; resolves with the process exit code. */
export async function bench(argv: string[]): Promise<number> {
  let values: {
    help?: boolean;
    json?: boolean;
    quick?: boolean;
    chaos?: boolean;
    storm?: boolean;
    latency?: boolean;
    events?: string;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        help: { type: "boolean", short: "h" },
        json: { type: "boolean" },
        quick: { type: "boolean" },
        chaos: { type: "boolean" },
        storm: { type: "boolean" },
        latency: { type: "boolean" },
        events: { type: "string" },
      },
      strict: true,
    }));
  } catch (err: unknown) {
    process.stderr.write(`error: ${errorMessage(err)}\n${USAGE}\n`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const events = values.events === undefined ? undefined : Number(values.events);
  if (
    events !== undefined &&
    !(Number.isInteger(events) && events > 0 && (values.chaos || values.storm))
  ) {
    process.stderr.write(
      `error: --events must be a positive integer, with --chaos or --storm (got ${values.events})\n` +
        `${USAGE}\n`,
    );
    return 1;
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "dn-bench-"));
  const ctx: BenchContext = {
    runs: values.quick ? 1 : 5,
    events,
    workDir,
    log: (message) => process.stderr.write(`${message}\n`),
    results: {},
  };
  const tables: Table[] = [];
  try {
    for (const section of sectionsFor(values)) {
      let result: SectionResult;
      try {
        result = await section.run(ctx);
      } catch (err: unknown) {
        throw new Error(`section ${section.name}: ${errorMessage(err)}`, { cause: err });
      }
      Object.assign(ctx.results, result.json);
      tables.push(...result.tables);
    }
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  if (values.json) process.stdout.write(`${JSON.stringify(ctx.results)}\n`);
  else process.stdout.write(`${tables.map(renderTable).join("\n\n")}\n`);
  return 0;
}

if (require.main === module) {
  // The archives model nodejs22.x; on an older local Node the SDK would warn on every client.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  bench(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: bench failed: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    },
  );
}
