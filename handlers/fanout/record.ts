/**
 * One parsed event of a batch, end to end: plan (plan.ts) → collapse into the outcome's message →
 * enrich (CodePipeline API, time-bounded; the delivery claims run meanwhile: early.ts) → quiet
 * hours → deliver to every channel concurrently (deliver.ts) → settle: done, retry the failed
 * channels on redelivery, or park in the DLQ.
 * Every decision is an audit item; nothing ends silently.
 */
import type { SQSRecord } from "aws-lambda";
import { enrich } from "../enrich";
import type { CodePipelineEvent } from "../events";
import { pipelineKeyOf } from "../contracts/pipeline-id";
import { slackRejection } from "../store/decision-reads";
import { pipelineFields, type AuditRecord } from "../store/audit";
import { claimOutcome } from "../store/outcome";
import type { TelemetryLogger } from "../telemetry";
import { ENV, type Notification, type PipelineRule } from "../types";
import { deadLetter } from "./dead-letter";
import { deliver, type ChannelOutcome } from "./deliver";
import { mayHaveTakenIncidents, resolveDeliveries } from "./incident";
import { defer, RATE_LIMITED_REASON, slotsOf } from "./deferral";
import { startEarly } from "./early";
import { OUTCOME_TURN, UNORDERED, type ChannelTurns } from "./order";
import { auditQuietly, type Invocation } from "./invocation";
import { emitDelivered, emitSuppressed } from "./metrics";
import {
  applyDowntime,
  applySlackRejection,
  claimsOutcome,
  collapsesInto,
  deliveriesFor,
  mayBeSlackRejection,
  noteRolledBackFailure,
  outcomeAttempt,
  planRecord,
  resolvingChannels,
  settleRecord,
  type Delivery,
} from "./plan";

/** What became of one record. */
export interface RecordOutcome {
  status:
    | "delivered"
    | "suppressed"
    | "collapsed"
    | "rejected-input"
    | "ignored"
    | "retry"
    | "dead-letter";
  notificationId?: string;
  channels: ChannelOutcome[];
  /** Where the time went (ms), for the logs. */
  timings?: Record<string, number>;
}

/** 1 delivery + 3 retries: the fan-out's own last receive (MAX_RECEIVE_COUNT; the queue's maxReceiveCount is one more, infra/settings.ts). */
const DEFAULT_MAX_RECEIVES = 4;

/** Audit fields shared by every record about one event. */
type EventBase = Pick<AuditRecord, "pipeline" | "account" | "region"> & {
  executionId: string;
  eventId: string;
};

/**
 * Processes one parsed event. Resolves with what became of it (`retry`: report the record as a
 * batch item failure); throws on an unexpected error (DynamoDB down, a bug), which is retried too.
 */
