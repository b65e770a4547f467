/**
 * `distill sweep <file> --json` in a child process, seen from the extension host: the CLI bundle (dist/cli.js) is
 * forked with IPC like the engine (the configured Node, ELECTRON_RUN_AS_NODE, no inspector flags), its JSON lines are
 * parsed into sweep events, and Stop is an IPC `{ type: 'stop' }`, the CLI's Ctrl-C: every trial finishes its step and
 * checkpoints, and running the sweep again resumes it. If the host goes away, the CLI sees its channel close and
 * stops the same way. No vscode import, so unit tests drive it against the real CLI.
 */
import type { ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import type { SweepEvent } from '../sweep/coordinator';
import { forkNodeProgram, killAfterGrace } from './engineClient';

export interface SweepExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: Error;
  stopRequested: boolean;
  killedAfterTimeout: boolean;
  /** The CLI's last stderr lines (its error message, for a bad sweep file). */
  stderrTail: string[];
}

export interface SweepProcessOptions {
  cliPath: string;
  file: string;
  nodePath?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra CLI arguments (`--new`, `--concurrency 2`). */
  args?: string[];
  onEvent?(e: SweepEvent): void;
  /** stderr lines (the CLI's own messages and its trials' warnings). */
  onStderr?(line: string): void;
}

const STDERR_TAIL = 20;

export class SweepProcess {
  readonly exited: Promise<SweepExit>;
  private stopRequested = false;
  private killedAfterTimeout = false;
  private hasExited = false;
  private readonly tail: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    options: SweepProcessOptions,
  ) {
    if (child.stdout) {
      readline.createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
        if (!line.startsWith('{')) return;
        try {
          options.onEvent?.(JSON.parse(line) as SweepEvent);
        } catch {
          // A line that is not an event (a library printing to stdout) is not ours to act on.
        }
      });
    }
    if (child.stderr) {
      readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > STDERR_TAIL) this.tail.shift();
        options.onStderr?.(line);
      });
    }
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
        if (this.hasExited) return;
        this.hasExited = true;
        resolve({ code, signal, spawnError, stopRequested: this.stopRequested, killedAfterTimeout: this.killedAfterTimeout, stderrTail: [...this.tail] });
      };
      child.on('close', (code, signal) => done(code, signal));
      child.on('error', (error) => {
        if (child.pid === undefined) done(null, null, error);
      });
    });
  }

  static start(options: SweepProcessOptions): SweepProcess {
    return new SweepProcess(forkNodeProgram(options.cliPath, ['sweep', options.file, '--json', ...(options.args ?? [])], options), options);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /**
   * Stop the sweep at a step boundary: the CLI asks every trial to checkpoint and exits (code 130). If it has not
   * exited after `graceMs`, kill it; its trials then see their parent gone and checkpoint on their own.
   */
  async stop(graceMs: number): Promise<SweepExit> {
    if (this.hasExited) return this.exited;
    this.stopRequested = true;
    let sent = false;
    try {
      if (this.child.connected) {
        this.child.send({ type: 'stop' }, () => undefined);
        sent = true;
      }
    } catch {
      sent = false;
    }
    if (!sent) this.child.kill('SIGINT');
    if (await killAfterGrace(this.child, this.exited, graceMs)) this.killedAfterTimeout = true;
    return this.exited;
  }
}

/** Formats seconds as the CLI does: `45s`, `3m05s`, `1h02m`. */
export const formatEta = (s: number) =>
  s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
      : `${Math.round(s)}s`;

export interface SweepProgressView {
  sweepId?: string;
  dir?: string;
  done: number;
  total: number;
  running: number;
  failed: number;
  /** 0–100 over all trials, running ones counted by their own progress. */
  percent: number;
  /** Seconds left at this session's pace; undefined until there is a pace. */
  etaSeconds?: number;
  /** The last log line of the coordinator (teacher preparation, warnings). */
  note?: string;
}

/**
 * Progress over the trials of a sweep from its events: finished trials plus the running ones' fractions, and an ETA
 * from the pace of this session (trials done before it, on a resume, do not count towards the pace).
 */
export class SweepProgressModel {
  private readonly running = new Map<string, number>();
  private done = 0;
  private failed = 0;
  private total = 0;
  private doneAtStart = 0;
  private startedAt: number;
  private sweepId?: string;
  private dir?: string;
  private note?: string;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  handle(e: SweepEvent): void {
    switch (e.type) {
      case 'sweep':
        this.total = e.total;
        this.done = this.doneAtStart = e.done;
        this.sweepId = e.sweepId;
        this.dir = e.dir;
        this.startedAt = this.now();
        break;
      case 'log':
        this.note = e.message;
        break;
      case 'trialStarted':
        this.running.set(e.id, 0);
        break;
      case 'trialProgress':
        if (this.running.has(e.id)) this.running.set(e.id, e.fraction);
        break;
      case 'trialFinished':
        this.running.delete(e.id);
        if (e.result) {
          this.done++;
          if (e.result.status === 'failed') this.failed++;
        }
        break;
    }
  }

  view(): SweepProgressView {
    const partial = [...this.running.values()].reduce((a, b) => a + b, 0);
    const value = this.done + partial;
    const progressed = value - this.doneAtStart;
    const elapsed = (this.now() - this.startedAt) / 1000;
    const etaSeconds = progressed > 0.02 && this.total > 0 ? (elapsed / progressed) * Math.max(0, this.total - value) : undefined;
    return {
      sweepId: this.sweepId,
      dir: this.dir,
      done: this.done,
      total: this.total,
      running: this.running.size,
      failed: this.failed,
      percent: this.total > 0 ? Math.min(100, (100 * value) / this.total) : 0,
      etaSeconds,
      note: this.note,
    };
  }
}

/** The notification's line: `3 of 8 trials · 2 running · ETA 1m20s`. */
export function sweepProgressText(v: SweepProgressView): string {
  if (!v.total) return v.note ?? 'Planning the sweep…';
  const parts = [`${v.done} of ${v.total} trials`];
  if (v.running) parts.push(`${v.running} running`);
  if (v.failed) parts.push(`${v.failed} failed`);
  if (v.etaSeconds !== undefined) parts.push(`ETA ${formatEta(v.etaSeconds)}`);
  else if (!v.running && v.note) parts.push(v.note);
  return parts.join(' · ');
}
