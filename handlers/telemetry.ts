/**
 * Structured JSON logs and CloudWatch embedded-metric-format (EMF) metrics, written straight to
 * stdout as one JSON object per line: CloudWatch Logs parses them, and EMF lines become metrics
 * without any API call (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 *
 * Hand-written instead of Powertools Logger + Metrics: the two packages would add about 2.6 MB
 * to every archive and their load time to every cold start, for the ~60 lines below.
 */
import type { Logger } from "./channels/types";

/** The EMF namespace of the notifier's metrics. */
export const METRICS_NAMESPACE = "DeployNotifier";

type Level = "debug" | "info" | "warn" | "error";

function write(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + "\n");
}

/** A logger whose every line carries `fields` (e.g. the event id and pipeline). */
export function createLogger(fields: Record<string, unknown> = {}): Logger & {
  child(extra: Record<string, unknown>): ReturnType<typeof createLogger>;
} {
  const log = (level: Level) => (message: string, extra?: Record<string, unknown>) =>
    write({ level, message, timestamp: new Date().toISOString(), ...fields, ...(extra ?? {}) });
  return {
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (extra) => createLogger({ ...fields, ...extra }),
  };
}

/** One metric data point with its dimensions. */
export interface MetricPoint {
  name:
    "Sent" | "Failed" | "Retried" | "Suppressed" | "Deduplicated" | "Rejected" | "DispatchLatency";
  value: number;
  unit: "Count" | "Milliseconds";
  dimensions: Record<string, string>;
}

/** Emits metric points as EMF documents (one per dimension set). */
export function emitMetrics(points: MetricPoint[], properties: Record<string, unknown> = {}): void {
  const groups: Record<string, MetricPoint[]> = {};
  for (const p of points) {
    const key = JSON.stringify(Object.entries(p.dimensions).sort());
    (groups[key] ??= []).push(p);
  }
  for (const group of Object.values(groups)) {
    const dimensions = group[0].dimensions;
    const doc: Record<string, unknown> = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [Object.keys(dimensions)],
            Metrics: group.map((p) => ({ Name: p.name, Unit: p.unit })),
          },
        ],
      },
      ...properties,
      ...dimensions,
    };
    for (const p of group) doc[p.name] = ((doc[p.name] as number | undefined) ?? 0) + p.value;
    write(doc);
  }
}
