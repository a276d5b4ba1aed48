/**
 * The digest-flush message (issue 11 grouping): the fan-out puts it on its own events queue
 * (fanout/requeue.ts), delayed to the end of a grouping window plus a few seconds, when it
 * groups a notification into that window's digest; when it arrives, the fan-out sends the digest
 * (fanout/digest-flush.ts). Its body is a small JSON object marked like the scheduled messages
 * (contracts/scheduled.ts `SCHEDULED_FIELD`), so it is never taken for a CodePipeline event:
 * `{"deploy-notifier":"digest-flush","channel":"slack-eng","windowStart":1764500000000,"windowMs":60000}`.
 * Duplicates are harmless: the digest has its own ledger slot.
 */
import { SCHEDULED_FIELD } from "./scheduled";

/** The marker value of a digest-flush message. */
export const DIGEST_FLUSH_KIND = "digest-flush";

/** What a digest-flush message names. */
export interface DigestFlush {
  /** Channel instance name. */
  channel: string;
  /** Start of the grouping window, epoch ms (the fan-out's clock, scaled in the sandbox). */
  windowStart: number;
  /** Length of the window, ms (same clock). */
  windowMs: number;
}

/** The message body of `f`. */
export function digestFlushBody(f: DigestFlush): string {
  return JSON.stringify({ [SCHEDULED_FIELD]: DIGEST_FLUSH_KIND, ...f });
}

/**
 * The flush an SQS message body asks for; undefined when it is not one (or is malformed). Bodies
 * over 1000 characters never are.
 */
export function parseDigestFlush(body: string | undefined): DigestFlush | undefined {
  if (!body || body.length > 1000 || !body.includes(DIGEST_FLUSH_KIND)) return undefined;
  try {
    const p = JSON.parse(body) as Record<string, unknown> | null;
    if (!p || typeof p !== "object" || p[SCHEDULED_FIELD] !== DIGEST_FLUSH_KIND) return undefined;
    const { channel, windowStart, windowMs } = p;
    if (typeof channel !== "string" || channel === "") return undefined;
    if (typeof windowStart !== "number" || !Number.isFinite(windowStart)) return undefined;
    if (typeof windowMs !== "number" || !(windowMs > 0)) return undefined;
    return { channel, windowStart, windowMs };
  } catch {
    return undefined;
  }
}

/** Whether an SQS message body is a digest-flush message. */
export function isDigestFlush(body: string | undefined): boolean {
  return parseDigestFlush(body) !== undefined;
}
