/**
 * How many of the sends at the times `at` (epoch ms, any order, one scope) the local receiver
 * `receiver` answers 429: the receivers' own limiter (testing/receivers/core.ts `admit`) with
 * their documented limit (`DEFAULT_RATE_LIMITS`, e.g. Slack's 1 per second with bursts of 3),
 * on real time (time scale 1), fed the times in order. For tests that compute send times
 * without posting to a receiver.
 */
import { DEFAULT_RATE_LIMITS, type RateLimitName } from "../../testing";
import { admit, createLimiter } from "../../testing/receivers/core";

export function bucketRefusals(at: number[], receiver: RateLimitName): number {
  const limiter = createLimiter({ [receiver]: DEFAULT_RATE_LIMITS[receiver] });
  limiter.timeScale = 1;
  return [...at]
    .sort((a, b) => a - b)
    .filter((t) => admit(limiter, receiver, "scope", t)?.allowed === false).length;
}
