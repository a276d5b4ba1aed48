/**
 * The bookkeeping after a sent delivery (fanout/deliver.ts): the ledger's mark-sent, which is the
 * delivery's audit record, and the reminder scan's item of a posted approval request.
 */
import type { DeliveryReceipt, Logger } from "../channels/types";
import { rememberRequest } from "../reminders/record";
import type { DeliveryRef } from "../store/ledger";
import { markSent } from "../store/marks";
import type { Notification } from "../types";
import { describe, markDeadline, type Invocation } from "./invocation";
import type { Delivery } from "./plan";

/**
 * The bookkeeping after a delivery: the ledger's mark-sent, which is also the delivery's audit
 * record (retried until the deadline: store/marks.ts `markSent`); no PagerDuty incident write.
 * It runs concurrently, and its failures are logged, not thrown: retrying the record would send
 * the message again. `receipt` is the successful delivery's receipt (channels/types.ts
 * `DeliveryReceipt`): for Slack in bot mode `receipt.id` is the posted message's `ts`, and the
 * channel id is the channel config's `channel` (`inv.config.channels[d.channel]`). A PagerDuty
 * resolve caused by a rollback is recorded with the rollback: the Events API v2 resolve carries
 * only `routing_key`, `event_action` and `dedup_key` (payload fields are for triggers), so the
 * record and the tier's other channels are where it is said.
 */
export async function recordSent(
  inv: Invocation,
  n: Notification,
  d: Delivery,
  receipt: DeliveryReceipt,
  ref: DeliveryRef,
  run: { attempt: number; started: number; ambiguous: boolean; resent: boolean },
  log: Logger,
): Promise<void> {
  // No incident write here (issue 11/12): the trigger's incident was claimed before the send
  // (fanout/incident.ts), and a success took the incident it resolves when it found it.
  const detail = {
    kind: n.kind,
    attempt: run.attempt,
    ms: Date.now() - run.started,
    ...(run.resent ? { resentIdempotent: true } : {}),
    ...(receipt.truncated ? { truncated: true } : {}),
    ...((d.resolveDedupKey ?? d.dedupKey) ? { dedupKey: d.resolveDedupKey ?? d.dedupKey } : {}),
    ...(n.attempt !== undefined && n.attempt > 1 ? { executionAttempt: n.attempt } : {}),
    ...(n.rollback ? { rollback: { ...n.rollback } } : {}),
  };
  const settled = await Promise.allSettled([
    markSent(
      ref,
      {
        action: d.resolveDedupKey ? "incident-resolved" : "sent",
        receiptId: receipt.id,
        ambiguous: run.ambiguous,
        detail,
      },
      markDeadline(inv),
    ),
    // An approval request posted to Slack waits for a decision: the reminder scan's item.
    rememberRequest(inv.config, n, d.channel, receipt),
  ]);
  for (const s of settled) {
    if (s.status === "rejected") {
      log.error("bookkeeping after delivery failed", {
        channel: d.channel,
        error: describe(s.reason),
      });
    }
  }
}
