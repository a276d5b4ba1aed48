/**
 * The world of `npm start`: the local stand-ins, the Pulumi program evaluated for a stack, what
 * the program declared (queue, event source mapping, function timeouts, archives), its channels'
 * secrets (the stand-ins' URLs) in the Secrets Manager stand-in, and the two Lambda archives
 * running warm against the stand-ins.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfig } from "../config";
import { DEFAULT_TIMEOUT_MS } from "../handlers/channels/types";
import { DEADLINE_MARGIN_MS } from "../handlers/fanout/handler";
import { RECEIVER_TIMEOUT_FLOOR_MS, TIME_SCALE_ENV } from "../handlers/http";
import type { RuntimeConfig } from "../handlers/types";
import {
  pointAtReceivers,
  provisionForArchives,
  readStackFile,
  runProgram,
  setSmsTimeScale,
  startAll,
  startLambda,
  type AllStandins,
  type ArchiveInfo,
  type LambdaProcess,
  type ProgramResult,
  type Secrets,
  worldReceiverPorts,
} from "../testing";
import { attributeChannels, type ChannelAttribution } from "./channels";
import { createMetricLog, type MetricLog } from "./ops-alarms";

/** The region the stand-ins and the built events use. */
export const REGION = "us-east-1";
/** The account id of the stand-ins (`STANDIN_ACCOUNT`) and the built events. */
export const ACCOUNT = "123456789012";

/**
 * How many times faster than AWS the sandbox's clock runs by default: 360 s of visibility are
 * 7.2 s here, the fan-out's 60 s are 1.2 s, its 5 s HTTP timeout 100 ms. Every duration is
 * divided by this one number, so their ratios stay AWS's, and 50 keeps all of them whole ms.
 * What does not scale is the machine: a cold fan-out spends about 0.6 s loading SDK clients and
 * a local receiver answers in 5–40 ms on a loaded machine, so at 100 (HTTP timeout 50 ms) the
 * first receive ran out of its deadline and a Slack answer arrived after the timeout (a duplicate
 * that AWS would not see).
 */
export const DEFAULT_TIME_SCALE = 50;

/**
 * Stacks that run slower by default. `storm`: 60 events at once make dynalite (one local process
 * on a shared machine) answer in hundreds of ms, beyond the fan-out's SDK timeouts at 1/50 (100 ms
 * per request, 40 ms to connect) — a machine limit AWS does not have, so those records failed and
 * reached the DLQ. At 1/10 the timeouts are 500 ms / 200 ms and the ratios stay AWS's.
 */
export const STACK_TIME_SCALES: Readonly<Record<string, number>> = { storm: 10 };

/** The fan-out's durations on the sandbox's clock, in ms (AWS's divided by `scale`). */
export interface ScaledTimes {
  /** The divisor (the fan-out's `TIME_SCALE`, handlers/http.ts). */
  scale: number;
  /** The fan-out's function timeout (its `context.getRemainingTimeInMillis()` at the start). */
  fanoutTimeoutMs: number;
  /** The events queue's visibility timeout. */
  visibilityTimeoutMs: number;
  /** The fan-out's per-call HTTP timeout (`DEFAULT_TIMEOUT_MS`, handlers/channels/types.ts). */
  httpTimeoutMs: number;
  /** What the fan-out keeps back from its remaining time (`DEADLINE_MARGIN_MS`). */
  deadlineMarginMs: number;
}

/**
 * The declared durations divided by `scale`: visibility / function timeout and function timeout
 * / HTTP timeout stay as the program and the handler declare them (the Lambda developer guide
 * asks for a visibility of at least 6 × the function timeout for an SQS source).
 * @throws when `scale` is not a number ≥ 1 (the message names `timeScale`).
 */
export function scaleTimes(declared: Declared, scale: number): ScaledTimes {
  assertTimeScale(scale);
  const ms = (awsMs: number) => Math.max(1, Math.round(awsMs / scale));
  return {
    scale,
    fanoutTimeoutMs: ms(declared.timeoutsMs.fanout),
    visibilityTimeoutMs: ms(declared.declaredVisibilitySeconds * 1000),
    // With the real-time floor the handler applies (handlers/http.ts receiverTimeoutMs).
    httpTimeoutMs: Math.max(
      ms(DEFAULT_TIMEOUT_MS),
      Math.min(DEFAULT_TIMEOUT_MS, RECEIVER_TIMEOUT_FLOOR_MS),
    ),
    deadlineMarginMs: ms(DEADLINE_MARGIN_MS),
  };
}

