/**
 * Structured JSON logs and CloudWatch embedded-metric-format (EMF) metrics, written straight to
 * stdout as one JSON object per line: CloudWatch Logs parses them, and EMF lines become metrics
 * without any API call (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 *
 * The one logger of both Lambdas. Its lines use the field names and level names of Powertools for
 * AWS Lambda (TypeScript) Logger (`level` "INFO", `message`, `timestamp`, `service`, `cold_start`,
 * `function_request_id`; https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/),
 * so dashboards and queries keep working if the Lambdas later switch to Powertools. Hand-written
 * instead of Powertools Logger + Metrics: the two packages would add about 2.6 MB to every archive
 * and their load time to every cold start, for the ~100 lines below.
 */
import type { Context } from "aws-lambda";
import type { Logger } from "./channels/types";
import { METRICS_NAMESPACE, type MetricName } from "./contracts/metrics";

/** The EMF namespace of the notifier's metrics (contracts/metrics.ts, read by the alarms too). */
export { METRICS_NAMESPACE };

/** Powertools' log levels; `SILENT` writes nothing. */
export type LogLevel = "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "CRITICAL" | "SILENT";

/** Powertools' numeric thresholds: a line is written when its level's is at least the logger's. */
const LOG_LEVEL_THRESHOLD: Readonly<Record<LogLevel, number>> = {
  TRACE: 6,
  DEBUG: 8,
  INFO: 12,
  WARN: 16,
  ERROR: 20,
  CRITICAL: 24,
  SILENT: 28,
};

/** Keys the logger writes itself; a caller's field of the same name is dropped (as Powertools does). */
const RESERVED_KEYS = ["level", "message", "timestamp"];

/** Powertools' `service` when none is configured. */
const DEFAULT_SERVICE = "service_undefined";

function asLogLevel(raw: string | undefined): LogLevel | undefined {
  const name = raw?.trim().toUpperCase();
  // Lambda's advanced logging controls know FATAL, which Powertools maps to CRITICAL.
  const level = name === "FATAL" ? "CRITICAL" : name;
  return level !== undefined && Object.prototype.hasOwnProperty.call(LOG_LEVEL_THRESHOLD, level)
    ? (level as LogLevel)
    : undefined;
}

/**
 * The log level from the environment, in Powertools' order: `AWS_LAMBDA_LOG_LEVEL` (set by
 * Lambda's advanced logging controls, https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html),
 * then `POWERTOOLS_LOG_LEVEL`, else INFO. Case-insensitive; an unknown value is ignored.
 */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  return asLogLevel(env.AWS_LAMBDA_LOG_LEVEL) ?? asLogLevel(env.POWERTOOLS_LOG_LEVEL) ?? "INFO";
}

/** The per-invocation fields a handler gives its logger: see {@link invocationFields}. */
export interface InvocationFields {
  /** True on the first invocation of this execution environment. */
  cold_start: boolean;
  /** The Lambda request id (`context.awsRequestId`). */
  function_request_id?: string;
}

// Module state lives in a const object (handlers/README.md rule 3).
const environment = { coldStart: true };

/**
 * `cold_start` and `function_request_id` of the current invocation, for
 * `createLogger({ service, ...invocationFields(context) })`. Call it once per invocation, at the
 * top of the handler: the first call in an execution environment is the cold start.
 */
export function invocationFields(context?: Pick<Context, "awsRequestId">): InvocationFields {
  const coldStart = environment.coldStart;
  environment.coldStart = false;
  return { cold_start: coldStart, function_request_id: context?.awsRequestId };
}

/** The logger of {@link createLogger}: the drivers' {@link Logger}, plus `debug` and `child`. */
export interface TelemetryLogger extends Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines also carry `extra`. */
  child(extra: Record<string, unknown>): TelemetryLogger;
}

function write(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + "\n");
}

/**
 * A logger whose every line carries `fields` (e.g. `service`, the invocation fields, the event
 * id and pipeline). One JSON line per call on stdout, keys in Powertools' order: `level`
 * (DEBUG/INFO/WARN/ERROR), `message`, `timestamp` (ISO 8601, UTC, ms), `service` (else
 * `POWERTOOLS_SERVICE_NAME`, else `service_undefined`), `cold_start`, `function_request_id`, then the fields. Lines below
 * {@link logLevelFromEnv} (read when the logger is made) are not written.
 */
export function createLogger(fields: Record<string, unknown> = {}): TelemetryLogger {
  const threshold = LOG_LEVEL_THRESHOLD[logLevelFromEnv()];
  const log =
    (level: "DEBUG" | "INFO" | "WARN" | "ERROR") =>
    (message: string, extra?: Record<string, unknown>): void => {
      if (LOG_LEVEL_THRESHOLD[level] < threshold) return;
      const all: Record<string, unknown> = { ...fields, ...(extra ?? {}) };
      for (const key of RESERVED_KEYS) delete all[key];
      const { service, cold_start, function_request_id, ...rest } = all;
      write({
        level,
        message,
        timestamp: new Date().toISOString(),
        service: service ?? (process.env.POWERTOOLS_SERVICE_NAME || DEFAULT_SERVICE),
        cold_start,
        function_request_id,
        ...rest,
      });
    };
  return {
    debug: log("DEBUG"),
    info: log("INFO"),
    warn: log("WARN"),
    error: log("ERROR"),
    child: (extra) => createLogger({ ...fields, ...extra }),
  };
}

/** One metric data point with its dimensions. */
export interface MetricPoint {
  /** A name of contracts/metrics.ts `METRIC`. */
  name: MetricName;
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
