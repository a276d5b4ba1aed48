/**
 * A scenario step that starts at the beginning of its channels' grouping windows (issue 11).
 * The fan-out's windows are fixed per channel: one starts at every multiple of its length on the
 * world's clock (handlers/fanout/grouping.ts `allowanceFor`), divided by the sandbox's time scale.
 * A storm step that starts late in a window straddles two of them and shows two digests per
 * channel; a step with `freshWindow` waits, on the sandbox's clock, until a window of every
 * channel it names has just begun, so it shows what one window of the product does.
 */
import { groupingRule } from "../handlers/fanout/grouping";
import { scaleMs } from "../handlers/http";
import type { RuntimeConfig } from "../handlers/types";

/** The longest wait for a fresh window, ms of AWS time: one hour, the limit of `pauseSeconds`. */
export const MAX_FRESH_WINDOW_WAIT_MS = 3_600_000;

/** When the next common window of some channels begins, and how long each window is. */
export interface FreshWindow {
  /** Epoch ms (sandbox clock) at which every named channel's window begins. */
  startsAt: number;
  /** Per channel, its window's length, ms on the sandbox's clock. */
  windowMs: Record<string, number>;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The next instant after `now` (epoch ms) at which a grouping window of each of `channels`
 * begins: the next multiple of the least common multiple of their window lengths, each
 * `windowSeconds` × 1000 scaled by `timeScale` (handlers/http.ts `scaleMs`, as the fan-out's
 * `scaledMs` computes it). Always a later window than the current one, which earlier steps may
 * already have used.
 * @throws when a channel is not in the stack or is never grouped, or when the common window is
 * longer than {@link MAX_FRESH_WINDOW_WAIT_MS} of AWS time.
 */
export function nextFreshWindow(
  runtime: RuntimeConfig,
  channels: readonly string[],
  timeScale: number,
  now: number,
): FreshWindow {
  const windowMs: Record<string, number> = {};
  let common = 1;
  for (const channel of channels) {
    const rule = groupingRule(runtime, channel);
    if (!rule) throw new Error(`channel ${channel} is not grouped on this stack`);
    const ms = scaleMs(rule.windowSeconds * 1000, timeScale);
    windowMs[channel] = ms;
    common = (common / gcd(common, ms)) * ms;
  }
  if (common * timeScale > MAX_FRESH_WINDOW_WAIT_MS)
    throw new Error(`the channels' windows begin together only every ${common * timeScale} ms`);
  return { startsAt: (Math.floor(now / common) + 1) * common, windowMs };
}

/** Resolves once the sandbox's clock (`Date.now()`) reaches `at` (epoch ms); never earlier. */
export async function waitUntil(at: number): Promise<void> {
  while (Date.now() < at) await new Promise((r) => setTimeout(r, at - Date.now()));
}

/** The terminal's line for a wait of `ms` for `fresh`, e.g. "waiting 4.2 s for …". */
export function describeWait(fresh: FreshWindow, ms: number, timeScale: number): string {
  const windows = Object.entries(fresh.windowMs)
    .map(([channel, w]) => `${channel} ${Math.round((w * timeScale) / 1000)} s`)
    .join(", ");
  return `waiting ${(ms / 1000).toFixed(1)} s for fresh grouping windows (${windows} of AWS time)`;
}
