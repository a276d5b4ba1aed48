/**
 * A world for fan-out tests: real local receivers, AWS stand-ins and dynalite, the SDK pointed at
 * them through the standard endpoint variables, and the prod stack config with local URLs.
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  ScanCommand,
} from "@aws-sdk/lib-dynamodb";
import { parseConfig, type StackConfig } from "../../config";
import type { Context, SQSBatchResponse, SQSRecord } from "aws-lambda";
import { createFanoutHandler } from "../../handlers/fanout";
import { forgetQueuedFlushes } from "../../handlers/fanout/grouping";
import { forgetPaceMemo } from "../../handlers/store/pacing";
import {
  auditPartition,
  deliveryPartition,
  executionPartition,
  EXECUTION_INDEX,
} from "../../handlers/store/keys";
import { localRoutingKey, pointAtReceivers, type DynamoThrottleCode } from "../../testing";
import { readStackConfig } from "../../testing";
import { createAuditTable, startAll, type AllStandins, type AwsStandins } from "../../testing";

export const TABLE = "audit-test";
export const SECRET_ARN =
  "arn:aws:secretsmanager:us-east-1:123456789012:secret:channel-secrets-AbCdEf";
export const SMS_TOPIC = "arn:aws:sns:us-east-1:123456789012:channel-sms-oncall";
export const DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/dlq";
/** The routing key `pointAtReceivers` gives the prod stack's PagerDuty channel. */
export const ROUTING_KEY = localRoutingKey("local:pagerduty-oncall");

/** A CodePipeline fixture event (tests/events/codepipeline/<name>.json), with overrides. */
export function event(
  name: string,
  detail: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): any {
  const file = path.join(__dirname, "..", "events", "codepipeline", `${name}.json`);
  const ev = JSON.parse(fs.readFileSync(file, "utf8"));
  return { ...ev, ...top, detail: { ...ev.detail, ...detail } };
}

/** CodePipeline's manual approval timeout: 7 days (CodePipeline user guide, "Manual approval"). */
const APPROVAL_TIMEOUT_MS = 7 * 86_400_000;

/**
 * Teaches the CodePipeline stand-in that `executionId` of `pipeline` (main-app-production-v3 by
 * default) failed in Deploy / DeployECS (an ECS deployment that failed its health checks), as
 * enrichment will read it; `revision` adds the execution's source revision.
 */
export function addDeployFailure(
  aws: AwsStandins,
  executionId: string,
  revision?: { name: string; revisionId: string; revisionSummary: string; revisionUrl: string },
  pipeline = "main-app-production-v3",
): void {
  aws.addFailedExecution({
    pipeline,
    executionId,
    stage: "Deploy",
    action: "DeployECS",
    category: "Deploy",
    provider: "ECS",
    errorCode: "JobFailed",
    summary: "ECS deployment circuit breaker: tasks failed health checks",
    ...(revision && { revision }),
  });
}

/**
 * A pending run of `pipeline`'s Approve/ManualApproval action in the CodePipeline stand-in that
 * started `ago` ms before now and expires after the 7-day timeout, and the
 * `action-approval-started` event (fixture) CodePipeline emits for it.
 */
export function pendingApprovalStarted(
  aws: Pick<AwsStandins, "addPendingApproval">,
  pipeline: string,
  ago: number,
): { executionId: string; actionExecutionId: string; at: Date; started: any } {
  const executionId = randomUUID();
  const actionExecutionId = randomUUID();
  const at = new Date(Date.now() - ago);
  aws.addPendingApproval({
    pipeline,
    stage: "Approve",
    action: "ManualApproval",
    executionId,
    actionExecutionId,
    at,
    expiresAt: new Date(at.getTime() + APPROVAL_TIMEOUT_MS),
  });
  const started = event(
    "action-approval-started",
    { "execution-id": executionId, "action-execution-id": actionExecutionId },
    { id: randomUUID(), time: at.toISOString() },
  );
  return { executionId, actionExecutionId, at, started };
}

/** The events queue's ARN in the records (the handler does not read it). */
export const QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:events";