export async function processRecord(
  inv: Invocation,
  record: SQSRecord,
  ev: CodePipelineEvent,
  turns: ChannelTurns = UNORDERED,
): Promise<RecordOutcome> {
  const log = inv.log.child({
    eventId: ev.id,
    pipeline: ev.pipeline,
    executionId: ev.executionId,
    messageId: record.messageId,
  });
  const plan = planRecord(ev, inv.config);
  if (plan.kind === "ignore") {
    if (plan.logMessage) log.info(plan.logMessage);
    return { status: "ignored", notificationId: plan.notificationId, channels: [] };
  }
  const { rule, notification: n } = plan;
  const base: EventBase = { ...pipelineFields(ev), executionId: ev.executionId, eventId: ev.id };
  const nlog = log.child({ notificationId: n.id, kind: n.kind });
  // Started at once, not as sequential round trips before the first send (issue 12): the outcome
  // claim, the enrichment, the open PagerDuty incidents a success resolves, and the channel
  // secrets (see prepare for the Slack rejection). Enrichment can only narrow the channels (a
  // failure found to be a rejection never pages), so nothing to send before it means no
  // CodePipeline calls and no secret read (e.g. a prod success with no open incident). A
  // collapsed event's enrichment is wasted: at most two extra CodePipeline reads per failure.
  const sends = deliveriesFor(n, rule, inv.config).length > 0;
  // In batch order per pipeline (order.ts): the first failure of an execution owns its message.
  const owner = claimsOutcome(n)
    ? turns
        .turn(OUTCOME_TURN)
        .then(() =>
          claimOutcome(
            pipelineKeyOf(n),
            n.executionId,
            "FAILED",
            n.id,
            inv.config.auditRetentionDays,
            outcomeAttempt(n),
            inv.deadline,
          ).finally(() => turns.release(OUTCOME_TURN)),
        )
    : undefined;
  const secrets = sends ? inv.secrets() : undefined;
  const prepared = prepare(n, rule, inv, sends, turns, mayHaveTakenIncidents(record));
  // Settled below or dropped with the record; never an unhandled rejection.
  secrets?.catch(() => undefined);
  prepared.catch(() => undefined);
  const into = owner === undefined ? undefined : collapsesInto(n, await owner);
  if (into !== undefined) {
    await collapsed(inv, n, into, base, nlog);
    return { status: "collapsed", notificationId: into, channels: [] };
  }
  // The deliveries known now claim their slots while the enrichment runs (fanout/early.ts); none
  // sends before it: it decides what a page says, and whether a FAILED pages at all.
  const t1 = Date.now();
  const early = startEarly(
    inv.config,
    turns,
    sends ? applyDowntime(inv.config, n, deliveriesFor(n, rule, inv.config)).toSend : [],
    (d, gate) => deliver(inv, n, d, gate, nlog, slotsOf(record)[d.channel]),
  );
  const { resolves, enrichMs } = await prepared.catch(async (err: unknown) => {
    await early.abandon("the record failed before its enrichment was done", err);
    throw err;
  });
  const deliveries = [...deliveriesFor(n, rule, inv.config), ...resolves];
  if (deliveries.length === 0) {
    await early.abandon(`not due once enriched (${n.kind})`);
    nlog.info("ignored: nothing to send for this state");
    return { status: "ignored", notificationId: n.id, channels: [] };
  }
  const quiet = applyDowntime(inv.config, n, deliveries);
  // Later events of the pipeline need not wait for channels this one will not deliver to.
  turns.releaseExcept(quiet.toSend.map((d) => d.channel));
  if (quiet.window) {
    await auditQuietly(
      inv,
      {
        ...base,
        action: "suppressed",
        notificationId: n.id,
        result: `downtime window ${quiet.window.name}`,
        detail: {
          window: quiet.window.name,
          kind: n.kind,
          channels: quiet.suppressed.map((d) => d.channel),
        },
      },
      nlog,
    );
    emitSuppressed(n, quiet.suppressed);
    if (quiet.toSend.length === 0) {
      await early.abandon(`downtime window ${quiet.window.name}`);
      return { status: "suppressed", notificationId: n.id, channels: [] };
    }
  }
  const t2 = Date.now();
  // Every delivery settles (sent and marked, or failed) before the record ends, even when one
  // channel's claim threw: returning early would leave a sibling's send in flight, its slot
  // `sending`, and Lambda freezes what is unfinished when the handler returns (issue 12).
  // Each channel in its turn (order.ts): after this pipeline's earlier events there, and
  // without waiting for their other channels (no head-of-line blocking, issue 11).
  const why = quiet.window ? `downtime window ${quiet.window.name}` : `not due once enriched`;
  const secretsRead = secrets ?? inv.secrets();
  const settledDeliveries = await early.finish(quiet.toSend, secretsRead, `${why} (${n.kind})`);
  const outcomes = settledDeliveries.map((s) => {
    if (s.status === "rejected") throw s.reason;
    return s.value;
  });
  const timings = { enrichMs, prepareMs: t2 - t1, deliverMs: Date.now() - t2 };
  emitDelivered(n, outcomes);
  const settled = await settle(inv, record, n, outcomes, base, nlog);
  if (settled === "done") {
    const status = quiet.window ? "suppressed" : "delivered";
    return { status, notificationId: n.id, channels: outcomes, timings };
  }
  return { status: settled, notificationId: n.id, channels: outcomes };
}

/**
 * What a notification needs before its first send, besides the claims: the enrichment, the
 * PagerDuty resolves of a success, and the Slack rejection it may be. The failed action that
 * enrichment finds decides what a FAILED was (enrich.ts `applyFailedAction`: a rejected
 * approval says so itself); only when it found none (CodePipeline down or slow, nothing listed)
 * is the approval handler's record of a Slack rejection asked for — a Query of the execution's
 * decisions, and only for a stage or pipeline FAILED of a pipeline with Slack approvals (no
 * other can have one). DynamoDB errors are thrown.
 */
