/**
 * The fan-out's CloudWatch metrics (EMF lines, ../telemetry.ts). Names, dimensions and the
 * namespace come from ../contracts/metrics.ts, which infra/alarms.ts reads too.
 */
import { DIMENSION, FANOUT_DIMENSIONS, METRIC, type FailingService } from "../contracts/metrics";
import { emitMetrics, type MetricPoint } from "../telemetry";
import type { Notification } from "../types";
import type { ChannelStatus, Delivery } from "./plan";

/**
 * One `Rejected` count for an event that could not be parsed: by reason kind, and once more
 * under the fan-out's own dimension (the total the rejected-inputs alarm watches).
 */
export function emitRejected(reasonKind: string): void {
  emitMetrics([
    {
      name: METRIC.rejected,
      value: 1,
      unit: "Count",
      dimensions: { [DIMENSION.reason]: reasonKind },
    },
    { name: METRIC.rejected, value: 1, unit: "Count", dimensions: { ...FANOUT_DIMENSIONS } },
  ]);
}

/** One `DeadLettered` count: the fan-out parked a record in the DLQ itself, with its reason. */
export function emitDeadLettered(properties: Record<string, unknown> = {}): void {
  emitMetrics(
    [{ name: METRIC.deadLettered, value: 1, unit: "Count", dimensions: { ...FANOUT_DIMENSIONS } }],
    properties,
  );
}

/** One `BookkeepingFailed` count: a record failed on `service` (DynamoDB, Secrets Manager, …). */
export function emitBookkeepingFailed(
  service: FailingService,
  properties: Record<string, unknown> = {},
): void {
  emitMetrics(
    [
      {
        name: METRIC.bookkeepingFailed,
        value: 1,
        unit: "Count",
        dimensions: { [DIMENSION.service]: service },
      },
    ],
    properties,
  );
}

/**
 * A digest's outcome on `channel`: `Sent` (and `PossibleDuplicate` when `ambiguous`) or `Failed`,
 * the points {@link deliveryMetrics} gives a single notification, so the per-channel failure
 * alarm (infra/alarms.ts) sees a failing digest too. No `DispatchLatency`: a digest waits for its
 * window by design, which that figure would read as slowness.
 */
export function emitDigestOutcome(
  channel: string,
  outcome: { status: "sent" | "failed"; ambiguous?: boolean },
  properties: Record<string, unknown>,
): void {
  emitMetrics(deliveryMetrics([{ channel, ...outcome }], Number.NaN), properties);
}

/** One `Heartbeat` count: the scheduled heartbeat travelled rule → queue → fan-out. */
export function emitHeartbeat(properties: Record<string, unknown> = {}): void {
  emitMetrics(
    [{ name: METRIC.heartbeat, value: 1, unit: "Count", dimensions: { ...FANOUT_DIMENSIONS } }],
    properties,
  );
}

/** One `Suppressed` count per channel a downtime window held back. */
export function emitSuppressed(n: Notification, suppressed: Delivery[]): void {
  emitMetrics(
    suppressed.map((d) => ({
      name: METRIC.suppressed,
      value: 1,
      unit: "Count",
      dimensions: { [DIMENSION.channel]: d.channel },
    })),
    { eventId: n.eventId },
  );
}

/**
 * Per channel: one `Sent`, `Deduplicated` or `Failed` (failed and abandoned) count, for a sent
 * message its `DispatchLatency` (ms from the event's time to now, when that time parses), and
 * for a send recorded `ambiguous` one `PossibleDuplicate`.
 */
export function deliveryMetrics(
  outcomes: Array<{ channel: string; status: ChannelStatus; ambiguous?: boolean }>,
  latencyMs: number,
): MetricPoint[] {
  return outcomes.flatMap((o): MetricPoint[] => {
    // Deferred (rate-limited) and grouped deliveries are no failures (issue 11): no metric yet.
    if (o.status === "deferred" || o.status === "grouped") return [];
    const name =
      o.status === "sent"
        ? METRIC.sent
        : o.status === "deduplicated"
          ? METRIC.deduplicated
          : METRIC.failed;
    const dimensions = { [DIMENSION.channel]: o.channel };
    return [
      { name, value: 1, unit: "Count", dimensions },
      ...(o.status === "sent" && o.ambiguous
        ? [{ name: METRIC.possibleDuplicate, value: 1, unit: "Count" as const, dimensions }]
        : []),
      ...(o.status === "sent" && Number.isFinite(latencyMs)
        ? [
            {
              name: METRIC.dispatchLatency,
              value: latencyMs,
              unit: "Milliseconds" as const,
              dimensions,
            },
          ]
        : []),
    ];
  });
}

/** Emits {@link deliveryMetrics} of `n`'s deliveries, latency measured from `n.time` to now. */
export function emitDelivered(
  n: Notification,
  outcomes: Array<{ channel: string; status: ChannelStatus; ambiguous?: boolean }>,
): void {
  const latency = Date.now() - Date.parse(n.time);
  emitMetrics(deliveryMetrics(outcomes, latency), { eventId: n.eventId, notificationId: n.id });
}
