/**
 * Deliveries started before the enrichment is done (issue 12, latency). The enrichment (one
 * CodePipeline round trip, about 100 ms on AWS) decides what a page says — the failed action, the
 * error summary, the commit — and whether a FAILED pages at all (a rejected approval never does),
 * so no message is sent before it. But the DynamoDB round trips of a delivery do not depend on
 * it: record.ts claims each channel's ledger slot while the enrichment runs, and reserves its send
 * slot too where the enrichment cannot drop the channel. Each such delivery then waits at its
 * {@link SendGate} for the verdict: send (with the channel secrets), or release the slot.
 *
 * What may start early, and why:
 * - the ledger claim, for every channel the event goes to before enrichment: a claim is given
 *   back cleanly (`markFailed` with the reason: the slot is `failed`, never left `sending`, and
 *   claimable by a later receive that finds it due; the audit trail lists only sent records);
 * - the pacing reservation, where spending it for nothing costs nothing that matters: the
 *   channels the enrichment cannot drop (the non-paging ones: plan.ts `deliveriesFor`; the
 *   enrichment can only turn a failure into a rejection or an expired approval, which does not
 *   page), and paging channels that are never grouped (PagerDuty: a slot reserved for a page that
 *   is then dropped leaves one of its ~120 events a minute unused — stricter pacing, never a send
 *   over the limit). A grouped paging channel (SMS) paces after the verdict: a reservation also
 *   takes one of its window's individual messages (fanout/grouping.ts, one text per window by
 *   default), which cannot be given back — spent on a rejection, it would push the next real
 *   failure's text into a digest. That costs SMS one DynamoDB round trip after the verdict;
 * - nothing that writes what the message says (a digest entry, fanout/grouping.ts) or claims a
 *   PagerDuty incident (fanout/incident.ts): both wait for the verdict.
 *
 * Closures only, no classes or module-level state (handlers/README.md rules 1–3).
 */
import type { DeliveryRef } from "../store/ledger";
import { markFailed } from "../store/marks";
import type { Logger } from "../channels/types";
import type { ChannelSecrets, RuntimeConfig } from "../types";
import { describe, markDeadline, type Invocation } from "./invocation";
import { groupingRule } from "./grouping";
import { isPagingChannel, type Delivery } from "./plan";

/** What a delivery waiting at its gate is told: send (with the secrets), or give the slot back. */
export type GateVerdict = { send: true; secrets: ChannelSecrets } | { send: false; reason: string };

/** Where a delivery (fanout/deliver.ts) waits for the enrichment's verdict before it sends. */
export interface SendGate {
  /** The verdict; rejects when the record failed before deciding (DynamoDB or Secrets Manager). */
  verdict(): Promise<GateVerdict>;
  /** Whether the send slot may be reserved before the verdict (see the file's comment). */
  paceEarly: boolean;
}

/** The gate of a delivery decided before it started: send with `secrets`. */
export function openGate(secrets: ChannelSecrets): SendGate {
  return { verdict: () => Promise.resolve({ send: true, secrets }), paceEarly: true };
}

/** The verdict of `gate`; a rejection becomes "do not send" with the error as the reason. */
export async function verdictOf(gate: SendGate): Promise<GateVerdict> {
  try {
    return await gate.verdict();
  } catch (err: unknown) {
    return { send: false, reason: `not sent: ${describe(err)}` };
  }
}

/** The gates of one record's early deliveries, and how record.ts decides them. */
export interface GateBoard {
  /** The gate of `d`, one of the deliveries known before the enrichment. */
  gate(d: Delivery): SendGate;
  /**
   * The enrichment is done: what goes out (`toSend`, by ledger slot) with the channel secrets;
   * the others are released with `why`.
   */
  decide(toSend: readonly Delivery[], secrets: Promise<ChannelSecrets>, why: string): void;
  /** The record failed before deciding: every gate's verdict rejects with `err`. */
  fail(err: unknown): void;
}

/** A new board for one record (decided once; later calls are ignored). */
export function gateBoard(config: RuntimeConfig): GateBoard {
  type Decision = { toSend: readonly Delivery[]; secrets: Promise<ChannelSecrets>; why: string };
  const hooks: { resolve?: (d: Decision) => void; reject?: (err: unknown) => void } = {};
  const decided = new Promise<Decision>((resolve, reject) =>
    Object.assign(hooks, { resolve, reject }),
  );
  decided.catch(() => undefined);
  return {
    gate: (d) => ({
      paceEarly: !isPagingChannel(config, d.channel) || !groupingRule(config, d.channel),
      verdict: async () => {
        const { toSend, secrets, why } = await decided;
        if (!toSend.some((x) => x.slot === d.slot)) return { send: false, reason: why };
        return { send: true, secrets: await secrets };
      },
    }),
    decide: (toSend, secrets, why) => hooks.resolve?.({ toSend, secrets, why }),
    fail: (err) => hooks.reject?.(err),
  };
}

/**
 * Gives back a slot claimed early for a delivery the verdict did not send: `failed` with the
 * reason (leaseUntil 0, claimable again; never left `sending`). Outcome `released`, which
 * record.ts drops: the delivery was never due. DynamoDB errors are thrown (the record is retried).
 */
export async function releaseUnsent(
  inv: Invocation,
  ref: DeliveryRef,
  d: Delivery,
  reason: string,
  log: Logger,
): Promise<{ channel: string; status: "released"; reason: string }> {
  const why = `released unsent: ${reason}`;
  await markFailed(ref, why, false, markDeadline(inv), { unsent: true });
  log.info("delivery released", { channel: d.channel, reason: why });
  return { channel: d.channel, status: "released", reason: why };
}
