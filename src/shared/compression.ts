/** How compression stages are named to people (CLI table, report card, Compression tab): shared by all three. */
import type { CompressionResult } from './records';

/** `prune 80% → uint8`: the stage, and what it started from when that was an earlier stage. */
export function compressionLabel(c: Pick<CompressionResult, 'stage' | 'input' | 'sparsity' | 'ranks'>): string {
  const name = c.stage === 'prune' && c.sparsity ? `pruned ${Math.round(c.sparsity.overall * 100)}%` : c.stage === 'low-rank' ? 'low-rank' : c.stage;
  return c.input === 'student' ? name : `${c.input} → ${name}`;
}

/**
 * Indices of the Pareto-optimal points when smaller `cost` and larger `value` are better: those no other point
 * matches or beats on both, and beats on one. Sorted by cost.
 */
export function paretoFrontier(points: readonly { cost: number; value: number }[]): number[] {
  const dominated = (i: number) =>
    points.some((q, j) => j !== i && q.cost <= points[i].cost && q.value >= points[i].value && (q.cost < points[i].cost || q.value > points[i].value));
  return points
    .map((_, i) => i)
    .filter((i) => !dominated(i))
    .sort((a, b) => points[a].cost - points[b].cost);
}
