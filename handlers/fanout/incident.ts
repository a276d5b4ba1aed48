/**
 * One open PagerDuty incident per (PagerDuty channel, pipeline) (issue 11; store/incidents.ts):
 * - before a failure's trigger is sent, the pipeline's open incident is claimed — opened with the
 *   failure's own key when none is open — and the trigger carries its key, so every later failure
 *   of the pipeline is added to the open incident instead of paging again (PagerDuty Events API
 *   v2: "Subsequent alerts with a matching dedup_key deduplicate into the same incident",
 *   support.pagerduty.com/docs/event-management). That claim IS the remembered open incident:
 *   nothing about the incident is written after the send;
 * - a success takes the open incident(s) in the same one write that finds them, and resolves
 *   each (`routing_key`, `event_action: resolve`, `dedup_key`); the next failure opens a new one.
 */
import type { SQSRecord } from "aws-lambda";
import { pagerdutyDedupKey } from "../channels/pagerduty";
import type { Logger } from "../channels/types";
import { pipelineKeyOf } from "../contracts/pipeline-id";
import { claimIncident, takeIncidents, type IncidentClaim } from "../store/incidents";
import type { DeliveryRef } from "../store/ledger";
import { markFailed, writeWithRetries } from "../store/marks";
import type { Notification, PipelineRule } from "../types";
import { deferralsOf } from "./deferral";
import type { ChannelOutcome } from "./deliver";
import { describe, markDeadline, type Invocation } from "./invocation";
import { resolveDelivery, resolvingChannels, type Delivery } from "./plan";

/** Whether `d` is a PagerDuty trigger of a failure (not a resolve). */
export function isPagerDutyTrigger(inv: Invocation, n: Notification, d: Delivery): boolean {
  return (
    inv.config.channels[d.channel]?.type === "pagerduty" &&
    d.resolveDedupKey === undefined &&
    n.kind === "failure"
  );
}

/**
 * For a claimed PagerDuty trigger slot: claims the pipeline's open incident on `d.channel` (one
 * UpdateItem, store/incidents.ts `claimIncident`) and sets `d.dedupKey` to its key, which the
 * send carries. Anything else: nothing (no DynamoDB call). A throttled or failed claim is retried
 * like the ledger's marks (store/marks.ts `writeWithRetries`: up to 5 writes, full-jitter
 * backoff), but only until the invocation's deadline (`inv.deadline`, not the marks' grace: the
 * page still has to be sent after it): DynamoDB throttling (`ProvisionedThroughputExceededException`,
 * `ThrottlingException`, both retryable) must not turn a page into a channel failure (issue 12).
 * The claim is idempotent per notification, so a retry after a write that did land counts
 * nothing twice. When DynamoDB still fails, the slot is given back `failed` (a redelivery retries
 * it) and that outcome is returned: a trigger without the open incident's key could open a
 * second incident.
 */
export async function claimIncidentFor(
  inv: Invocation,
  n: Notification,
  d: Delivery,
  ref: DeliveryRef,
  log: Logger,
): Promise<ChannelOutcome | undefined> {
  if (!isPagerDutyTrigger(inv, n, d)) return undefined;
  try {
    const got: { claim?: IncidentClaim } = {};
    await writeWithRetries(async () => {
      got.claim = await claimIncident(
        d.channel,
        pipelineKeyOf(n),
        { candidateKey: pagerdutyDedupKey(n), executionId: n.executionId, notificationId: n.id },
        inv.config.auditRetentionDays,
      );
    }, inv.deadline);
    const claim = got.claim as IncidentClaim;
    d.dedupKey = claim.dedupKey;
    log.info(claim.opened ? "incident opened" : "added to the open incident", {
      channel: d.channel,
      dedupKey: claim.dedupKey,
      failures: claim.failures,
    });
    return undefined;
  } catch (err: unknown) {
    const reason = `open incident unavailable: ${describe(err)}`;
    await markFailed(ref, reason, false, markDeadline(inv));
    log.error("delivery failed", { channel: d.channel, permanent: false, error: reason });
    return { channel: d.channel, status: "failed", reason };
  }
}

/**
 * Whether an earlier receive of `record` may already have taken the pipeline's incidents: an SQS
 * redelivery (ApproximateReceiveCount > 1) or a deferred copy (fanout/deferral.ts).
 */
export function mayHaveTakenIncidents(record: SQSRecord): boolean {
  return Number(record.attributes?.ApproximateReceiveCount ?? "1") > 1 || deferralsOf(record) > 0;
}

/**
 * PagerDuty resolves for a success: on each PagerDuty channel of the tier, the pipeline's open
 * incident (and, migration, every key of a pre-issue-11 `dedupKeys` set), taken in one write per
 * channel (store/incidents.ts `takeIncidents`). `redelivered`: {@link mayHaveTakenIncidents}.
 */
export async function resolveDeliveries(
  n: Notification,
  rule: PipelineRule,
  inv: Invocation,
  redelivered = false,
): Promise<Delivery[]> {
  const channels = resolvingChannels(n, rule, inv.config);
  const taken = await Promise.all(
    channels.map((c) => takeIncidents(c, pipelineKeyOf(n), n.id, redelivered)),
  );
  return channels.flatMap((channel, i) =>
    taken[i].map((t) => resolveDelivery(channel, t.dedupKey, t.lastExecution)),
  );
}