async function prepare(
  n: Notification,
  rule: PipelineRule,
  inv: Invocation,
  sends: boolean,
  turns: ChannelTurns,
  redelivered = false,
): Promise<{ resolves: Delivery[]; enrichMs: number }> {
  // The open incidents are read in the PagerDuty channels' turn: after the pipeline's earlier
  // failures in this batch have opened theirs (order.ts).
  const resolving = resolvingChannels(n, rule, inv.config);
  const incidents = Promise.all(resolving.map((c) => turns.turn(c))).then(() =>
    resolveDeliveries(n, rule, inv, redelivered),
  );
  incidents.catch(() => undefined);
  const t0 = Date.now();
  let resolves: Delivery[];
  if (sends) {
    [, resolves] = await Promise.all([enrich(n), incidents]);
  } else {
    resolves = await incidents;
    if (resolves.length > 0) await enrich(n);
  }
  if (mayBeSlackRejection(n) && rule.approvals && n.action === undefined) {
    applySlackRejection(n, await slackRejection(pipelineKeyOf(n), n.executionId));
  }
  noteRolledBackFailure(n, resolves);
  return { resolves, enrichMs: Date.now() - t0 };
}

/**
 * One message per execution, attempt and outcome: the first FAILED event (action, stage or
 * pipeline) of an attempt claims it, and the others of that attempt are folded into it (audited
 * here); a later attempt's failure is a message of its own.
 */
async function collapsed(
  inv: Invocation,
  n: Notification,
  into: string,
  base: EventBase,
  log: TelemetryLogger,
): Promise<void> {
  await auditQuietly(
    inv,
    {
      ...base,
      action: "collapsed",
      notificationId: n.id,
      result: `collapsed into ${into}`,
      detail: { level: n.level, stage: n.stage, action: n.action, attempt: outcomeAttempt(n) },
    },
    log,
  );
}

/**
 * After the deliveries: `done`, `retry` (SQS redelivers the record), or — on the last attempt,
 * or when nothing a retry could fix failed — `dead-letter`: parked in the DLQ with the reasons
 * and audited. Without a configured DLQ it stays `retry`, and SQS's redrive policy has the
 * last word.
 */
async function settle(
  inv: Invocation,
  record: SQSRecord,
  n: Notification,
  outcomesIn: ChannelOutcome[],
  base: EventBase,
  log: TelemetryLogger,
): Promise<"done" | "retry" | "dead-letter"> {
  let outcomes = outcomesIn;
  const receives = Number(record.attributes?.ApproximateReceiveCount ?? "1");
  const maxReceives = Number(process.env[ENV.maxReceiveCount] ?? DEFAULT_MAX_RECEIVES);
  const decision = settleRecord(
    outcomes.map((o) => o.status),
    receives,
    maxReceives,
  );
  // Rate-limited deliveries wait for a delayed copy of the record (deferral.ts), never toward
  // the DLQ; past the deferral bound they are parked with "receiver kept rate-limiting".
  if (decision === "done" && outcomes.some((o) => o.status === "deferred")) {
    const deferred = await defer(record, outcomes, log);
    if (deferred !== "dead-letter") return deferred;
    outcomes = outcomes.map((o) =>
      o.status === "deferred"
        ? { ...o, status: "abandoned", reason: `${RATE_LIMITED_REASON} (${o.reason ?? ""})` }
        : o,
    );
  } else if (decision !== "dead-letter") return decision;
  if (!(await deadLetter(record, n, outcomes))) return "retry";
  const failed = [
    ...outcomes.filter((o) => o.status === "failed"),
    ...outcomes.filter((o) => o.status === "abandoned"),
  ];
  await auditQuietly(
    inv,
    {
      ...base,
      action: "failed",
      notificationId: n.id,
      result: "sent to the dead-letter queue",
      detail: { receives, channels: failed.map((o) => `${o.channel}: ${o.reason}`) },
    },
    log,
  );
  return "dead-letter";
}
