/**
 * The reminder scan's writes after a step's Slack work (store/pending.ts): giving a claim back, or
 * settling it. Neither throws: a failure is logged, and the scan goes on to audit what it did.
 * And what a step done again says: a claim taken over after its lease may have had its message
 * sent already (its "sent" mark was refused, or its scan stopped before writing it).
 */
import type { Logger } from "../channels/types";
import { DIMENSION, METRIC } from "../contracts/metrics";
import { describe, markDeadline, type Invocation } from "../fanout/invocation";
import { releaseStep, settleStep, type StepClaim, type StoredPending } from "../store/pending";
import { emitMetrics } from "../telemetry";

/**
 * Counts a step whose message may be a second one, and returns what its audit record says, as a
 * delivery's `ambiguous` does: emits one `PossibleDuplicate` metric for the channel (the metric
 * fan-out deliveries count), and returns `possibleDuplicate` and why (store/pending.ts
 * `earlierPostOf` of the item the claim replaced, or an attempt of this post whose answer was
 * lost). Nothing is emitted or returned when `why` is undefined. Call it once per audited step.
 */
export function countRepeat(
  p: StoredPending,
  why: string | undefined,
): { possibleDuplicate?: true; why?: string } {
  if (why === undefined) return {};
  const dimensions = { [DIMENSION.channel]: p.channel };
  emitMetrics([{ name: METRIC.possibleDuplicate, value: 1, unit: "Count", dimensions }], {
    request: p.sk,
  });
  return { possibleDuplicate: true, why };
}

/**
 * Gives `claim` back, keeping `mayHaveArrived` (the post's answer was lost) on the item; true when
 * done. Retried through throttling into the handler's margin (fanout/invocation.ts
 * `markDeadline`, as {@link settleQuietly}): a claim kept after a post that did not arrive would be
 * repeated after its lease and flagged a possible duplicate of nothing. A failure is logged, not
 * thrown: the claim then frees itself after its lease.
 */
export function releaseQuietly(
  inv: Pick<Invocation, "deadline">,
  p: StoredPending,
  claim: StepClaim,
  log: Logger,
  mayHaveArrived = false,
): Promise<boolean> {
  return quietly(
    releaseStep(p, claim, markDeadline(inv), mayHaveArrived),
    log,
    "claim not given back (free after its lease)",
    { request: p.sk },
  );
}

/**
 * Settles `claim`, retried through throttling into the handler's margin (fanout/invocation.ts
 * `markDeadline`, as a delivery's mark-sent). A failure is logged, not thrown: the step is done
 * and must not be given back (after the lease a later scan repeats it, audited as a possible
 * duplicate: {@link countRepeat}).
 */
export async function settleQuietly(
  inv: Pick<Invocation, "deadline">,
  p: StoredPending,
  claim: StepClaim,
  log: Logger,
): Promise<void> {
  await quietly(settleStep(p, claim, markDeadline(inv)), log, "step not settled", {
    request: p.sk,
    step: claim.step,
  });
}

/** Whether `write` succeeded; its error is logged as "reminder scan: <what>" with `fields`. */
async function quietly(
  write: Promise<void>,
  log: Logger,
  what: string,
  fields: Record<string, unknown>,
): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err: unknown) {
    log.error(`reminder scan: ${what}`, { ...fields, error: describe(err) });
    return false;
  }
}