/** The SQS record the event source mapping would deliver for `body`. */
export function record(body: unknown, messageId: string, receiveCount = 1): SQSRecord {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const now = String(Date.now());
  return {
    messageId,
    receiptHandle: `receipt-${messageId}-${receiveCount}`,
    body: text,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: now,
      SenderId: "AIDAEXAMPLE",
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: createHash("md5").update(text).digest("hex"),
    eventSource: "aws:sqs",
    eventSourceARN: QUEUE_ARN,
    awsRegion: "us-east-1",
  };
}

/**
 * The record SQS delivers for a message the fan-out sent to the queue (`body`, its message
 * attributes as strings: a deferred copy, fanout/requeue.ts), with id `messageId`, first receive.
 */
export function copyOf(
  m: { body: string; attributes: Record<string, string> },
  messageId: string,
): SQSRecord {
  const r = record(m.body, messageId, 1);
  r.messageAttributes = Object.fromEntries(
    Object.entries(m.attributes).map(([k, v]) => [
      k,
      { stringValue: v, dataType: "String", stringListValues: [], binaryListValues: [] },
    ]),
  );
  return r;
}

/** The parts of the Lambda context the fan-out reads, as a Context. */
export function lambdaContext(remainingMs: number, awsRequestId = "test"): Context {
  return {
    getRemainingTimeInMillis: () => remainingMs,
    awsRequestId,
  } as Partial<Context> as Context;
}

/** Stack config variations for a test. */
export type ConfigEdit = (raw: Record<string, any>) => void;

export interface FanoutWorld {
  standins: AllStandins;
  config: StackConfig;
  handler: ReturnType<typeof createFanoutHandler>;
  /** Invokes the handler once with these records. */
  invoke(records: SQSRecord[], remainingMs?: number): Promise<SQSBatchResponse>;
  /**
   * Plays SQS: delivers the events, redelivers failed records with a higher receive count, up to
   * `maxReceives`; returns what was left failing at the end (SQS would redrive those to the DLQ).
   */
  drain(
    events: unknown[],
    opts?: {
      maxReceives?: number;
      remainingMs?: number;
      between?: (attempt: number) => void | Promise<void>;
    },
  ): Promise<string[]>;
  /** Clears the receivers and AWS stand-ins between tests and stores the channel secrets again. */
  reset(): void;
  /**
   * Deletes the channels' send pacing items (`PACE#`, store/pacing.ts) and the handler's memo of
   * them (`forgetPaceMemo`), for a test that must
   * start with every channel's burst available (the slots earlier tests booked are shared state,
   * as in AWS: one table for every invocation).
   */
  forgetPacing(): Promise<void>;
  /** Every JSON line the handler wrote to stdout (logs and EMF metrics). */
  lines: Record<string, any>[];
  /**
   * Runs `run` with the handler's log level at `level` (tests/setup-env.ts silences it), so that
   * its log lines reach {@link lines}.
   */
  withLogLevel<T>(level: string, run: () => Promise<T>): Promise<T>;
  /** Audit items (not ledger / claims), oldest first. */
  audit(filter?: (item: Record<string, any>) => boolean): Promise<Record<string, any>[]>;
  /** Every item in the table, as stored (audit, ledger, claims, pending approvals). */
  items(): Promise<Record<string, any>[]>;
  /** Query by pipeline (and time range) — the way the audit trail is meant to be read. */
  auditByPipeline(pipeline: string, from?: string, to?: string): Promise<Record<string, any>[]>;
  /** Query the byExecution index. */
  auditByExecution(executionId: string): Promise<Record<string, any>[]>;
  /** A DynamoDB document client of the world's table (dynalite), for a test's own reads. */
  doc: DynamoDBDocumentClient;
  close(): Promise<void>;
}

/**
 * Throttles on the wire (the DynamoDB proxy's own fault path, testing/dynamo-faults.ts, as
 * DynamoDB answers it) the next `times` calls of `operation` whose request body contains
 * `marker`, answering `code`, or `code(n)` for the n-th of them (from 1). Those calls are still
 * counted like any call; every other call is decided as before. Returns how many were throttled
 * so far. Undone by `jest.restoreAllMocks()`.
 */
