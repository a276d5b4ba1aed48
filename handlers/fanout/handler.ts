/**
 * The fan-out's batch loop: parse every record of an SQS batch, record what cannot be parsed,
 * process the rest (record.ts) and report the records to retry as partial batch failures
 * (ReportBatchItemFailures), so SQS redelivers only those.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { requireEnv, secretJson } from "../aws";
import { parseEventBridgeEvent, type CodePipelineEvent } from "../events";
import { UNKNOWN_PIPELINE } from "../store/audit";
import { createLogger, invocationFields } from "../telemetry";
import { ENV, type ChannelSecrets, type RuntimeConfig } from "../types";
import { auditQuietly, describe, type Invocation } from "./invocation";
import { emitRejected } from "./metrics";
import { processRecord } from "./record";
import { isReminderScan, scanRecord } from "../reminders";

/** Safety margin kept from the Lambda's remaining time (ms). */
const DEADLINE_MARGIN_MS = 3000;
/** Remaining time assumed when the context does not tell (ms). */
const DEFAULT_REMAINING_MS = 60_000;

/** A parsed record, queued behind the earlier records of its pipeline. */
interface Parsed {
  record: SQSRecord;
  ev: CodePipelineEvent;
}

/**
 * Handles one SQS batch for the stack's `config`. Records of one pipeline run in order (a failure
 * before its resolving success); different pipelines run concurrently. Malformed or foreign
 * records are audited and dropped, never retried in a loop. Never throws: a record that fails
 * unexpectedly is reported for redelivery, and the DLQ catches what keeps failing.
 */
export async function handleBatch(
  config: RuntimeConfig,
  event: SQSEvent,
  context?: Context,
): Promise<SQSBatchResponse> {
  const inv = startInvocation(config, context);
  const byPipeline: Record<string, Parsed[]> = {};
  const scans: SQSRecord[] = [];
  for (const record of event.Records ?? []) {
    // The schedule rule's approval reminder scan (handlers/reminders), not a CodePipeline event.
    if (isReminderScan(record.body)) {
      scans.push(record);
      continue;
    }
    const ev = await parseOrReject(inv, record);
    if (ev) (byPipeline[ev.pipeline] ??= []).push({ record, ev });
  }
  const failures: string[] = [];
  await Promise.all([
    ...scans.map(async (record) => {
      if (!(await scanRecord(inv, record))) failures.push(record.messageId);
    }),
    ...Object.values(byPipeline).map(async (items) => {
      for (const { record, ev } of items) {
        if (!(await runRecord(inv, record, ev))) failures.push(record.messageId);
      }
    }),
  ]);
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

/** The invocation's deadline, logger, secrets (read once, on first need) and SNS topics. */
function startInvocation(config: RuntimeConfig, context: Context | undefined): Invocation {
  const remaining = context?.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS;
  const pending: { secrets?: Promise<ChannelSecrets> } = {};
  return {
    config,
    deadline: Date.now() + remaining - DEADLINE_MARGIN_MS,
    log: createLogger({ service: "fanout", ...invocationFields(context) }),
    secrets: () =>
      (pending.secrets ??= secretJson<ChannelSecrets>(requireEnv(ENV.channelSecretsArn))),
    // The SNS topic of each sms/email channel, read once per invocation.
    topics: JSON.parse(process.env[ENV.channelTopics] || "{}") as Record<string, string>,
  };
}

/** The record's event; undefined (after logging, auditing and counting why) when it is unusable. */
async function parseOrReject(
  inv: Invocation,
  record: SQSRecord,
): Promise<CodePipelineEvent | undefined> {
  const parsed = parseEventBridgeEvent(record.body);
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

/** Processes one record and logs how it ended; false when SQS should deliver it again. */
async function runRecord(
  inv: Invocation,
  record: SQSRecord,
  ev: CodePipelineEvent,
): Promise<boolean> {
  const started = Date.now();
  try {
    const outcome = await processRecord(inv, record, ev);
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
    // An unexpected error (DynamoDB down, a bug): let SQS redeliver; the DLQ catches what keeps
    // failing, and its alarm pages the ops email.
    inv.log.error("record failed", {
      messageId: record.messageId,
      eventId: ev.id,
      error: describe(err),
    });
    return false;
  }
}
