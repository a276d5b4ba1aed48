/** The fan-out's CloudWatch metrics (EMF lines; names and dimensions in ../telemetry.ts). */
import { emitMetrics, type MetricPoint } from "../telemetry";
import type { Notification } from "../types";
import type { ChannelStatus, Delivery } from "./plan";

/** One `Rejected` count for an event that could not be parsed, by reason kind. */
export function emitRejected(reasonKind: string): void {
  emitMetrics([{ name: "Rejected", value: 1, unit: "Count", dimensions: { Reason: reasonKind } }]);
}

/** One `Suppressed` count per channel a downtime window held back. */
export function emitSuppressed(n: Notification, suppressed: Delivery[]): void {
  emitMetrics(
    suppressed.map((d) => ({
      name: "Suppressed",
      value: 1,
      unit: "Count",
      dimensions: { Channel: d.channel },
    })),
    { eventId: n.eventId },
  );
}

/**
 * Per channel: one `Sent`, `Deduplicated` or `Failed` (failed and abandoned) count, and for a
 * sent message its `DispatchLatency` (ms from the event's time to now, when that time parses).
 */
export function deliveryMetrics(
  outcomes: Array<{ channel: string; status: ChannelStatus }>,
  latencyMs: number,
): MetricPoint[] {
  return outcomes.flatMap((o): MetricPoint[] => {
    const name =
      o.status === "sent" ? "Sent" : o.status === "deduplicated" ? "Deduplicated" : "Failed";
    return [
      { name, value: 1, unit: "Count", dimensions: { Channel: o.channel } },
      ...(o.status === "sent" && Number.isFinite(latencyMs)
        ? [
            {
              name: "DispatchLatency" as const,
              value: latencyMs,
              unit: "Milliseconds" as const,
              dimensions: { Channel: o.channel },
            },
          ]
        : []),
    ];
  });
}

/** Emits {@link deliveryMetrics} of `n`'s deliveries, latency measured from `n.time` to now. */
export function emitDelivered(
  n: Notification,
  outcomes: Array<{ channel: string; status: ChannelStatus }>,
): void {
  const latency = Date.now() - Date.parse(n.time);
  emitMetrics(deliveryMetrics(outcomes, latency), { eventId: n.eventId, notificationId: n.id });
}
