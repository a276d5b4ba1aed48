/**
 * Dead-lettering from the batch loop without a channel outcome: a record received after the
 * fan-out's last receive (the queue's `maxReceiveCount` is one higher: infra/settings.ts), whose
 * last receive ended without a result, and a reminder scan that failed on every receive.
 */
import type { SQSRecord } from "aws-lambda";
import { FAILING_SERVICES } from "../contracts/metrics";
import { parseEventBridgeEvent } from "../events";
import { deadLetterFailure, failureOf, NO_RESULT_REASON } from "./dead-letter";
import { auditQuietly, type Invocation } from "./invocation";

/** Sends `record` to the DLQ with `reason`; false (logged) when that fails or there is no DLQ. */
export async function deadLetterQuietly(
  inv: Invocation,
  record: SQSRecord,
  reason: string,
): Promise<boolean> {
  try {
    return await deadLetterFailure(record, { service: FAILING_SERVICES.other, reason });
  } catch (err: unknown) {
    inv.log.error("dead-letter failed", {
      messageId: record.messageId,
      error: failureOf(err).reason,
    });
    return false;
  }
}

/**
 * A record received after the fan-out's last receive (dead-letter.ts `isBeyondLastReceive`):
 * that receive ended without a result, so it is parked in the DLQ with {@link NO_RESULT_REASON}
 * and audited; not processed again (it already had every attempt the README promises).
 */
export async function parkUnfinished(inv: Invocation, record: SQSRecord): Promise<boolean> {
  const receives = record.attributes?.ApproximateReceiveCount;
  inv.log.warn("record dead-lettered", {
    messageId: record.messageId,
    receives,
    reason: NO_RESULT_REASON,
  });
  if (!(await deadLetterQuietly(inv, record, NO_RESULT_REASON))) return false;
  const parsed = parseEventBridgeEvent(record.body);
  if (parsed.ok) {
    const ev = parsed.event;
    await auditQuietly(
      inv,
      {
        pipeline: ev.pipeline,
        executionId: ev.executionId,
        eventId: ev.id,
        action: "failed",
        result: "sent to the dead-letter queue",
        detail: { receives, reason: NO_RESULT_REASON },
      },
      inv.log,
    );
  }
  return true;
}
