/**
 * The fan-out's batch loop: parse every record of an SQS batch, record what cannot be parsed,
 * process the rest (record.ts) and report the records to retry as partial batch failures
 * (ReportBatchItemFailures), so SQS redelivers only those. A record that fails on its last receive
 * is dead-lettered here with the reason (the failing dependency named), so that SQS's native
 * redrive, which attaches no reason, never has to move it; and the scheduled heartbeat is
 * answered with a `Heartbeat` metric.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { ddb, requireEnv, secretJson } from "../aws";
import { isHeartbeat } from "../contracts/heartbeat";
import { FAILING_SERVICES } from "../contracts/metrics";
import { admitSource, parseEventBridgeEvent, type CodePipelineEvent } from "../events";
import { scaledMs } from "../http";
import { pipelineFields, UNKNOWN_PIPELINE } from "../store/audit";
import { createLogger, invocationFields } from "../telemetry";
import { ENV, type ChannelSecrets, type RuntimeConfig } from "../types";
import {
  deadLetterFailure,
  failureOf,
  isBeyondLastReceive,
  isLastReceive,
  secretValues,
  tagService,
} from "./dead-letter";
import { auditQuietly, type Invocation } from "./invocation";
import { emitBookkeepingFailed, emitHeartbeat, emitRejected } from "./metrics";
import {
  pipelineOrder,
  RECORD_CONCURRENCY,
  runBounded,
  type ChannelTurns,
  type PipelineOrder,
} from "./order";
import { processRecord } from "./record";
import { deadLetterQuietly, parkUnfinished } from "./unfinished";
import { endRequestsOf, isReminderScan, scanRecord } from "../reminders";
import { isDigestFlush } from "../contracts/digest-flush";
import { flushDigestRecord } from "./digest-flush";

/** Safety margin kept from the Lambda's remaining time (ms of AWS time: see `scaledMs`). */
export const DEADLINE_MARGIN_MS = 3000;
/** Remaining time assumed when the context does not tell (ms). */
const DEFAULT_REMAINING_MS = 60_000;

/** Per-cold-start state (handlers/README.md rule 3): whether DynamoDB errors are marked yet. */
const marks = { dynamo: false };

/** An invocation, and the channel secrets once read (for redacting a dependency's error). */
interface Run {
  inv: Invocation;
  knownSecrets: () => string[];
}

/** A parsed record of the batch. */
interface Parsed {
  record: SQSRecord;
  ev: CodePipelineEvent;
}

/**
 * Handles one SQS batch for the stack's `config`. Records run concurrently (at most
 * {@link RECORD_CONCURRENCY} at once); per pipeline and channel they keep batch order (a failure
 * is announced on a channel before its resolving success there: order.ts). Malformed or foreign
 * records are audited and dropped, never retried in a loop. Never throws: a record that fails
 * unexpectedly is reported for redelivery, and the DLQ catches what keeps failing.
 */
export async function handleBatch(
  config: RuntimeConfig,
  event: SQSEvent,
  context?: Context,
): Promise<SQSBatchResponse> {
  const run = startInvocation(config, context);
  const { inv } = run;
  const parsed: Parsed[] = [];
  const scans: SQSRecord[] = [];
  const unfinished: SQSRecord[] = [];
  for (const record of event.Records ?? []) {
    // The heartbeat rule's message (contracts/heartbeat.ts): it made it rule → queue → here.
    if (isHeartbeat(record.body)) {
      beat(inv, record);
      continue;
    }
    // Its previous receive was the fan-out's last and ended without a result (a crash or a
    // timeout): parked with that reason now, before SQS's redrive could move it without one.
    if (isBeyondLastReceive(record)) {
      unfinished.push(record);
      continue;
    }
    // The schedule rule's approval reminder scan (handlers/reminders), not a CodePipeline event.
    if (isReminderScan(record.body)) {
      scans.push(record);
      continue;
    }
    // A digest's flush (issue 11 grouping, digest-flush.ts), due at its window's end.
    if (isDigestFlush(record.body)) {
      scans.push(record);
      continue;
    }
    const ev = await parseOrReject(inv, record);
    if (ev) parsed.push({ record, ev });
  }
  const failures: string[] = [];
  // Every record at once (bounded), in batch order; only (pipeline, channel) stays in order
  // (order.ts): a hanging channel of one event never holds another event's page (issue 11).
  const orders: Record<string, PipelineOrder> = {};
  const tasks = parsed.map(({ record, ev }) => {
    const turns = (orders[ev.pipeline] ??= pipelineOrder()).next();
    return async () => {
      if (!(await runRecord(run, record, ev, turns))) failures.push(record.messageId);
    };
  });
  await Promise.all([
    ...unfinished.map(async (record) => {
      if (!(await parkUnfinished(inv, record))) failures.push(record.messageId);
    }),
    ...scans.map(async (record) => {
      const ok = isDigestFlush(record.body)
        ? await flushDigestRecord(inv, record)
        : await runScan(inv, record);
      if (!ok) failures.push(record.messageId);
    }),
    runBounded(tasks, RECORD_CONCURRENCY),
  ]);
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

/**
 * The invocation's deadline, logger, secrets (read once, on first need; a failed read is marked
 * as Secrets Manager's) and SNS topics.
 */
function startInvocation(config: RuntimeConfig, context: Context | undefined): Run {
  const remaining = context?.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS;
  const pending: { secrets?: Promise<ChannelSecrets>; read?: ChannelSecrets } = {};
  const inv: Invocation = {
    config,
    deadline: Date.now() + remaining - scaledMs(DEADLINE_MARGIN_MS),
    log: createLogger({ service: "fanout", ...invocationFields(context) }),
    secrets: () =>
      (pending.secrets ??= secretJson<ChannelSecrets>(requireEnv(ENV.channelSecretsArn)).then(
        (value) => (pending.read = value),
        (err: unknown) => {
          throw tagService(err, FAILING_SERVICES.secretsManager);
        },
      )),
    // The SNS topic of each sms/email channel, read once per invocation.
    topics: JSON.parse(process.env[ENV.channelTopics] || "{}") as Record<string, string>,
  };
  return { inv, knownSecrets: () => secretValues(pending.read) };
}

/**
 * Marks every error of the DynamoDB client as DynamoDB's, network errors included (a refused
 * connection names no service), once per cold start: a middleware at the start of the client's
 * stack, so it sees the error after the SDK's retries.
 */
function markDynamoErrors(): void {
  if (marks.dynamo) return;
  marks.dynamo = true;
  ddb().middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err: unknown) {
        throw tagService(err, FAILING_SERVICES.dynamodb);
      }
    },
    { step: "initialize", name: "deployNotifierFailingService", priority: "high" },
  );
}

