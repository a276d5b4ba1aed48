/**
 * The digest-flush message (issue 11 grouping): the fan-out puts it on its own events queue
 * (fanout/requeue.ts), delayed to the end of a grouping window plus a few seconds, when it
 * groups a notification into that window's digest; when it arrives, the fan-out sends the digest
 * (fanout/digest-flush.ts). Its body is a small JSON object marked like the scheduled messages
 * (contracts/scheduled.ts `SCHEDULED_FIELD`), so it is never taken for a CodePipeline event:
 * `{"deploy-notifier":"digest-flush","channel":"slack-eng","windowStart":1764500000000,"windowMs":60000}`.
 * Duplicates are harmless: the digest has its own ledger slot. A flush whose digest went out but
 * whose `sent` mark failed for good comes back with `sent` (issue 12): the mark to finish, with
 * the receipt it got (fanout/digest-flush.ts), never a second send.
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
  /** The digest was sent and only its `sent` mark is left to write (store/digest-record.ts). */
  sent?: DigestSentMark;
}

/** A digest sent whose `sent` mark is left to write: the claim that sent it and its receipt. */
export interface DigestSentMark {
  /** The claim that sent it (store/ledger.ts `claimDelivery`'s `claimId`). */
  claimId: string;
  /** The receiver's receipt id (`-` when it gave none), at most {@link MAX_RECEIPT_CHARS}. */
  receiptId: string;
  /** The send may repeat an earlier one (recorded as store/marks.ts `markSent` does). */
  ambiguous: boolean;
  /** The digest was sent shortened after a size refusal (fanout/digest-send.ts). */
  shortened?: boolean;
}

/** Characters of a receipt id a flush message carries (the body stays under 1000). */
export const MAX_RECEIPT_CHARS = 200;

/** `v` as a {@link DigestSentMark}; undefined when it is not one. */
function sentMarkOf(v: unknown): DigestSentMark | undefined {
  const m = v as Partial<DigestSentMark> | null;
  if (!m || typeof m !== "object" || typeof m.claimId !== "string") return undefined;
  if (typeof m.receiptId !== "string" || typeof m.ambiguous !== "boolean") return undefined;
  return {
    claimId: m.claimId,
    receiptId: m.receiptId.slice(0, MAX_RECEIPT_CHARS),
    ambiguous: m.ambiguous,
    ...(m.shortened === true && { shortened: true }),
  };
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
    const { channel, windowStart, windowMs, sent } = p;
    if (typeof channel !== "string" || channel === "") return undefined;
    if (typeof windowStart !== "number" || !Number.isFinite(windowStart)) return undefined;
    if (typeof windowMs !== "number" || !(windowMs > 0)) return undefined;
    // A malformed `sent` is left out: the flush then runs as any other (its claim decides).
    const mark = sentMarkOf(sent);
    return { channel, windowStart, windowMs, ...(mark && { sent: mark }) };
  } catch {
    return undefined;
  }
}

/** Whether an SQS message body is a digest-flush message. */
export function isDigestFlush(body: string | undefined): boolean {
  return parseDigestFlush(body) !== undefined;
}
