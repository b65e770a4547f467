/**
 * One engine child process (dist/engine.js) for one task: a trial's run (start or resume) or a teacher. The child is
 * put in its own process group, so the terminal's Ctrl-C reaches only the coordinator, which then asks every child
 * to stop at a step boundary; if the coordinator dies instead, the child's IPC channel closes and it checkpoints
 * and ends as interrupted. No tfjs here: the engine runs in the child.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_THREADS } from '../shared/config';
import { ENGINE_REUSE_ENV, type EngineToHost, type HostToEngine, type Progress } from '../shared/protocol';

export type Finished = Extract<EngineToHost, { type: 'finished' }>;

export interface EngineTaskHooks {
  onMessage?(m: EngineToHost): void;
  /** stderr lines of the child (tfjs warnings, crashes). */
  onStderr?(line: string): void;
  /** Added to the child's environment (e.g. `DISTILL_THREADS`). */
  env?: NodeJS.ProcessEnv;
}

export interface EngineTask {
  readonly pid: number | undefined;
  /** Resolves when the child has exited, with its last `finished` message (or a failure made up from the exit). */
  readonly done: Promise<{ finished: Finished; teacher?: Extract<EngineToHost, { type: 'teacherReady' }> }>;
  stop(): void;
  kill(): void;
}

/** The engine bundle next to this one (dist/cli.js and dist/engine.js), unless told otherwise. */
export function defaultEnginePath(): string {
  const here = path.join(__dirname, 'engine.js');
  if (fs.existsSync(here)) return here;
  return path.join(__dirname, '..', '..', 'dist', 'engine.js');
}

export function startEngineTask(enginePath: string, message: HostToEngine, hooks: EngineTaskHooks = {}): EngineTask {
  return runOn(forkEngine(enginePath, hooks.env), message, hooks, 'exit');
}

/**
 * Node flags for an engine child that has `threads` of the machine's cores to itself. With one, its garbage collector
 * runs on its own thread: V8's helper threads kept about 0.3 of a core busy per engine, taken from the engine
 * beside it when every core has one (measured: two engines on 2 cores, 35-38 → 38-45 trials per minute, one
 * engine alone unchanged).
 */
export function engineNodeFlags(threads: number): string[] {
  return threads <= 1 ? ['--single-threaded-gc'] : [];
}

/** An engine child in its own process group (see the top of this file), its output piped. */
function forkEngine(enginePath: string, env: NodeJS.ProcessEnv | undefined, execArgv: string[] = []): ChildProcess {
  const child = fork(enginePath, [], { silent: true, detached: true, execArgv, env: { ...process.env, ...env, ELECTRON_RUN_AS_NODE: '1' } });
  child.stdout?.resume();
  // A failed send or kill is seen as the exit that follows.
  child.on('error', () => undefined);
  return child;
}

/**
 * Gives `child` one task. `done` settles when the child exits (`until: 'exit'`, a child of its own), or when it says
 * it is `idle` after its `finished` (`'idle'`, a pool's child, which then takes the next task; settling at `finished`
 * would start the next trial in a second child while this one still tidies up). Either way, a child that exits
 * before `finished` gives a failure made up from how it exited.
 */
