/**
 * The replay guard: a verified signature is accepted once. The signature covers timestamp and
 * body, so only a byte-identical resend within the accepted timestamp window collides.
 */
import type { StoreBudget } from "../store/approvals";
import { recordSignature } from "../store/replay";
import { SLACK_SIGNATURE_MAX_SKEW_SECONDS } from "./signature";

/**
 * How long a used signature is remembered, in seconds: it must outlive the whole window in which
 * its timestamp is accepted (± the maximum skew), plus a minute for clock drift.
 */
export const REPLAY_TTL_SECONDS = 2 * SLACK_SIGNATURE_MAX_SKEW_SECONDS + 60;

/**
 * Records a verified signature as used at `now`; false when it was already used (a replay).
 * DynamoDB errors are thrown, the last one when `budget` (the request's, budget.ts) ran out.
 */
export async function firstUseOf(
  signature: string,
  now: Date,
  budget: StoreBudget = {},
): Promise<boolean> {
  const expires = Math.floor(now.getTime() / 1000) + REPLAY_TTL_SECONDS;
  return recordSignature(signature, expires, budget);
}
