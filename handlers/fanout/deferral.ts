/**
 * Deferring a record whose receiver limits its rate (issue 11): instead of failing it back to SQS
 * (which counts toward `maxReceiveCount` and the DLQ), a copy is sent to the events queue with a
 * delay (requeue.ts), the original reported processed. The copy carries:
 * - `deferrals`: how many times this event was deferred (bounded by {@link MAX_DEFERRALS}: past
 *   it the record is dead-lettered with {@link RATE_LIMITED_REASON});
 * - `paced`: the send slots already reserved for its channels (JSON channel → epoch ms), so the
 *   copy sends in its turn without reserving again (fanout/pace.ts);
 * - `firstSeen`: when the first copy was sent to the queue (epoch ms), for the logs and audit.
 * The ledger slots of deferred channels were left `failed` (deliver.ts), so the copy claims them
 * cleanly, and channels already delivered are deduplicated by the ledger.
 */
import type { SQSRecord } from "aws-lambda";
import type { Logger } from "../channels/types";
import { cut } from "../events/fields";
import { timeScale } from "../http";
import { describe } from "./invocation";
import { PACED_ATTRIBUTE, reservedSlots } from "./pace";
import { requeue } from "./requeue";
import type { ChannelStatus } from "./plan";

/**
 * Deferrals of one event before it is dead-lettered: 12. Each copy waits at least
 * {@link deferralFloorMs} (1 s, doubling with every deferral, up to SQS's longest `DelaySeconds`,
 * 900 s), so 12 deferrals span at least about 47 minutes however short the receiver's
 * `Retry-After` — a receiver that still answers 429 after that is not rate-limiting any more, it
 * is refusing.
 */
export const MAX_DEFERRALS = 12;

/**
 * The shortest wait of the copy after `deferrals` earlier deferrals, ms of AWS time: 1 s × 2^n,
 * at most 900 s (SQS API reference, SendMessage `DelaySeconds`: 0 to 900).
 */
export function deferralFloorMs(deferrals: number): number {
  return Math.min(900_000, 1000 * 2 ** Math.min(deferrals, 10));
}

/** The DLQ reason of an event whose receiver never stopped answering 429. */
export const RATE_LIMITED_REASON = "receiver kept rate-limiting";

/** Message attribute names of a deferred copy. */
export const DEFERRAL_ATTRIBUTES = {
  deferrals: "deferrals",
  paced: PACED_ATTRIBUTE,
  firstSeen: "firstSeen",
  deferredFor: "deferredFor",
} as const;

/** A string message attribute of `record` (SQS event shape), if present. */
function attribute(record: SQSRecord, name: string): string | undefined {
  return record.messageAttributes?.[name]?.stringValue;
}

/** How many times the event of `record` was deferred already (0 for an original message). */
export function deferralsOf(record: SQSRecord): number {
  const n = Number(attribute(record, DEFERRAL_ATTRIBUTES.deferrals) ?? "0");
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** The send slots the copy `record` carries, by channel (epoch ms). */
export function slotsOf(record: SQSRecord): Record<string, number> {
  return reservedSlots(attribute(record, DEFERRAL_ATTRIBUTES.paced));
}

/**
 * Requeues `record` for its `deferred` outcomes, delayed to the earliest of their waits (a later
 * channel's reserved slot rides along and is waited for, or deferred again, by the copy).
 * `done`: the copy is queued, report the original processed; `dead-letter`: past
 * {@link MAX_DEFERRALS}; `retry`: SQS refused the copy (the original is redelivered, nothing lost).
 */
export async function defer(
  record: SQSRecord,
  outcomes: Array<{
    channel: string;
    status: ChannelStatus;
    reason?: string;
    deferMs?: number;
    slotAt?: number;
  }>,
  log: Logger,
): Promise<"done" | "retry" | "dead-letter"> {
  const deferred = outcomes.filter((o) => o.status === "deferred");
  const deferrals = deferralsOf(record);
  if (deferrals >= MAX_DEFERRALS) {
    log.error("deferral bound reached", { deferrals, channels: deferred.map((o) => o.channel) });
    return "dead-letter";
  }
  // The receivers' earliest wait, but never less than the floor: a short Retry-After repeated 12
  // times must not reach the DLQ within a minute (deferralFloorMs).
  const delayMs = Math.max(
    Math.min(...deferred.map((o) => o.deferMs ?? 0)),
    deferralFloorMs(deferrals) / timeScale(),
  );
  const slots = { ...slotsOf(record) };
  for (const o of deferred) {
    if (o.slotAt !== undefined) slots[o.channel] = o.slotAt;
    else delete slots[o.channel];
  }
  const firstSeen =
    attribute(record, DEFERRAL_ATTRIBUTES.firstSeen) ?? record.attributes?.SentTimestamp ?? "";
  const why = deferred.map((o) => `${o.channel}: ${o.reason ?? "deferred"}`).join("; ");
  try {
    await requeue({
      body: record.body,
      // This clock's ms → AWS seconds (the local queue scales them back).
      delaySeconds: (delayMs * timeScale()) / 1000,
      attributes: {
        [DEFERRAL_ATTRIBUTES.deferrals]: String(deferrals + 1),
        [DEFERRAL_ATTRIBUTES.paced]: JSON.stringify(slots),
        [DEFERRAL_ATTRIBUTES.firstSeen]: firstSeen,
        [DEFERRAL_ATTRIBUTES.deferredFor]: cut(why, 1000),
      },
      // An event that fills the queue's message size keeps its deferral, with less of the why.
      cutToFit: DEFERRAL_ATTRIBUTES.deferredFor,
    });
  } catch (err: unknown) {
    log.error("requeue failed: the record is retried instead", { error: describe(err) });
    return "retry";
  }
  log.info("record deferred", { delayMs, deferrals: deferrals + 1 });
  return "done";
}
