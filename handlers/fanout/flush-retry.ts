/**
 * A digest flush that failed goes back to the events queue as a new, delayed message (issue 12),
 * bounded, then to the DLQ with its reason (fanout/digest-flush.ts); one the channel refused for
 * good goes to the DLQ at once. A flush whose digest went out but whose `sent` mark failed comes
 * back the same way carrying that mark (contracts/digest-flush.ts `sent`): its copy only finishes
 * the mark.
 */
import type { SQSRecord } from "aws-lambda";
import type { Logger } from "../channels/types";
import { digestFlushBody, type DigestFlush } from "../contracts/digest-flush";
import { deadLetter, deadLetterFailure, failureOf } from "./dead-letter";
import { digestSlot } from "./grouping";
import { describe } from "./invocation";
import { MAX_DELAY_SECONDS, requeue } from "./requeue";

/**
 * The message attribute of a flush put back on the queue after a failure: how many times it was
 * (issue 12). A failing flush is never left to SQS's redelivery, whose `maxReceiveCount` would
 * move it to the DLQ with no reason after 4 receives — and the digest, with every notification
 * grouped into it, would be lost (chaos bench: a flush throttled on 4 receives in a row).
 */
export const FLUSH_RETRIES_ATTRIBUTE = "flushRetries";

/**
 * How many times a failing flush is put back on the queue before it is dead-lettered with its
 * reason: 8, waiting {@link flushRetryDelaySeconds} each time (about 36 minutes in all).
 */
export const MAX_FLUSH_RETRIES = 8;

/**
 * The delay of a failed flush's copy after `retries` earlier ones, seconds of AWS time: 10 s
 * doubling, at most SQS's longest `DelaySeconds` (900; SQS API reference, SendMessage).
 */
export function flushRetryDelaySeconds(retries: number): number {
  return Math.min(MAX_DELAY_SECONDS, 10 * 2 ** Math.min(retries, 10));
}

/** How many times the flush `record` was put back after a failure (0 for the first message). */
function flushRetriesOf(record: SQSRecord): number {
  const n = Number(record.messageAttributes?.[FLUSH_RETRIES_ATTRIBUTE]?.stringValue ?? "0");
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/**
 * A flush that failed (DynamoDB, Secrets Manager…) goes back to the queue as a new, delayed
 * message ({@link flushRetryDelaySeconds}), so that SQS's `maxReceiveCount` never moves it to the
 * DLQ without a reason; after {@link MAX_FLUSH_RETRIES} copies it is dead-lettered with its
 * reason. False (SQS redelivers the record) when the queue refuses the copy or no DLQ is set.
 */
export async function retryLater(
  record: SQSRecord,
  f: DigestFlush,
  err: unknown,
  log: Logger,
): Promise<boolean> {
  const retries = flushRetriesOf(record);
  const failure = failureOf(err);
  try {
    if (retries >= MAX_FLUSH_RETRIES) {
      log.error("digest flush given up: dead-lettered", { retries, reason: failure.reason });
      return await deadLetterFailure(record, failure);
    }
    const delaySeconds = flushRetryDelaySeconds(retries);
    await requeue({
      body: digestFlushBody(f),
      delaySeconds,
      attributes: { [FLUSH_RETRIES_ATTRIBUTE]: String(retries + 1) },
    });
    log.warn("digest flush put back", { retries: retries + 1, delaySeconds });
    return true;
  } catch (sqsErr: unknown) {
    log.error("digest flush not put back: left to SQS", { error: describe(sqsErr) });
    return false;
  }
}

/**
 * Dead-letters the flush `record` of a digest the channel refused for good (`reason`, redacted
 * already: a permanent delivery error, after digest-send.ts's shortened attempt for a size
 * refusal), as record.ts does for a single notification: attributes `reason`, `failedChannels`
 * and the digest's id as `notificationId`. False (SQS redelivers the record) when no DLQ is
 * configured or SQS refuses.
 */
export async function deadLetterRefused(
  record: SQSRecord,
  f: DigestFlush,
  reason: string,
  log: Logger,
): Promise<boolean> {
  try {
    const digest = { id: digestSlot(f.channel, f).digestId };
    const parked = await deadLetter(record, digest, [
      { channel: f.channel, status: "abandoned", reason },
    ]);
    if (parked) log.error("digest refused by the channel: dead-lettered", { reason });
    return parked;
  } catch (sqsErr: unknown) {
    log.error("digest flush not dead-lettered: left to SQS", { error: describe(sqsErr) });
    return false;
  }
}
