/**
 * The fan-out's CloudWatch metrics, as one contract read by both sides: the handler emits them as
 * EMF lines (handlers/telemetry.ts, handlers/fanout/metrics.ts) and the alarms (infra/alarms.ts)
 * watch them. A CloudWatch metric is identified by namespace, name and the exact set of dimension
 * names and values; an alarm whose dimensions differ from what is emitted watches a metric that
 * never receives data (CloudWatch user guide, "Metrics concepts" → "Dimensions": "Each unique
 * combination of dimensions is a separate metric"). So neither side spells these strings itself.
 */

/** The EMF namespace of every notifier metric. */
export const METRICS_NAMESPACE = "DeployNotifier";

/** Metric names (all `Count`s except `DispatchLatency`, in milliseconds). */
export const METRIC = {
  /** A channel delivered a notification. Dimension {@link DIMENSION.channel}. */
  sent: "Sent",
  /** A channel's delivery failed (retryable or permanent). Dimension {@link DIMENSION.channel}. */
  failed: "Failed",
  retried: "Retried",
  /** A downtime window held a channel's message back. Dimension {@link DIMENSION.channel}. */
  suppressed: "Suppressed",
  /** The ledger found the message already sent. Dimension {@link DIMENSION.channel}. */
  deduplicated: "Deduplicated",
  /**
   * A channel delivered a notification that an earlier attempt may already have delivered (its
   * reply was lost; the record says `ambiguous`): a possible duplicate message on a receiver
   * without idempotency (README "Exactly once"). Dimension {@link DIMENSION.channel}.
   */
  possibleDuplicate: "PossibleDuplicate",
  /**
   * An input that is not a usable CodePipeline event, counted twice: once by reason kind
   * ({@link DIMENSION.reason}) and once under {@link FANOUT_DIMENSIONS} (the sum the alarm reads).
   */
  rejected: "Rejected",
  /** Ms from the event's time to the channel's acceptance. Dimension {@link DIMENSION.channel}. */
  dispatchLatency: "DispatchLatency",
  /** The fan-out sent a message to the DLQ itself (with its reason). {@link FANOUT_DIMENSIONS}. */
  deadLettered: "DeadLettered",
  /**
   * A record failed with an error of an AWS service the fan-out depends on (DynamoDB, Secrets
   * Manager), not of a channel. Dimension {@link DIMENSION.service} ({@link FAILING_SERVICES}).
   */
  bookkeepingFailed: "BookkeepingFailed",
  /** The scheduled heartbeat reached the fan-out. {@link FANOUT_DIMENSIONS}. */
  heartbeat: "Heartbeat",
} as const;

/** A metric name of {@link METRIC}. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Dimension names. */
export const DIMENSION = {
  /** The channel instance's name in the stack config (e.g. `slack-eng`). */
  channel: "Channel",
  /** Why an input was rejected (`malformed`, `foreign`, …). */
  reason: "Reason",
  /** Which dependency failed: a value of {@link FAILING_SERVICES}. */
  service: "Service",
  /** The emitting function: always {@link FANOUT_DIMENSIONS}' value. */
  component: "Component",
} as const;

/**
 * The one dimension set of the fan-out's whole-function counts (DLQ sends, heartbeats, rejected
 * inputs in sum). Every metric carries at least one dimension, so no alarm depends on how an
 * empty EMF dimension set is read.
 */
export const FANOUT_DIMENSIONS: Readonly<Record<string, string>> = {
  [DIMENSION.component]: "fanout",
};

/** The `Service` values of {@link METRIC.bookkeepingFailed}, one alarm each. */
export const FAILING_SERVICES = {
  dynamodb: "DynamoDB",
  secretsManager: "Secrets Manager",
  /** An error no AWS service claims (a network error, a bug). */
  other: "other",
} as const;

/** A value of {@link FAILING_SERVICES}. */
export type FailingService = (typeof FAILING_SERVICES)[keyof typeof FAILING_SERVICES];
