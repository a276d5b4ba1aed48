/**
 * The reminder scan's writes after a step's Slack work (store/pending.ts): giving a claim back, or
 * settling it. Neither throws: a failure is logged, and the scan goes on to audit what it did.
 */
import type { Logger } from "../channels/types";
import { describe, type Invocation } from "../fanout/invocation";
import { releaseStep, settleStep, type StepClaim, type StoredPending } from "../store/pending";

/**
 * Gives `claim` back (retried until the deadline); true when done. A failure is logged, not
 * thrown: the claim then frees itself after its lease.
 */
export function releaseQuietly(
  inv: Pick<Invocation, "deadline">,
  p: StoredPending,
  claim: StepClaim,
  log: Logger,
): Promise<boolean> {
  return quietly(
    releaseStep(p, claim, inv.deadline),
    log,
    "claim not given back (free after its lease)",
    { request: p.sk },
  );
}

/**
 * Settles `claim` (retried until the deadline). A failure is logged, not thrown: the step is done
 * and must not be given back (after the lease a later scan may then repeat it).
 */
export async function settleQuietly(
  inv: Pick<Invocation, "deadline">,
  p: StoredPending,
  claim: StepClaim,
  log: Logger,
): Promise<void> {
  await quietly(settleStep(p, claim, inv.deadline), log, "step not settled", {
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
