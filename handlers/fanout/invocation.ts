/** What one invocation of the fan-out shares among its records, and its safe audit write. */
import type { Logger } from "../channels/types";
import { LOCAL_OVERRUN_FLOOR_MS, roundTripTimeoutMs, scaledMs } from "../http";
import { putAudit, type AuditRecord } from "../store/audit";
import type { TelemetryLogger } from "../telemetry";
import type { ChannelSecrets, RuntimeConfig } from "../types";

/** The per-invocation context of every record of a batch. */
export interface Invocation {
  /** The stack's runtime config, captured at deploy time. */
  config: RuntimeConfig;
  /** Epoch ms by which every delivery must be done: the Lambda's deadline minus a margin. */
  deadline: number;
  /** The channel secrets, read at most once per invocation (cached per cold start). */
  secrets: () => Promise<ChannelSecrets>;
  /** The SNS topic ARN of each sms and email channel, by channel name. */
  topics: Record<string, string>;
  /** The invocation's logger (service, cold start, request id). */
  log: TelemetryLogger;
  /**
   * Digest flushes this invocation has queued, by digest id (issue 11, fanout/grouping.ts): one
   * flush message per (channel, window) per invocation. Set on first use.
   */
  digestFlushes?: Record<string, Promise<void>>;
}

/**
 * How long after {@link Invocation.deadline} the ledger's marks (mark-sent, mark-failed) may still
 * be retried, ms (scaled with the sandbox's time): part of the handler's 3 s margin
 * (handler.ts `DEADLINE_MARGIN_MS`), which exists for this bookkeeping. A mark-sent cut short
 * leaves a delivered slot `sending`, and the next receive would send it again (issue 12).
 */
export const MARK_GRACE_MS = 2000;

/**
 * How long after {@link Invocation.deadline} a delivery claim's lease lasts, ms (scaled): the
 * handler's 3 s margin, after which Lambda has stopped the invocation (its timeout), plus 2 s for
 * clock skew between execution environments. Until then no other receive may take the slot over:
 * the invocation that holds it may still be sending or marking it. SQS redelivers a failed record
 * only after the visibility timeout (at least the function timeout), so the lease never delays a
 * retry; it only stops a concurrent or overrunning receive from sending a second time.
 */
export const LEASE_AFTER_DEADLINE_MS = 5000;

/** Epoch ms until which the ledger's marks are retried ({@link MARK_GRACE_MS}). */
export function markDeadline(inv: Pick<Invocation, "deadline">): number {
  return inv.deadline + scaledMs(MARK_GRACE_MS);
}

/**
 * Epoch ms until which a delivery claim made by `inv` holds ({@link LEASE_AFTER_DEADLINE_MS},
 * scaled, but under a scaled clock never less than the local Lambda's real-time overrun,
 * http.ts `LOCAL_OVERRUN_FLOOR_MS`).
 */
export function claimLease(inv: Pick<Invocation, "deadline">): number {
  return inv.deadline + roundTripTimeoutMs(LEASE_AFTER_DEADLINE_MS, LOCAL_OVERRUN_FLOOR_MS);
}

/** An error's message, or the thrown value as text. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Writes an audit record with the stack's retention; a failed write is logged, never thrown:
 * the audit trail must not turn a delivered message into a retry (and a duplicate).
 */
export async function auditQuietly(
  inv: Pick<Invocation, "config">,
  record: AuditRecord,
  log: Logger,
): Promise<void> {
  try {
    await putAudit(record, inv.config.auditRetentionDays);
  } catch (err: unknown) {
    log.error("audit write failed", { action: record.action, error: describe(err) });
  }
}