export function throttleCalls(
  world: FanoutWorld,
  operation: string,
  marker: string,
  times: number,
  code: DynamoThrottleCode | ((n: number) => DynamoThrottleCode),
): () => number {
  const faults = world.standins.dynamo.faults;
  const decide = faults.decide.bind(faults);
  let throttled = 0;
  jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
    if (op === operation && body.includes(marker) && throttled < times) {
      throttled++;
      decide(op, body); // counted like any call
      return typeof code === "function" ? code(throttled) : code;
    }
    return decide(op, body);
  });
  return () => throttled;
}

/**
 * Counts the pacing UpdateItems of `channel` (its `PACE#` item) that reach `world`'s local
 * DynamoDB, on the wire (the proxy's fault hook, testing/dynamo-faults.ts); every call is decided
 * as before. Undone by `jest.restoreAllMocks()`.
 */
export function countPaceCalls(world: FanoutWorld, channel: string): { count: number } {
  const faults = world.standins.dynamo.faults;
  const decide = faults.decide.bind(faults);
  const seen = { count: 0 };
  jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
    if (op === "UpdateItem" && body.includes(`"PACE#${channel}"`)) seen.count++;
    return decide(op, body);
  });
  return seen;
}

/**
 * A FAILED action event (CodeBuild, stage Deploy) of a new execution of `pipeline`, whose failure
 * the CodePipeline stand-in of `world` knows ({@link addDeployFailure}), at `time` (ISO 8601;
 * default now), as an SQS record.
 */
export function failureRecord(world: FanoutWorld, pipeline: string, time?: string): SQSRecord {
  const executionId = randomUUID();
  addDeployFailure(world.standins.aws, executionId, undefined, pipeline);
  const ev = event(
    "action-codebuild-failed",
    { pipeline, stage: "Deploy", action: "DeployECS", "execution-id": executionId },
    { id: randomUUID(), ...(time && { time }) },
  );
  return record(ev, `m-${pipeline}-${executionId}`);
}

/** The ledger item (delivery record) of `channel` for `executionId` in `world`'s table. */
export async function deliveryRecordOf(
  world: Pick<FanoutWorld, "items">,
  executionId: string,
  channel: string,
): Promise<Record<string, any> | undefined> {
  const items = await world.items();
  return items.find(
    (i) =>
      i.executionId === executionId &&
      i.channel === channel &&
      String(i.pk).startsWith("DELIVERY#"),
  );
}

/**
 * One fan-out world for a test file: started before its tests and handed to `set`, closed after
 * them; before each test its receivers and AWS stand-ins are cleared and its channels' send
 * pacing (`PACE#` items, which outlive a test in the table as in AWS) is forgotten, so each test
 * starts as a separate real failure would. `edit` edits the stack config.
 */
export function useFanoutWorld(set: (world: FanoutWorld) => void, edit?: ConfigEdit): void {
  let started: FanoutWorld | undefined;
  beforeAll(async () => {
    started = await startFanoutWorld(edit);
    set(started);
  });
  afterAll(() => started?.close());
  beforeEach(async () => {
    started!.reset();
    await started!.forgetPacing();
  });
}

/**
 * A fan-out world whose `slack-eng` is a bot-mode channel (issue 11: one thread per execution)
 * posting to channel id `channelId` through the Slack Web API stand-in; `edit` edits the rest.
 */
export async function startSlackBotWorld(
  channelId: string,
  edit?: ConfigEdit,
): Promise<FanoutWorld> {
  const world = await startFanoutWorld((raw) => {
    raw.secrets["slack-eng"] = { botToken: "xoxb-local-eng" };
    raw.channels["slack-eng"] = { type: "slack", mode: "bot", channel: channelId };
    edit?.(raw);
  });
  Object.assign(world.config.runtime.channels["slack-eng"], {
    apiUrl: world.standins.receivers.slackApiUrl,
  });
  return world;
}

