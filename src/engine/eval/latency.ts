/**
 * Latency as the report card shows it: per-sample time measured in several rounds, so that the card can show a
 * spread and mark a model faster only when the difference is beyond it. One timing loop for every kind of model
 * (tfjs in the engine's backend, ONNX Runtime).
 */
import type { LatencySpread, ModelReport } from '../../shared/records';
import { latencySpread } from '../../shared/reportVerdict';

export interface RoundPlan {
  /** Untimed calls first: a process's first predictions also pay for JIT and kernel setup. */
  warmup: number;
  rounds: number;
  callsPerRound: number;
}

/** Batch 1: 7 rounds of 8 calls; batch 256: 5 rounds of 2 (about what one mean over 50 and 8 calls cost before). */
export const BATCH1_ROUNDS: RoundPlan = { warmup: 5, rounds: 7, callsPerRound: 8 };
export const BATCH256_ROUNDS: RoundPlan = { warmup: 2, rounds: 5, callsPerRound: 2 };

/** Per-sample milliseconds of `once` (one call on `rows` rows), round by round. */
export async function timeRounds(once: () => Promise<void>, rows: number, plan: RoundPlan): Promise<LatencySpread> {
  for (let i = 0; i < plan.warmup; i++) await once();
  const perRound: number[] = [];
  for (let r = 0; r < plan.rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < plan.callsPerRound; i++) await once();
    perRound.push((performance.now() - t0) / plan.callsPerRound / rows);
  }
  return latencySpread(perRound);
}

/** The report's latency: medians, with the spreads they came from. */
export function latencyReport(batch1: LatencySpread, batch256: LatencySpread): NonNullable<ModelReport['latencyMs']> {
  return { batch1: batch1.median, batch256: batch256.median, spread: { batch1, batch256 } };
}
