/**
 * Runs fuzz cases on a pool of worker processes (worker.ts), each case under a time limit: a worker that does not
 * answer in time is killed, the case counted as a hang, and a fresh worker takes its place.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { CaseResult } from './judge';

export interface FuzzOptions {
  seed: number;
  /** Case indices to run: 0 … cases-1. */
  cases: number;
  workers: number;
  /** Per case, in seconds. */
  timeoutSeconds: number;
  onResult?: (r: CaseResult) => void;
}

export interface FuzzSummary {
  results: CaseResult[];
  counts: { cases: number; pass: number; crashes: number; hangs: number; falseSuccesses: number };
  line: string;
}

const WORKER = path.join(__dirname, 'worker.ts');

export function summaryLine(c: FuzzSummary['counts']): string {
  return `${c.cases} cases, ${c.pass} pass, ${c.crashes} crashes, ${c.hangs} hangs, ${c.falseSuccesses} false successes`;
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const results: CaseResult[] = [];
  let next = 0;
  const record = (r: CaseResult) => {
    results.push(r);
    o.onResult?.(r);
  };

  const spawnWorker = (): Promise<ChildProcess> =>
    new Promise((resolve, reject) => {
      // tsx, as for mocha: the worker runs the TypeScript sources, the same code as the bundle.
      const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      const onReady = (m: { ready?: boolean }) => {
        if (m.ready) {
          child.off('message', onReady);
          child.off('exit', onEarlyExit);
          resolve(child);
        }
      };
      const onEarlyExit = (code: number | null) => reject(new Error(`a fuzz worker exited (${code}) before it was ready: ${stderr}`));
      child.on('message', onReady);
      child.on('exit', onEarlyExit);
    });

  async function lane(): Promise<void> {
    let child = await spawnWorker();
    try {
      while (next < o.cases) {
        const index = next++;
        const outcome = await new Promise<CaseResult | 'hang' | 'died'>((resolve) => {
          const timer = setTimeout(() => resolve('hang'), o.timeoutSeconds * 1000);
          const onMessage = (m: { index?: number; result?: CaseResult }) => {
            if (m.index !== index) return;
            cleanup();
            resolve(m.result!);
          };
          const onExit = () => {
            cleanup();
            resolve('died');
          };
          const cleanup = () => {
            clearTimeout(timer);
            child.off('message', onMessage);
            child.off('exit', onExit);
          };
          child.on('message', onMessage);
          child.on('exit', onExit);
          child.send({ seed: o.seed, index });
        });
        if (typeof outcome === 'object') {
          record(outcome);
          continue;
        }
        record({
          index,
          what: `(case ${index})`,
          outcome: outcome === 'hang' ? 'hang' : 'crash',
          detail: outcome === 'hang' ? `no answer within ${o.timeoutSeconds} s` : 'the worker process died (out of memory, or a native crash)',
        });
        child.kill('SIGKILL');
        child = await spawnWorker();
      }
    } finally {
      child.kill('SIGTERM');
    }
  }

  await Promise.all(Array.from({ length: Math.max(1, o.workers) }, lane));
  results.sort((a, b) => a.index - b.index);
  const count = (x: CaseResult['outcome']) => results.filter((r) => r.outcome === x).length;
  const counts = { cases: results.length, pass: count('pass'), crashes: count('crash'), hangs: count('hang'), falseSuccesses: count('false-success') };
  return { results, counts, line: summaryLine(counts) };
}
