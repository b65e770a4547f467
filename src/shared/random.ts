/**
 * mulberry32: a 32-bit state PRNG, fast and good enough for shuffling, splits and test data. Returns floats in
 * [0, 1). The same seed gives the same sequence on every platform. Pure, so the engine, tests and browser code
 * can all use it.
 */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
