/**
 * How many threads one training run uses (`engine.threads`). Only the CPU backends train data-parallel: tfjs-node
 * and the GPU backends already spread one step over the machine.
 */
import * as os from 'node:os';
import { DistillError } from '../../shared/errors';
import { MAX_THREADS, THREADS_ENV, type ConcreteBackend } from '../../shared/config';

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
export function resolveThreads(requested: number | undefined, backend: ConcreteBackend, env: NodeJS.ProcessEnv = process.env, cores = os.availableParallelism()): ThreadChoice {
  if (!DATA_PARALLEL_BACKENDS.includes(backend)) {
    const reason = requested !== undefined && requested > 1 ? `engine.threads (${requested}) applies to wasm and cpu only; ${backend} uses the machine by itself` : `${backend} uses the machine by itself`;
    return { threads: 1, reason, filled: false };
  }
  if (requested !== undefined) return { threads: requested, reason: `engine.threads is ${requested}`, filled: false };
  const budget = env[THREADS_ENV];
  if (budget !== undefined && budget !== '') {
    const n = Number(budget);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_THREADS) return { threads: n, reason: `engine.threads not set: ${n}, from ${THREADS_ENV}`, filled: true };
    throw new DistillError('config', `${THREADS_ENV} must be a whole number from 1 to ${MAX_THREADS}, got "${budget}". Unset it, or set engine.threads in the config.`);
  }
  const threads = Math.max(1, Math.min(MAX_THREADS, cores));
  return { threads, reason: `engine.threads not set: ${threads}, the cores of this machine`, filled: true };
}
