/**
 * In-invocation retries of one delivery: full-jitter exponential backoff
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), at least as long
 * as the provider's `Retry-After`, and never past the Lambda's deadline: when the next wait would
 * cross it, the last error is rethrown at once so the SQS message can be redelivered later.
 */
import { isDeliveryError, scaledMs } from "./http";
import type { DeliveryError } from "./channels/types";

/** Options of {@link withRetries}. */
export interface RetryOptions {
  /** Epoch ms: no wait may end at or after this. */
  deadline: number;
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Cap of the first backoff window, ms. Default 200 (divided by `timeScale()`, http.ts). */
  baseDelayMs?: number;
  /** Largest backoff window, ms (a longer `Retry-After` still wins). Default 5000 (scaled too). */
  maxDelayMs?: number;
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Injected for tests; default Math.random, in [0, 1). */
  random?: () => number;
  /** Injected for tests; default Date.now. */
  now?: () => number;
  /** Called before each wait, e.g. to log the retry. */
  onRetry?: (error: DeliveryError, attempt: number, delayMs: number) => void;
}

/**
 * The wait before attempt `attempt + 1`: uniform in [0, min(maxDelayMs, baseDelayMs·2^(attempt-1))),
 * raised to `retryAfterMs` when the provider asked for longer.
 */
export function backoffDelay(
  attempt: number,
  opts: { baseDelayMs: number; maxDelayMs: number; retryAfterMs?: number; random: () => number },
): number {
  const window = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.floor(opts.random() * window);
  return Math.max(jittered, opts.retryAfterMs ?? 0);
}

/**
 * Runs `attempt(1)`, `attempt(2)`, … until one resolves. Retries only retryable DeliveryErrors;
 * anything else (a permanent DeliveryError, a bug) is rethrown at once, as is the last error
 * when attempts run out or the next wait would reach the deadline.
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 3;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  for (let n = 1; ; n += 1) {
    try {
      return await attempt(n);
    } catch (e: unknown) {
      if (!isDeliveryError(e) || !e.retryable || n >= maxAttempts) throw e;
      const delay = backoffDelay(n, {
        baseDelayMs: options.baseDelayMs ?? scaledMs(200),
        maxDelayMs: options.maxDelayMs ?? scaledMs(5000),
        // Retry-After is AWS time: waited scaled, like every other wait (http.ts scaledMs).
        retryAfterMs: e.retryAfterMs === undefined ? undefined : scaledMs(e.retryAfterMs),
        random,
      });
      if (now() + delay >= options.deadline) throw e;
      options.onRetry?.(e, n, delay);
      await sleep(delay);
    }
  }
}