/** The heartbeat: one `Heartbeat` count, with how long it took from the rule to here (ms). */
function beat(inv: Invocation, record: SQSRecord): void {
  const sent = Number(record.attributes?.SentTimestamp);
  const lagMs = Number.isFinite(sent) ? Date.now() - sent : undefined;
  inv.log.info("heartbeat", { messageId: record.messageId, lagMs });
  emitHeartbeat({ messageId: record.messageId, lagMs });
}

/** The record's event; undefined (after logging, auditing and counting why) when it is unusable. */
async function parseOrReject(
  inv: Invocation,
  record: SQSRecord,
): Promise<CodePipelineEvent | undefined> {
  const parsed = admitSource(parseEventBridgeEvent(record.body), inv.config);
  if (parsed.ok) return parsed.event;
  inv.log.warn("rejected input", {
    messageId: record.messageId,
    reason: parsed.reason,
    eventId: parsed.eventId,
  });
  await auditQuietly(
    inv,
    {
      action: "rejected-input",
      pipeline: parsed.pipeline ?? UNKNOWN_PIPELINE,
      ...(parsed.account !== undefined && { account: parsed.account, region: parsed.region }),
      executionId: parsed.executionId,
      eventId: parsed.eventId,
      result: parsed.reason,
      detail: { messageId: record.messageId, kind: parsed.kind },
    },
    inv.log,
  );
  emitRejected(parsed.kind);
  return undefined;
}

/**
 * Runs a reminder scan; false when SQS should deliver it again. A scan that fails on its last
 * receive is dead-lettered with a reason too (the scan logs its error; the next scheduled scan
 * runs anyway), so that no DLQ message ever arrives without one.
 */
async function runScan(inv: Invocation, record: SQSRecord): Promise<boolean> {
  if (await scanRecord(inv, record)) return true;
  if (!isLastReceive(record)) return false;
  const reason =
    "approval reminder scan: failed on every receive (its error is in the fan-out's " +
    '"reminder scan failed" log lines); the next scheduled scan runs anyway';
  return deadLetterQuietly(inv, record, reason);
}

/** Processes one record and logs how it ended; false when SQS should deliver it again. */
async function runRecord(
  run: Run,
  record: SQSRecord,
  ev: CodePipelineEvent,
  turns: ChannelTurns,
): Promise<boolean> {
  const { inv } = run;
  const started = Date.now();
  try {
    // Inside the try: nothing about one record may throw out of the batch loop (issue 12).
    markDynamoErrors();
    // Beside it: a posted approval request this event ended is rewritten (never throws).
    const [outcome] = await Promise.all([
      processRecord(inv, record, ev, turns).finally(() => turns.releaseAll()),
      endRequestsOf(inv, ev, inv.log.child({ messageId: record.messageId, eventId: ev.id })),
    ]);
    inv.log.info("record done", {
      messageId: record.messageId,
      eventId: ev.id,
      status: outcome.status,
      channels: outcome.channels,
      timings: outcome.timings,
      ms: Date.now() - started,
    });
    return outcome.status !== "retry";
  } catch (err: unknown) {
    return failed(run, record, ev, err);
  }
}

/**
 * A record that threw (DynamoDB or Secrets Manager down, a bug): counted under the failing
 * service, and redelivered — except on its last receive, when it is dead-lettered here with the
 * reason and reported processed. Only if that SendMessage fails too does it go back to SQS (whose
 * redrive then moves it without a reason: the DLQ alarm still sees it).
 */
async function failed(
  run: Run,
  record: SQSRecord,
  ev: CodePipelineEvent,
  err: unknown,
): Promise<boolean> {
  const { inv } = run;
  const failure = failureOf(err, run.knownSecrets());
  // Not `service`: that is the logger's own field (the function, "fanout").
  const fields = { messageId: record.messageId, eventId: ev.id, failedService: failure.service };
  inv.log.error("record failed", { ...fields, error: failure.reason });
  emitBookkeepingFailed(failure.service, { messageId: record.messageId, eventId: ev.id });
  if (!isLastReceive(record)) return false;
  try {
    if (!(await deadLetterFailure(record, failure))) return false;
  } catch (sqsErr: unknown) {
    inv.log.error("dead-letter failed", { ...fields, error: failureOf(sqsErr).reason });
    return false;
  }
  inv.log.warn("record dead-lettered", { ...fields, reason: failure.reason });
  await auditQuietly(
    inv,
    {
      ...pipelineFields(ev),
      executionId: ev.executionId,
      eventId: ev.id,
      action: "failed",
      result: "sent to the dead-letter queue",
      detail: { receives: record.attributes?.ApproximateReceiveCount, reason: failure.reason },
    },
    inv.log,
  );
  return true;
}