/**
 * A fan-out world whose `slack-releases` (the prod stack's approval channel) has both a webhook
 * and a bot token and posts to channel id `channelId`: a test sets its `mode` (and `apiUrl`, the
 * Slack Web API stand-in) to switch between webhook and bot mode.
 */
export function startReleasesBotWorld(channelId: string): Promise<FanoutWorld> {
  return startFanoutWorld((raw) => {
    raw.secrets["slack-releases"] = { ...raw.secrets["slack-releases"], botToken: "xoxb-local" };
    raw.channels["slack-releases"] = { type: "slack", channel: channelId };
  });
}

/**
 * Switches the `slack-releases` channel of a {@link startReleasesBotWorld} world to `mode`, bot
 * mode posting through the world's Slack Web API stand-in.
 */
export function setReleasesMode(world: FanoutWorld, mode: "bot" | "webhook"): void {
  Object.assign(world.config.runtime.channels["slack-releases"], {
    mode,
    apiUrl: world.standins.receivers.slackApiUrl,
  });
}

/** Starts the stand-ins and a fan-out handler for the prod stack (edited by `edit`). */
export async function startFanoutWorld(edit?: ConfigEdit): Promise<FanoutWorld> {
  const standins = await startAll();
  Object.assign(process.env, standins.env, {
    AUDIT_TABLE: TABLE,
    CHANNEL_SECRETS_ARN: SECRET_ARN,
    CHANNEL_TOPICS: JSON.stringify({ "sms-oncall": SMS_TOPIC }),
    DEAD_LETTER_QUEUE_URL: DLQ_URL,
    MAX_RECEIVE_COUNT: "4",
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
  });
  await createAuditTable(standins.dynamo.endpoint, TABLE);
  const local = pointAtReceivers(
    readStackConfig("prod").raw,
    standins.receivers,
    "local-signing-secret",
  );
  // Grouping into digests (issue 11) is on by default in a stack; these worlds send many
  // notifications to one channel within a minute to test each one's delivery, so they opt out
  // unless a test sets `grouping` itself (tests/fanout/grouping*.test.ts).
  const raw: Record<string, any> = {
    ...local.raw,
    secrets: local.secrets,
    grouping: { enabled: false },
  };
  edit?.(raw);
  const config = parseConfig(raw, { stack: "prod", secretKeys: ["secrets"] });
  standins.aws.state.secrets[SECRET_ARN] = JSON.stringify(config.channelSecrets);
  const handler = createFanoutHandler(config.runtime);
  // The handler logs JSON lines to stdout (CloudWatch's format): keep them for assertions. Not a
  // jest spy, so that a test file's jest.restoreAllMocks() leaves the capture on.
  const lines: Record<string, any>[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: any, ...rest: any[]) => {
    const text = String(chunk);
    if (text.startsWith("{")) {
      for (const line of text.split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      return true;
    }
    return write.call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: standins.dynamo.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
    }),
  );
  const invoke = (records: SQSRecord[], remainingMs = 30_000) =>
    handler({ Records: records }, lambdaContext(remainingMs));
  let nextId = 1;
  const world: FanoutWorld = {
    standins,
    config,
    doc,
    handler,
    invoke,
    lines,
    async withLogLevel(level, run) {
      const before = process.env.POWERTOOLS_LOG_LEVEL;
      process.env.POWERTOOLS_LOG_LEVEL = level;
      try {
        return await run();
      } finally {
        if (before === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
        else process.env.POWERTOOLS_LOG_LEVEL = before;
      }
    },
    reset() {
      standins.receivers.reset();
      standins.aws.reset();
      // The queue is emptied: the container's memo of the flushes it queued goes with it.
      forgetQueuedFlushes();
      standins.aws.state.secrets[SECRET_ARN] = JSON.stringify(world.config.channelSecrets);
    },
    async drain(events, opts = {}) {
      const max = opts.maxReceives ?? 4;
      let pending = events.map((e) => record(e, `m-${nextId++}`));
      for (let attempt = 1; pending.length > 0 && attempt <= max; attempt++) {
        await opts.between?.(attempt);
        const out = await invoke(pending, opts.remainingMs);
        const failed = new Set(out.batchItemFailures.map((f) => f.itemIdentifier));
        // Lambda fails the whole batch on an identifier that is not one of its message ids
        // (testing/queue.ts `invalidResponse`): the fan-out must never report one.
        const unknown = [...failed].filter((id) => !pending.some((p) => p.messageId === id));
        if (unknown.length > 0) throw new Error(`batchItemFailures not in the batch: ${unknown}`);
        pending = pending
          .filter((p) => failed.has(p.messageId))
          .map((p) => record(p.body, p.messageId, attempt + 1));
      }
      return pending.map((p) => p.messageId);
    },
    async forgetPacing() {
      // The container's memo of the pace items (store/pacing.ts) holds only while they are not
      // deleted: the handler runs in this process, so its memo is forgotten with them.
      forgetPaceMemo();
      const paced = (await world.items()).filter((i) => String(i.pk).startsWith("PACE#"));
      for (const { pk, sk } of paced) {
        await doc.send(new DeleteCommand({ TableName: TABLE, Key: { pk, sk } }));
      }
    },
    async items() {
      const out = await doc.send(new ScanCommand({ TableName: TABLE }));
      return out.Items ?? [];
    },
    async audit(filter = () => true) {
      // The audit records, and the delivery records (ledger items) once settled (an `action`).
      return (await world.items())
        .filter(
          (i) =>
            String(i.pk).startsWith(auditPartition("")) ||
            (String(i.pk).startsWith(deliveryPartition("")) && typeof i.action === "string"),
        )
        .sort((a, b) => String(a.at ?? a.sk).localeCompare(String(b.at ?? b.sk)))
        .filter(filter);
    },
    async auditByPipeline(pipeline, from = "0", to = "9") {
      // Two partitions, both by time: the audit records and the delivery records (keys.ts).
      const pages = await Promise.all(
        [auditPartition(pipeline), deliveryPartition(pipeline)].map((pk) =>
          doc.send(
            new QueryCommand({
              TableName: TABLE,
              KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
              ExpressionAttributeValues: { ":pk": pk, ":from": from, ":to": to },
            }),
          ),
        ),
      );
      return pages.flatMap((p) => p.Items ?? []).filter((i) => typeof i.action === "string");
    },
    async auditByExecution(executionId) {
      const out = await doc.send(
        new QueryCommand({
          TableName: TABLE,
          IndexName: EXECUTION_INDEX,
          KeyConditionExpression: "gsi1pk = :pk",
          ExpressionAttributeValues: { ":pk": executionPartition(executionId) },
        }),
      );
      return out.Items ?? [];
    },
    close: async () => {
      process.stdout.write = write;
      await standins.close();
    },
  };
  return world;
}

