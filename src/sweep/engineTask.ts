/**
 * One engine child process (dist/engine.js) for one task: a trial's run (start or resume) or a teacher. The child is
 * put in its own process group, so the terminal's Ctrl-C reaches only the coordinator, which then asks every child
 * to stop at a step boundary; if the coordinator dies instead, the child's IPC channel closes and it checkpoints
 * and ends as interrupted. No tfjs here: the engine runs in the child.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_THREADS } from '../shared/config';
import type { EngineToHost, HostToEngine, Progress } from '../shared/protocol';

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
  const child = fork(enginePath, [], { silent: true, detached: true, execArgv: [], env: { ...process.env, ...hooks.env, ELECTRON_RUN_AS_NODE: '1' } });
  let finished: Finished | undefined;
  let teacher: Extract<EngineToHost, { type: 'teacherReady' }> | undefined;
  const stderr: string[] = [];
  let partial = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      stderr.push(line);
      if (stderr.length > 40) stderr.shift();
      hooks.onStderr?.(line);
    }
  });
  child.stdout?.resume();
  child.on('message', (m: EngineToHost) => {
    if (m.type === 'finished') finished = m;
    if (m.type === 'teacherReady') teacher = m;
    hooks.onMessage?.(m);
  });
  const done = new Promise<{ finished: Finished; teacher?: typeof teacher }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({
        finished: finished ?? {
          type: 'finished',
          status: 'failed',
          reason: `The engine process exited (${signal ? `signal ${signal}` : `code ${code}`}) before finishing.${stderr.length ? ` Last output: ${stderr.slice(-5).join(' | ')}` : ''}`,
        },
        teacher,
      });
    });
  });
  child.on('error', () => undefined);
  child.send(message);
  return {
    pid: child.pid,
    done,
    stop: () => {
      if (child.connected) child.send({ type: 'stop' } satisfies HostToEngine, () => undefined);
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

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
