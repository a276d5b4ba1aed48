/** What one invocation of the fan-out shares among its records, and its safe audit write. */
import type { Logger } from "../channels/types";
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
