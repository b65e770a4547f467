/**
 * `distill sweep <file>`: the coordinator on a terminal. A progress bar over trials with an ETA (plain lines when
 * stderr is not a TTY, JSON lines with --json), Ctrl-C stops every trial at a step boundary with a checkpoint (a
 * second Ctrl-C leaves at once; the trials still checkpoint, their parent being gone), and a table of the points
 * sorted by the objective at the end.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { pointStats, readResults, sweepPath, type SweepState, type TrialResult } from '../shared/sweepDir';
import { loadSweepFile } from '../shared/sweepPlan';
import { findSweep, SweepCoordinator, type SweepEvent } from './coordinator';
import { LocalExecutor, type Executor } from './executor';

export interface SweepCliOptions {
  sweepsDir?: string;
  new?: boolean;
  concurrency?: string;
  json?: boolean;
  /** Makes the executor for a Redis URL (redisExecutor.ts), kept out of this module's imports. */
  queue?: string;
}

export const formatSeconds = (s: number) =>
  s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
      : `${Math.round(s)}s`;

/** `auto` (or nothing) is one process per core. */
export function parseConcurrency(value: string | number | undefined): number {
  if (value === undefined || value === 'auto') return Math.max(1, os.availableParallelism());
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--concurrency must be a positive integer or "auto" (got ${JSON.stringify(value)})`);
  return n;
}

const show = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v));
const fmt = (v: number, metric: string) => (Number.isNaN(v) ? '–' : /accuracy|macroF1|agreement/.test(metric) ? (v * 100).toFixed(2) : v.toFixed(4));

/** The points sorted by the objective: params, mean ± std over repeats, n, and the scratch baseline beside it. */
export function sweepTable(state: SweepState, results: readonly TrialResult[]): string {
  const metric = state.sweep.objective.metric;
  const pct = /accuracy|macroF1|agreement/.test(metric) ? ' (%)' : '';
  const stats = pointStats(state, results);
  const header = ['#', ...state.axes, `${metric}${pct} mean ± std`, 'n', 'scratch', 'Δ vs scratch'];
  const body = stats.map((s, i) => [
    String(i + 1),
    ...state.axes.map((a) => show(s.params[a])),
    s.n ? `${fmt(s.mean, metric)} ± ${fmt(s.std, metric)}` : '–',
    `${s.n}/${s.trials.length}`,
    s.baseline ? fmt(s.baseline.mean, metric) : '–',
    s.baseline && s.n ? `${s.mean - s.baseline.mean >= 0 ? '+' : ''}${fmt(s.mean - s.baseline.mean, metric)}` : '–',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i > 0 && i <= state.axes.length ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const failed = results.filter((r) => r.status === 'failed');
  return [
    `Sweep ${state.sweepId}: ${state.sweep.objective.goal === 'max' ? 'highest' : 'lowest'} ${metric} first`,
    line(header),
    widths.map((w) => '─'.repeat(w)).join('  '),
    ...body.map(line),
    ...failed.map((r) => `failed: ${r.trial}${r.host ? ` on ${r.host}` : ''}: ${r.reason ?? ''}`),
  ].join('\n');
}

const JSON_PROGRESS_MS = 1000;

/** Progress over trials: finished ones plus the running ones' fractions; the ETA from this session's pace. */
class SweepProgress {
  private bar?: SingleBar;
  private running = new Map<string, number>();
  private done = 0;
  private total = 0;
  private doneAtStart = 0;
  private startedAt = Date.now();
  private lastDraw = 0;

  constructor(private readonly json: boolean) {}

  /** When each trial's progress was last printed as JSON. */
  private lastJsonProgress = new Map<string, number>();

  handle = (e: SweepEvent): void => {
    if (this.json) {
      // Progress at most once a second per trial: enough for a progress bar with an ETA (the extension's).
      if (e.type === 'trialProgress') {
        const last = this.lastJsonProgress.get(e.id) ?? 0;
        if (Date.now() - last < JSON_PROGRESS_MS) return;
        this.lastJsonProgress.set(e.id, Date.now());
      }
      process.stdout.write(JSON.stringify(e) + '\n');
      return;
    }
    switch (e.type) {
      case 'sweep':
        this.total = e.total;
        this.done = this.doneAtStart = e.done;
        this.line(`Sweep ${e.sweepId}${e.resumed ? ` (continuing: ${e.done} of ${e.total} trials already done)` : ''} → ${e.dir}`);
        this.line(`${e.total} trials (scratch baselines included), ${e.executor}`);
        break;
      case 'log':
        this.line(e.message);
        break;
      case 'trialStarted':
        this.running.set(e.id, 0);
        this.draw(true);
        break;
      case 'trialProgress':
        this.running.set(e.id, e.fraction);
        this.draw(false);
        break;
      case 'trialFinished': {
        this.running.delete(e.id);
        const r = e.result;
        if (r) this.done++;
        const what =
          r?.status === 'completed'
            ? `${r.objective !== undefined ? `objective ${r.objective.toFixed(4)}` : 'done'}`
            : r?.status === 'failed'
              ? `failed: ${r.reason}`
              : `${e.outcome.status}${e.outcome.reason ? `: ${e.outcome.reason}` : ''}`;
        this.line(
          `[${this.done}/${this.total}] ${e.id}${e.outcome.resumed ? ' (resumed)' : ''}${e.outcome.host !== os.hostname() ? ` on ${e.outcome.host}` : ''}: ${what}`,
        );
        this.draw(true);
        break;
      }
    }
  };

  private draw(force: boolean) {
    if (!process.stderr.isTTY || this.total === 0) return;
    if (!force && Date.now() - this.lastDraw < 200) return;
    this.lastDraw = Date.now();
    const partial = [...this.running.values()].reduce((a, b) => a + b, 0);
    const value = this.done + partial;
    const progressed = value - this.doneAtStart;
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const eta = progressed > 0.02 ? formatSeconds((elapsed / progressed) * (this.total - value)) : '…';
    if (!this.bar) {
      this.bar = new SingleBar(
        { format: ' trials |{bar}| {done}/{total} · {running} running · ETA {eta_sweep}', hideCursor: true, clearOnComplete: true, stream: process.stderr },
        Presets.shades_classic,
      );
      this.bar.start(this.total, value, { done: this.done, running: this.running.size, eta_sweep: eta });
    }
    this.bar.update(value, { done: this.done, running: this.running.size, eta_sweep: eta });
  }

  private line(text: string) {
    if (this.json) return;
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
      process.stderr.write(text + '\n');
      this.draw(true);
    } else process.stderr.write(text + '\n');
  }

  stop() {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** Returns the exit code: 0 all trials completed, 1 some failed, 130 stopped. */
export async function runSweepCommand(file: string, opts: SweepCliOptions, makeQueueExecutor?: (url: string) => Promise<Executor>): Promise<number> {
  const plan = loadSweepFile(file, { sweepsDir: opts.sweepsDir });
  const existing = opts.new ? undefined : findSweep(plan);
  if (existing?.state.status === 'completed') {
    const results = readResults(existing.dir);
    process.stdout.write(`${sweepTable(existing.state, results)}\n`);
    process.stderr.write(`Sweep ${existing.state.sweepId} is already complete (${existing.dir}); pass --new to run it again.\n`);
    return 0;
  }
  const executor =
    opts.queue && makeQueueExecutor ? await makeQueueExecutor(opts.queue) : new LocalExecutor(parseConcurrency(opts.concurrency ?? plan.sweep.concurrency));
  const progress = new SweepProgress(!!opts.json);
  const coordinator = new SweepCoordinator(plan, { executor, fresh: opts.new, onEvent: progress.handle });
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      progress.stop();
      process.stderr.write(
        'Stopping: every running trial finishes its step and writes a checkpoint; run the same command again to continue. (Ctrl-C again to leave now.)\n',
      );
      coordinator.requestStop();
    } else process.exit(130);
  };
  process.on('SIGINT', onSigint);
  // Started with an IPC channel (by the extension): `{ type: 'stop' }` is its Ctrl-C, and a parent that goes away
  // stops the sweep the same way (every trial checkpoints), so nothing runs on unwatched.
  const onMessage = (m: unknown) => {
    if ((m as { type?: unknown } | null)?.type === 'stop' && interrupts === 0) onSigint();
  };
  const onDisconnect = () => {
    if (interrupts === 0) onSigint();
  };
  if (process.send) {
    process.on('message', onMessage);
    process.on('disconnect', onDisconnect);
  }
  try {
    const { dir, state, results } = await coordinator.run();
    progress.stop();
    if (!opts.json) process.stdout.write(`\n${sweepTable(state, results)}\n`);
    if (state.best && !opts.json)
      process.stderr.write(
        `Best: ${Object.entries(state.best.params)
          .map(([k, v]) => `${k} = ${show(v)}`)
          .join(', ')} → ${path.relative(process.cwd(), sweepPath(dir, 'best')) || sweepPath(dir, 'best')}\n`,
      );
    if (state.status !== 'completed') {
      process.stderr.write(`Sweep ${state.status}: ${state.reason ?? ''}\n`);
      return 130;
    }
    return results.some((r) => r.status === 'failed') ? 1 : 0;
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    process.off('message', onMessage);
    process.off('disconnect', onDisconnect);
    // The channel must not keep this process alive once the sweep is over.
    process.channel?.unref();
    await executor.close();
  }
}