/** @throws when `scale` is not a number ≥ 1 (the message names `timeScale`). */
export function assertTimeScale(scale: number): void {
  if (!Number.isFinite(scale) || scale < 1)
    throw new Error(`sandbox: timeScale ${scale}: expected a number ≥ 1 (AWS time / sandbox time)`);
}

/** The one line `npm start` prints about its clock. */
export function describeTimes(declared: Declared, times: ScaledTimes): string {
  const s = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);
  return (
    `time: 1/${times.scale} of AWS's — fan-out timeout ${s(declared.timeoutsMs.fanout)} → ${s(times.fanoutTimeoutMs)}, ` +
    `HTTP timeout ${s(DEFAULT_TIMEOUT_MS)} → ${s(times.httpTimeoutMs)}, deadline margin ${s(DEADLINE_MARGIN_MS)} → ${s(times.deadlineMarginMs)}, ` +
    `queue visibility ${s(declared.declaredVisibilitySeconds * 1000)} → ${s(times.visibilityTimeoutMs)}`
  );
}

/** A progress line sink. */
export type Log = (line: string) => void;

/** Close steps, run last-added first. */
export interface Cleanups {
  add(...steps: Array<() => Promise<void> | void>): void;
  /** Runs every step once; a failing step is logged and does not stop the others. */
  closeAll(): Promise<void>;
}

