/** How compression stages are named to people (CLI table, report card, Compression tab): shared by all three. */
import type { CompressionResult } from './records';

/** `prune 80% → uint8`: the stage, and what it started from when that was an earlier stage. */
export function compressionLabel(c: Pick<CompressionResult, 'stage' | 'input' | 'sparsity' | 'ranks'>): string {
  const name =
    c.stage === 'prune' && c.sparsity
      ? `pruned ${Math.round(c.sparsity.overall * 100)}%`
      : c.stage === 'low-rank'
        ? 'low-rank'
        : c.stage;
  return c.input === 'student' ? name : `${c.input} → ${name}`;
}
