/**
 * The engine child process, seen from the extension host: fork `dist/engine.js` with IPC, exchange the typed
 * messages of `shared/protocol.ts`, pipe its output to a log, stop it gracefully and kill it when it does not stop.
 * No vscode import, so the unit tests drive it against the real engine.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import type { EngineToHost, HostToEngine } from '../shared/protocol';

export type FinishedMessage = Extract<EngineToHost, { type: 'finished' }>;

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The engine's own account of how the run ended; absent when it died without saying (a crash, a kill). */
  finished?: FinishedMessage;
  /** Set when the process could not be started at all (a wrong Node path, a missing engine bundle). */
  spawnError?: Error;
  /** Whether a stop was asked for, and whether the engine had to be killed because it did not stop in time. */
  stopRequested: boolean;
  killedAfterTimeout: boolean;
}

export interface EngineProcessOptions {
  /** Absolute path of `dist/engine.js`. */
  enginePath: string;
  /** The Node executable. Default: this process's own, run as plain Node (`ELECTRON_RUN_AS_NODE`), as VS Code's is Electron. */
  nodePath?: string;
  /** Each line the engine writes to stdout or stderr. */
  onOutput?: (stream: 'stdout' | 'stderr', line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * One of our Node programs (dist/engine.js, dist/cli.js) as a child with IPC and piped output: on the configured
 * Node, else this process's own run as plain Node (VS Code's is Electron).
 */
export function forkNodeProgram(script: string, args: string[], options: { nodePath?: string; env?: NodeJS.ProcessEnv }): ChildProcess {
  return fork(script, args, {
    silent: true,
    execPath: options.nodePath || process.execPath,
    env: { ...process.env, ...options.env, ELECTRON_RUN_AS_NODE: '1' },
    // A Node program of ours; do not hand it the extension host's inspector or loader flags.
    execArgv: [],
  });
}

/** Waits up to `graceMs` for `exited`; then SIGKILLs the child. True when it had to. */
export async function killAfterGrace(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
  const outcome = await Promise.race([exited, timeout]);
  clearTimeout(timer);
  if (outcome !== 'timeout' || child.exitCode !== null || child.signalCode !== null) return false;
  child.kill('SIGKILL');
  return true;
}

/** Lines of stderr kept for crash reports. */
const STDERR_TAIL = 20;

export class EngineProcess {
  readonly exited: Promise<EngineExit>;
  private readonly listeners = new Set<(message: EngineToHost) => void>();
  private readonly stderrLines: string[] = [];
  private finished: FinishedMessage | undefined;
  private stopRequested = false;
  private killedAfterTimeout = false;
  private hasExited = false;

  private constructor(
    private readonly child: ChildProcess,
    options: EngineProcessOptions,
  ) {
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (!source) continue;
      // Both pipes are drained; an unread pipe fills up and blocks the engine.
      readline.createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => {
        if (stream === 'stderr') {
          this.stderrLines.push(line);
          if (this.stderrLines.length > STDERR_TAIL) this.stderrLines.shift();
        }
        options.onOutput?.(stream, line);
      });
    }
    child.on('message', (raw) => {
      const message = raw as EngineToHost;
      if (message.type === 'finished') this.finished = message;
      for (const listener of [...this.listeners]) listener(message);
    });
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
        if (this.hasExited) return;
        this.hasExited = true;
        resolve({ code, signal, finished: this.finished, spawnError, stopRequested: this.stopRequested, killedAfterTimeout: this.killedAfterTimeout });
      };
      // 'close' rather than 'exit': by then stdout/stderr are flushed, so the log holds the engine's last words.
      child.on('close', (code, signal) => done(code, signal));
      child.on('error', (error) => {
        if (child.pid === undefined) done(null, null, error);
      });
    });
  }

  static fork(options: EngineProcessOptions): EngineProcess {
    return new EngineProcess(forkNodeProgram(options.enginePath, [], options), options);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** The engine's last stderr lines, for an error message. */
  get stderrTail(): readonly string[] {
    return this.stderrLines;
  }

  onMessage(listener: (message: EngineToHost) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Send a message; false when the engine is gone (its exit is reported through `exited`). */
  send(message: HostToEngine): boolean {
    if (this.hasExited || !this.child.connected) return false;
    try {
      this.child.send(message, (error) => {
        // A send racing the engine's exit fails here; `exited` reports that exit, so nothing more to do.
        void error;
      });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Ask the engine to stop (it finishes the step, writes a checkpoint and reports `stopped`). If it has not exited
   * after `graceMs`, kill it.
   */
  async stop(graceMs: number): Promise<EngineExit> {
    if (this.hasExited) return this.exited;
    this.stopRequested = true;
    if (!this.send({ type: 'stop' })) this.child.kill('SIGKILL');
    if (await killAfterGrace(this.child, this.exited, graceMs)) this.killedAfterTimeout = true;
    return this.exited;
  }

  /** Kill at once, without a checkpoint. */
  kill(): void {
    if (!this.hasExited) this.child.kill('SIGKILL');
  }
}
