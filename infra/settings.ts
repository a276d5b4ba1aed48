/** Timeouts and sizes of the deploy-notifier's resources, with the reason for each. */
import type * as aws from "@pulumi/aws";

/** Timeouts and sizes, with the reason for each. */
export const SETTINGS = {
  runtime: "nodejs22.x" as aws.lambda.Runtime,
  /** The fan-out delivers to every channel concurrently; 5 s per HTTP call, 3 attempts. */
  fanoutTimeoutSeconds: 60,
  /** Acknowledges Slack in < 3 s; the slow CodePipeline part runs in an async self-invocation. */
  approvalTimeoutSeconds: 30,
  memoryMb: 256,
  /**
   * Reserved concurrency of the approval function, which sits behind a public function URL: a
   * flood of unsigned requests can hold at most this many of the account's executions (default
   * quota 1,000), so the fan-out and everything else in the account keep theirs. A signed click
   * takes one execution for under a second and its async self-invocation one more for a few
   * seconds, so 10 serves five people clicking at once; an async invocation throttled by the
   * reservation is retried by Lambda (within `maximumEventAgeInSeconds`), not lost. Lambda keeps
   * 100 executions unreserved: an account whose quota is below 110 cannot deploy this.
   */
  approvalReservedConcurrency: 10,
  /**
   * The fan-out's own last receive (its `MAX_RECEIVE_COUNT`): 1 delivery + 3 retries, then the
   * fan-out itself parks the event in the DLQ with the reason (REFERENCE.md: Lambda). This is
   * the "3 retries" the README promises.
   */
  fanoutLastReceive: 4,
  /**
   * The events queue's redrive `maxReceiveCount`: one more than {@link SETTINGS.fanoutLastReceive}.
   * SQS moves a message to the DLQ when a receive would exceed it, with no reason attached (SQS
   * developer guide, "Using dead-letter queues"); the extra receive happens only when the
   * fan-out's last receive ended without a result (the function crashed or timed out, or its DLQ
   * send failed), and the fan-out then dead-letters the message at once with that reason
   * (handlers/fanout/dead-letter.ts `isBeyondLastReceive`), so no DLQ message lacks one.
   */
  maxReceiveCount: 5,
  /** Lambda developer guide: visibility timeout ≥ 6 × function timeout for SQS sources. */
  visibilityTimeoutSeconds: 6 * 60,
  batchSize: 10,
  /** Slack allows about 1 message per second per channel: keep concurrency low. */
  maxConcurrency: 5,
  /** EventBridge → SQS retries before the event goes to the DLQ. */
  targetMaxRetries: 185,
  targetMaxEventAgeSeconds: 86400,
  /**
   * Minutes between approval reminder scans: a reminder or an expiry is seen at most this late.
   * One scan is one SQS message and a Query of the few pending requests.
   */
  reminderScanMinutes: 15,
  /** EventBridge → SQS retries of a scan; the next scan comes anyway. */
  reminderTargetMaxRetries: 3,
  /**
   * Minutes between two heartbeats (rule → events queue → fan-out → `Heartbeat` metric). The
   * heartbeat alarm fires after {@link SETTINGS.heartbeatMissedPeriods} periods without one;
   * 8,640 SQS messages and fan-out invocations a month, well inside the free tiers.
   */
  heartbeatMinutes: 5,
  /**
   * Heartbeat periods that must all be empty before the heartbeat alarm fires: 3 × 5 = 15
   * minutes. One late heartbeat (EventBridge delivers scheduled events within about a minute, EMF
   * metrics reach CloudWatch a minute or two after the log line) must not page; three in a row
   * mean the chain is broken.
   */
  heartbeatMissedPeriods: 3,
  /** EventBridge → SQS retries of a heartbeat; the next one comes anyway. */
  heartbeatTargetMaxRetries: 3,
  dlqRetentionSeconds: 14 * 86400,
  queueRetentionSeconds: 4 * 86400,
} as const;
