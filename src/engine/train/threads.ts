/**
 * How many threads one training run uses (`engine.threads`). Only the CPU backends train data-parallel: tfjs-node
 * and the GPU backends already spread one step over the machine.
 */
import * as os from 'node:os';
import { DistillError } from '../../shared/errors';
import type * as tfl from '@tensorflow/tfjs-layers';
import { MAX_THREADS, THREADS_ENV, type ConcreteBackend } from '../../shared/config';
import { forwardMacs } from '../runPlan';

/** Backends whose training runs on one JavaScript thread, and so gains from replicas on worker threads. */
export const DATA_PARALLEL_BACKENDS: readonly ConcreteBackend[] = ['wasm', 'cpu'];

export interface ThreadChoice {
  /** Threads to train on: 1 is the single-thread path. */
  threads: number;
  /** Why, for the log. */
  reason: string;
  /** True when the config named no count and this one should be recorded in the run's config.json. */
  filled: boolean;
}

/**
 * The thread count for a run on `backend`: the config's when it names one, else the budget a parent process set in
 * DISTILL_THREADS (a sweep running N engines on C cores gives each C / N), else every core this process may use.
 */
export function resolveThreads(
  requested: number | undefined,
  backend: ConcreteBackend,
  env: NodeJS.ProcessEnv = process.env,
  cores = os.availableParallelism(),
): ThreadChoice {
  if (!DATA_PARALLEL_BACKENDS.includes(backend)) {
    const reason =
      requested !== undefined && requested > 1
        ? `engine.threads (${requested}) applies to wasm and cpu only; ${backend} uses the machine by itself`
        : `${backend} uses the machine by itself`;
    return { threads: 1, reason, filled: false };
  }
  if (requested !== undefined) return { threads: requested, reason: `engine.threads is ${requested}`, filled: false };
  const budget = env[THREADS_ENV];
  if (budget !== undefined && budget !== '') {
    const n = Number(budget);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_THREADS) return { threads: n, reason: `engine.threads not set: ${n}, from ${THREADS_ENV}`, filled: true };
    throw new DistillError(
      'config',
      `${THREADS_ENV} must be a whole number from 1 to ${MAX_THREADS}, got "${budget}". Unset it, or set engine.threads in the config.`,
    );
  }
  const threads = Math.max(1, Math.min(MAX_THREADS, cores));
  return { threads, reason: `engine.threads not set: ${threads}, the cores of this machine`, filled: true };
}

/**
 * Forward multiply-adds per weight below which training threads do not pay. Each data-parallel step ships every
 * weight to the threads and combines every gradient on this one, so it gains only where a weight is reused across a
 * row: convolutions (cnn-small: ~6 per weight). A dense-only model computes one multiply-add per weight per row, and
 * measured slower on 2 threads than on 1 (bench, mlp, batch 256: 0.82×).
 */
export const MIN_MACS_PER_WEIGHT = 2;

/**
 * The threads `model` trains on out of the run's `threads`: all of them, or 1 for a dense-only model, with the
 * reason for the log. Decided from the architecture alone, so a resumed run decides the same.
 */
export function threadsForModel(threads: number, model: tfl.LayersModel, what: string): { threads: number; note?: string } {
  if (threads <= 1) return { threads };
  const macs = forwardMacs(model);
  const perWeight = macs / Math.max(1, model.countParams());
  if (perWeight >= MIN_MACS_PER_WEIGHT) return { threads };
  return {
    threads: 1,
    note: `The ${what} trains on 1 thread, not ${threads}: it computes ${perWeight.toFixed(1)} multiply-adds per weight per row (dense layers), too few for training threads to gain (they pay from ${MIN_MACS_PER_WEIGHT}, e.g. convolutions).`,
  };
}
