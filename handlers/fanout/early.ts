/**
 * One record's deliveries around its enrichment (issue 12, latency): the deliveries known before
 * the enrichment start at once — each claims its ledger slot (and paces, where it may) while the
 * CodePipeline look-ups run, then waits at its gate (fanout/gate.ts); when the enrichment is done,
 * record.ts decides what goes out: the early deliveries still due send, the others give their
 * slot back, and any the enrichment added (a rollback found) start then. Every delivery settles
 * before the record ends, whichever way it ends.
 */
import type { ChannelSecrets, RuntimeConfig } from "../types";
import type { ChannelOutcome } from "./deliver";
import { gateBoard, openGate, type SendGate } from "./gate";
import { deliverInTurn, type ChannelTurns } from "./order";
import type { Delivery } from "./plan";

/** Runs one delivery behind `gate` (record.ts: fanout/deliver.ts `deliver`). */
export type RunDelivery = (d: Delivery, gate: SendGate) => Promise<ChannelOutcome>;

/** The handle record.ts holds while the enrichment runs. */
export interface EarlyDeliveries {
  /**
   * The enrichment is done and `toSend` (non-empty) goes out with `secrets`; the early deliveries
   * not in it are released with `why`. Resolves with every delivery of `toSend`, settled, in its
   * order, once every delivery (released ones included) has settled. Rejects with the secrets'
   * error when they could not be read (after everything settled: nothing is left `sending`).
   */
  finish(
    toSend: readonly Delivery[],
    secrets: Promise<ChannelSecrets>,
    why: string,
  ): Promise<Array<PromiseSettledResult<ChannelOutcome>>>;
  /**
   * The record sends nothing (`why`), or failed before deciding (`err`): every early delivery
   * releases its slot; resolves when they all settled.
   */
  abandon(why: string, err?: unknown): Promise<void>;
}

/**
 * Starts `early` (the deliveries known before the enrichment) at once, each in its channel's turn
 * (order.ts) and behind its gate.
 */
export function startEarly(
  config: RuntimeConfig,
  turns: ChannelTurns,
  early: readonly Delivery[],
  run: RunDelivery,
): EarlyDeliveries {
  const board = gateBoard(config);
  const earlyRun = deliverInTurn(turns, early, (d) => run(d, board.gate(d)));
  return {
    async finish(toSend, secrets, why) {
      board.decide(toSend, secrets, why);
      const late = toSend.filter((d) => !early.some((e) => e.slot === d.slot));
      const lateRun =
        late.length === 0
          ? Promise.resolve([])
          : secrets.then((s) => deliverInTurn(turns, late, (d) => run(d, openGate(s))));
      const [earlySettled, lateSettled] = await Promise.all([
        earlyRun,
        lateRun.catch(() => undefined),
      ]);
      await secrets; // Their error, now that every delivery has settled.
      return toSend.map((d) => {
        const i = early.findIndex((e) => e.slot === d.slot);
        return i >= 0 ? earlySettled[i] : (lateSettled ?? [])[late.indexOf(d)];
      });
    },
    async abandon(why, err) {
      if (err === undefined) board.decide([], Promise.resolve({}), why);
      else board.fail(err);
      await earlyRun;
    },
  };
}
