/**
 * A seeded pseudo-random generator for the fakes' fault injection: the same seed gives the same
 * sequence, so a chaos run or a test that injects "30 % of calls" fails the same calls every time.
 */

/** Returns numbers in [0, 1), deterministic for a given 32-bit `seed` (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