/**
 * Makes the handler's clock (`Date.now`) jump `byMs` forward when a DynamoDB request that
 * `matches` (operation, JSON body) reaches the local DynamoDB: the write completes that much later
 * than it started, as one SDK call can under throttling. Once, or on every match with `every`.
 * Undone by `jest.restoreAllMocks()`. With `clock`, the offset of a `Date.now` the test already
 * mocks as real time + `clock.offset`: the jump is added to it and stays when the returned spy
 * (of the DynamoDB stand-in's fault decisions) is restored, so time never runs back.
 */
export function jumpClockOnWrite(
  world: FanoutWorld,
  matches: (operation: string, body: string) => boolean,
  byMs: number,
  every = false,
  clock?: { offset: number },
): jest.SpyInstance {
  const own = { offset: 0 };
  if (!clock) {
    const realNow = Date.now.bind(Date);
    jest.spyOn(Date, "now").mockImplementation(() => realNow() + own.offset);
  }
  const moved = clock ?? own;
  let jumped = false;
  const faults = world.standins.dynamo.faults;
  const decide = faults.decide.bind(faults);
  return jest.spyOn(faults, "decide").mockImplementation((op: string, body: string) => {
    if (matches(op, body) && (every || !jumped)) {
      moved.offset += byMs;
      jumped = true;
    }
    return decide(op, body);
  });
}