function runOn(child: ChildProcess, message: HostToEngine, hooks: EngineTaskHooks, until: 'exit' | 'idle'): EngineTask {
  let finished: Finished | undefined;
  let teacher: Extract<EngineToHost, { type: 'teacherReady' }> | undefined;
  const stderr: string[] = [];
  let partial = '';
  const onStderr = (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      stderr.push(line);
      if (stderr.length > 40) stderr.shift();
      hooks.onStderr?.(line);
    }
  };
  let settle!: () => void;
  // Once settled, a pool's child may be running someone else's task: this task's stop and kill no longer reach it.
  let settled = false;
  const onMessage = (m: EngineToHost) => {
    if (m.type === 'finished') finished = m;
    if (m.type === 'teacherReady') teacher = m;
    hooks.onMessage?.(m);
    if (m.type === 'idle' && until === 'idle') settle();
  };
  const done = new Promise<{ finished: Finished; teacher?: typeof teacher }>((resolve) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      finished ??= {
        type: 'finished',
        status: 'failed',
        reason: `The engine process exited (${signal ? `signal ${signal}` : `code ${code}`}) before finishing.${stderr.length ? ` Last output: ${stderr.slice(-5).join(' | ')}` : ''}`,
      };
      settle();
    };
    settle = () => {
      settled = true;
      child.stderr?.off('data', onStderr);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve({ finished: finished!, teacher });
    };
    child.on('exit', onExit);
  });
  child.stderr?.on('data', onStderr);
  child.on('message', onMessage);
  child.send(message);
  return {
    pid: child.pid,
    done,
    stop: () => {
      if (!settled && child.connected) child.send({ type: 'stop' } satisfies HostToEngine, () => undefined);
    },
    kill: () => {
      if (!settled && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Engine children kept for one task after another (`ENGINE_REUSE_ENV`): a trial then starts in an engine that has
 * loaded its code and started its backend already, which took about a second of every short trial. A child that
 * exits (crashed, killed, or stopped while idle) is simply not reused. `close` ends the idle ones; the caller waits
 * for running tasks itself.
 */
export class EnginePool {
  private readonly idle: ChildProcess[] = [];
  private closed = false;

  constructor(
    private readonly enginePath: string,
    private readonly env: NodeJS.ProcessEnv = {},
    private readonly nodeFlags: string[] = [],
  ) {}

  start(message: HostToEngine, hooks: Omit<EngineTaskHooks, 'env'> = {}): EngineTask {
    const child = this.takeIdle() ?? this.fork();
    const task = runOn(child, message, hooks, 'idle');
    // Back into the pool once the engine has let go of the task (its `idle`, which settles `done`).
    void task.done.then(() => {
      if (!alive(child)) return;
      if (this.closed) child.disconnect();
      else this.idle.push(child);
    });
    return task;
  }

  /**
   * Forks children until `count` wait for a task, so that each loads its code while the caller does something else
   * (a sweep prepares its teacher in one of them meanwhile): a trial's first child then starts warm.
   */
  prestart(count: number): void {
    if (this.closed) return;
    for (let n = this.idleCount; n < count; n++) this.idle.push(this.fork());
  }

  /** Children waiting for a task (alive, and said they are idle). */
  get idleCount(): number {
    return this.idle.filter(alive).length;
  }

  /** Ends the idle children: without its channel, an idle engine exits. */
  close(): void {
    this.closed = true;
    for (const child of this.idle.splice(0)) if (child.connected) child.disconnect();
  }

  private fork(): ChildProcess {
    return forkEngine(this.enginePath, { ...this.env, [ENGINE_REUSE_ENV]: '1' }, this.nodeFlags);
  }

  /** The child idle most recently first: it ran the last task, so it has that task's data loaded. */
  private takeIdle(): ChildProcess | undefined {
    let child: ChildProcess | undefined;
    while ((child = this.idle.pop())) if (alive(child)) return child;
    return undefined;
  }
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null && child.connected;

/**
 * Threads for each of `concurrency` engine processes sharing `cores`: the cores divided among them, at least one. A
 * multi-threaded backend (engine.threads unset reads `DISTILL_THREADS`) then never runs more threads than cores, and never
 * more than engine.threads allows (MAX_THREADS).
 */
export const threadsPerProcess = (cores: number, concurrency: number): number =>
  Math.min(MAX_THREADS, Math.max(1, Math.floor(cores / Math.max(1, concurrency))));

/** How far a trial is, 0–1, from the engine's progress (one student per trial run). */
export function progressFraction(p: Progress): number | undefined {
  if (p.student === 'teacher' || p.totalEpochs <= 0) return undefined;
  const inEpoch = p.stepsPerEpoch > 0 ? p.step / p.stepsPerEpoch : 1;
  return Math.min(1, Math.max(0, (p.epoch - 1 + inEpoch) / p.totalEpochs));
}
