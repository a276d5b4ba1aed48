/**
 * How many sends at the times `at` (epoch ms, any order) a receiver's token bucket refuses (429):
 * `limit.perSecond` tokens refilled per second, at most `limit.burst` banked, full at the first
 * send, one send takes one (contracts/rate-limits.ts, the documented limits the local receivers
 * enforce).
 */
export function bucketRefusals(at: number[], limit: { perSecond: number; burst: number }): number {
  let tokens = limit.burst;
  let last = Math.min(...at);
  let refused = 0;
  for (const t of [...at].sort((a, b) => a - b)) {
    tokens = Math.min(limit.burst, tokens + ((t - last) / 1000) * limit.perSecond);
    last = t;
    if (tokens >= 1 - 1e-6) tokens -= 1;
    else refused += 1;
  }
  return refused;
}