/** Creates an empty list of close steps. */
export function createCleanups(log: Log): Cleanups {
  const steps: Array<() => Promise<void> | void> = [];
  return {
    add: (...more) => void steps.push(...more),
    async closeAll() {
      for (const step of steps.splice(0).reverse()) {
        try {
          await step();
        } catch (err: unknown) {
          log(`sandbox: close: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    },
  };
}

/** What the evaluated program declared that the sandbox reproduces. */
export interface Declared {
  /** ARN of the events queue (the SQS event source of the fan-out). */
  queueArn: string;
  /** ARN of the EventBridge rule that sends to the events queue (its policy's aws:SourceArn). */
  ruleArn: string;
  /** ARN of the approval function, behind the function URL. */
  approvalArn: string;
  /** From the queue's redrive policy (default 4). */
  maxReceiveCount: number;
  /** The queue's visibility timeout as declared, in seconds (default 30). */
  declaredVisibilitySeconds: number;
  /** From the event source mapping (default 10). */
  batchSize: number;
  /** Function timeouts, in ms (defaults 60 s and 30 s). */
  timeoutsMs: { fanout: number; approval: number };
  /** The rule's event pattern, as JSON. */
  rulePattern: string;
  /** Function names, from the program's outputs. */
  functions: { fanout: string; approval: string };
  archives: { fanout: ArchiveInfo; approval: ArchiveInfo };
  /** Audit tables named in the archives' environments. */
  tables: string[];
  /** Channel → SNS topic ARN (the fan-out's `CHANNEL_TOPICS`). */
  topics: Record<string, string>;
  /** The fan-out's own dead-letter queue (`DEAD_LETTER_QUEUE_URL`), if declared. */
  fanoutDlqUrl?: string;
  /** The central bus's policy document (JSON), when the stack has sources (issue 14). */
  centralBusPolicy?: string;
}

function declaredResource(program: ProgramResult, type: string, name: string) {
  const resource = program.resources.find((r) => r.type === type && r.name === name);
  if (!resource) throw new Error(`sandbox: the program declared no ${type} "${name}"`);
  return resource;
}

function inputsOf(program: ProgramResult, type: string, name: string): Record<string, any> {
  return declaredResource(program, type, name).inputs;
}

/** The declared `EventBusPolicy`'s document, if any (a string once the mocks resolved it). */
function busPolicyOf(program: ProgramResult): string | undefined {
  const found = program.resources.find(
    (r) => r.type === "aws:cloudwatch/eventBusPolicy:EventBusPolicy",
  );
  const policy = found?.inputs.policy as unknown;
  if (policy === undefined) return undefined;
  return typeof policy === "string" ? policy : JSON.stringify(policy);
}

/**
 * Reads what the sandbox needs from the evaluated program.
 * @throws when the program lacks the events queue, the event source mapping, either function
 *   or either archive (the message names it).
 */
export function readDeclared(program: ProgramResult, stack: string): Declared {
  const queue = inputsOf(program, "aws:sqs/queue:Queue", "events");
  const redrive = JSON.parse(String(queue.redrivePolicy ?? "{}")) as { maxReceiveCount?: number };
  const mapping = inputsOf(
    program,
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "fanout-from-queue",
  );
  const fn = (name: string) => inputsOf(program, "aws:lambda/function:Function", name);
  const fanoutTimeoutMs = Number(fn("fanout").timeout ?? 60) * 1000;
  const approvalTimeoutMs = Number(fn("approval").timeout ?? 30) * 1000;
  const outputs = program.outputs as Record<string, string>;
  const queueUrl = String(outputs.eventsQueueUrl);
  const archive = (name: string): ArchiveInfo => {
    const found = program.archives.find((a) => a.name === name);
    if (!found) throw new Error(`sandbox: the program has no "${name}" archive`);
    return found;
  };
  const fanout = archive("fanout");
  return {
    queueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${queueUrl.split("/").pop()}`,
    ruleArn: String(
      declaredResource(program, "aws:cloudwatch/eventRule:EventRule", "codepipeline").arn ?? "",
    ),
    approvalArn: String(
      declaredResource(program, "aws:lambda/function:Function", "approval").arn ?? "",
    ),
    maxReceiveCount: redrive.maxReceiveCount ?? 4,
    declaredVisibilitySeconds: Number(queue.visibilityTimeoutSeconds ?? 30),
    batchSize: Number(mapping.batchSize ?? 10),
    timeoutsMs: { fanout: fanoutTimeoutMs, approval: approvalTimeoutMs },
    rulePattern: program.rulePattern.pattern,
    functions: {
      fanout: String(outputs.fanoutFunctionName ?? `deploy-notifier-${stack}-fanout`),
      approval: String(outputs.approvalFunctionName ?? `deploy-notifier-${stack}-approval`),
    },
    archives: { fanout, approval: archive("approval") },
    tables: [...new Set(program.archives.map((a) => a.environment.AUDIT_TABLE).filter(Boolean))],
    topics: JSON.parse(fanout.environment.CHANNEL_TOPICS ?? "{}") as Record<string, string>,
    fanoutDlqUrl: fanout.environment.DEAD_LETTER_QUEUE_URL,
    centralBusPolicy: busPolicyOf(program),
  };
}

/** The program evaluated with local receiver URLs as its secrets. */
interface EvaluatedStack {
  program: ProgramResult;
  runtime: RuntimeConfig;
  secrets: Secrets;
  /** Channel → PagerDuty routing key. */
  routingKeys: Record<string, string>;
  /** The Slack app signing secret the approval function verifies with (random per run). */
  signingSecret: string;
  programMs: number;
}

async function evaluateStack(
  stack: { name: string; file: string },
  standins: AllStandins,
  cleanups: Cleanups,
  log: Log,
): Promise<EvaluatedStack> {
  const started = performance.now();
  const signingSecret = randomBytes(16).toString("hex");
  const { raw, secrets } = pointAtReceivers(
    readStackFile(stack.file).raw,
    standins.receivers,
    signingSecret,
  );
  // The archives are written here and run from here: removed when the sandbox closes (after
  // the Lambda processes, which are closed first).
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), `dn-${stack.name}-`));
  cleanups.add(() => fs.rmSync(outDir, { recursive: true, force: true }));
  removeOnExit(outDir);
  const routingKeys = Object.fromEntries(
    Object.entries(secrets).flatMap(([name, s]) => (s.routingKey ? [[name, s.routingKey]] : [])),
  );
  // Evaluated with the placeholder secrets `npm run preview` uses, not the local ones: a secret
  // reaches only its SecretVersion (a Pulumi secret, "[secret]" in the result) and the Lambdas
  // read the local ones from the Secrets Manager stand-in (provisionForArchives), so the output is
  // the same. A test run's evaluations of a stack whose config names no local URL (staging: a
  // PagerDuty channel's `endpoint` is config, not a secret) are then identical, and made once
  // (testing/program-cache.ts keys on the config, secrets included). The local secrets are
  // validated below by parseConfig, the program's own validation.
  const program = await runProgram({
    stack: stack.name,
    stackFile: stack.file,
    config: raw,
    outDir,
  });
  if (!program.ok)
    throw new Error(
      `stack ${stack.name}: the program failed as pulumi preview would:\n${program.message}`,
    );
  const runtime: RuntimeConfig = parseConfig({ ...raw, secrets }, { stack: stack.name }).runtime;
  const programMs = performance.now() - started;
  const archives = program.archives.map((a) => `${a.name} (${Math.round(a.bytes / 1024)} KB)`);
  log(
    `program evaluated for stack ${stack.name} in ${(programMs / 1000).toFixed(1)} s: ${program.resources.length} resources, archives ${archives.join(", ")}`,
  );
  return { program, runtime, secrets, routingKeys, signingSecret, programMs };
}

/** Directories removed when the process exits without closing the sandbox (an error, Ctrl-C). */
const leftBehind: string[] = [];

/** Removes `dir` at process exit if it is still there (synchronously: `exit` allows no more). */
function removeOnExit(dir: string): void {
  if (leftBehind.length === 0) {
    process.once("exit", () => {
      for (const d of leftBehind) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  leftBehind.push(dir);
}

/** Starts both archives warm; the approval function is also invocable through Lambda Invoke. */
async function startLambdas(
  declared: Declared,
  standins: AllStandins,
  cleanups: Cleanups,
  log: Log,
  options: { verbose: boolean; times: ScaledTimes; metrics: MetricLog },
): Promise<{ fanout: LambdaProcess; approval: LambdaProcess }> {
  const { verbose, times, metrics } = options;
  const start = (which: "fanout" | "approval"): Promise<LambdaProcess> => {
    const archive = declared.archives[which];
    // The fan-out runs on the scaled clock (the queue's side of it is event-source.ts); the
    // approval function answers people and Slack, in real time.
    const scaled = which === "fanout";
    return startLambda({
      dir: archive.dir,
      handler: archive.handler,
      functionName: declared.functions[which],
      // Credentials naming the function's role: its calls are checked against the declared IAM.
      env: {
        ...archive.environment,
        ...standins.envFor(declared.functions[which]),
        ...(scaled && { [TIME_SCALE_ENV]: String(times.scale) }),
      },
      timeoutMs: scaled ? times.fanoutTimeoutMs : declared.timeoutsMs[which],
      // The fan-out's EMF lines are its metrics, as CloudWatch Logs reads them (ops-alarms.ts).
      onLog: (line) => {
        if (scaled) metrics.read(line);
        if (verbose) log(`    [${which}] ${line}`);
      },
    });
  };
  const [fanout, approval] = await Promise.all([start("fanout"), start("approval")]);
  cleanups.add(
    () => fanout.close(),
    () => approval.close(),
  );
  // The approval click invokes its own function asynchronously (Lambda Invoke, type Event).
  const approvalName = declared.functions.approval;
  standins.aws.registerFunction(approvalName, async (event) => {
    const result = await approval.invoke(event);
    if (!result.ok) throw new Error(`${approvalName}: ${result.error?.message ?? "failed"}`);
    return result.value;
  });
  return { fanout, approval };
}

/**
 * What an SNS publish said, quoted: an email's subject, else the message (an SMS is one line of
 * at most 140 characters), cut at 160 characters.
 */
export function publishedText(p: { message: string; subject?: string }): string {
  const text = p.subject ?? p.message.replace(/\s+/g, " ").trim();
  return `“${text.length > 160 ? `${text.slice(0, 159)}…` : text}”`;
}

/**
 * Logs every receiver attempt (Slack's `response_url` answers excepted) and every SMS or email
 * publish SNS accepted, with its text, as a progress line.
 */
function logAttempts(standins: AllStandins, channels: ChannelAttribution, log: Log): void {
  standins.aws.state.sns.onPublish = (p) => {
    const channel = channels.ofTopic(p.topicArn) ?? p.phoneNumber ?? "sns";
    log(`    → sns ${channel}: delivered ${publishedText(p)}`);
  };
  standins.receivers.onAttempt((attempt) => {
    if (attempt.receiver === "slack-response") return;
    const channel = channels.ofDelivery(attempt);
    // A Teams card over 28 KB is answered 202 and never posted: say why it is not delivered.
    const status = `${attempt.status ?? attempt.outcome}${attempt.reason ? `: ${attempt.reason}` : ""}`;
    log(
      `    → ${attempt.receiver} ${channel}: ${attempt.outcome === "delivered" ? "delivered" : `${attempt.outcome} (${status})`}`,
    );
  });
}

/** The running world of one sandbox. */
export interface World {
  stack: string;
  standins: AllStandins;
  runtime: RuntimeConfig;
  signingSecret: string;
  declared: Declared;
  channels: ChannelAttribution;
  fanout: LambdaProcess;
  approval: LambdaProcess;
  /** The fan-out's durations and the queue's visibility on the sandbox's clock. */
  times: ScaledTimes;
  /** How long each phase took, in ms. */
  timings: { standinsMs: number; programMs: number; lambdasMs: number };
  /** The fan-out's EMF metrics, read from its output (ops-alarms.ts). */
  metrics: MetricLog;
  /** Epoch ms when the world's clock started (AWS time 0 of the alarm periods). */
  startedAtMs: number;
}

/**
 * Starts the stand-ins, evaluates the program for `stack` against them, provisions the table
 * and secrets its archives expect and starts both archives. Everything started is added to
 * `cleanups` (the caller closes it, also when this throws).
 * @throws when the stand-ins cannot start, the program fails as `pulumi preview` would, or it
 *   lacks something the sandbox reproduces.
 */
export async function startWorld(options: {
  stack: string;
  /** The stack file evaluated (`Pulumi.<stack>.yaml` format). */
  stackFile: string;
  cleanups: Cleanups;
  log: Log;
  verbose: boolean;
  /** AWS time / sandbox time (default {@link DEFAULT_TIME_SCALE}). */
  timeScale?: number;
}): Promise<World> {
  const { stack, cleanups, log } = options;
  const scale = options.timeScale ?? STACK_TIME_SCALES[stack] ?? DEFAULT_TIME_SCALE;
  assertTimeScale(scale);
  const startedAtMs = Date.now();
  // Stand-ins first: the program needs their URLs as secrets. STS sessions last one hour of the
  // world's time (3600 s / scale), so a role's refresh margin keeps AWS's ratio.
  const tStandins = performance.now();
  // Within a test run, on one of the run's receiver ports: a world of the same config before it
  // was the same evaluation (testing/world.ts worldReceiverPorts).
  const standins = await startAll({
    aws: { region: REGION, timeScale: scale },
    receivers: { ports: worldReceiverPorts() },
  });
  cleanups.add(() => standins.close());
  const standinsMs = performance.now() - tStandins;

  const evaluated = await evaluateStack(
    { name: stack, file: options.stackFile },
    standins,
    cleanups,
    log,
  );
  const declared = readDeclared(evaluated.program, stack);
  const times = scaleTimes(declared, scale);
  log(describeTimes(declared, times));
  // The receivers' and SMS's documented rate limits run on the same clock (issue 11).
  standins.receivers.setTimeScale(times.scale);
  setSmsTimeScale(standins.aws.state, times.scale);

  const tLambdas = performance.now();
  await provisionForArchives(evaluated.program, standins, evaluated.secrets);
  const metrics = createMetricLog();
  const lambdas = await startLambdas(declared, standins, cleanups, log, {
    verbose: options.verbose,
    times,
    metrics,
  });
  const lambdasMs = performance.now() - tLambdas;

  const channels = attributeChannels(evaluated.routingKeys, declared.topics);
  logAttempts(standins, channels, log);
  return {
    stack,
    standins,
    runtime: evaluated.runtime,
    signingSecret: evaluated.signingSecret,
    declared,
    channels,
    ...lambdas,
    times,
    timings: { standinsMs, programMs: evaluated.programMs, lambdasMs },
    metrics,
    startedAtMs,
  };
}
