/**
 * Both cores for one run: with `compare.baseline`, the scratch student trains in a second engine process while this
 * one trains the KD student, when the backend is single-threaded (wasm with one thread, cpu) and a core is free.
 * Orchestration only, at the process level: each process trains as it would alone (same initial weights from
 * checkpoints/initial, same seed, same backend), so the results are those of training one after the other; only
 * their order in metrics.jsonl interleaves. The helper writes its own checkpoints and its final model
 * (checkpoints/baseline, baseline/); its records come here by IPC and this process appends them, so every run file
 * has one writer.
 *
 * `DISTILL_PARALLEL_STUDENTS=0` turns it off, `=1` forces it on (tests); otherwise it is automatic.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { ConcreteBackend } from '../shared/config';
import type { EngineToHost, HostToEngine } from '../shared/protocol';
import type { MetricsRecord, SoftLabelRecord } from '../shared/records';

export const PARALLEL_ENV = 'DISTILL_PARALLEL_STUDENTS';

/** The engine child bundle, next to this bundle (dist/cli.js, dist/engine.js); absent when run from sources. */
export const engineBundle = (): string | undefined => {
  const file = path.join(__dirname, 'engine.js');
  return fs.existsSync(file) ? file : undefined;
};

/** How long `freeCores` watches the machine. */
const FREE_CORE_SAMPLE_MS = 300;

/**
 * Cores not busy with other processes' work right now: all cores, less what every process but this one used over a
 * short window. Not the load average: it trails by a minute, so right after this process's own previous run (a
 * demo's first scenario, a sweep's last trial) it reports a core as taken that is idle.
 */
export async function freeCores(sampleMs = FREE_CORE_SAMPLE_MS): Promise<number> {
  const busy = () => os.cpus().reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
  const cores = os.availableParallelism();
  const start = { at: performance.now(), busy: busy(), own: process.cpuUsage() };
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const wallMs = performance.now() - start.at;
  const own = process.cpuUsage(start.own);
  const othersMs = Math.max(0, busy() - start.busy - (own.user + own.system) / 1000);
  return Math.max(0, cores - othersMs / wallMs);
}

/** Whether to train the scratch student in a second process; a reason for the log either way. */
export async function parallelStudentsDecision(backend: ConcreteBackend): Promise<{ parallel: boolean; why: string }> {
  const setting = process.env[PARALLEL_ENV];
  if (setting === '0') return { parallel: false, why: `${PARALLEL_ENV}=0` };
  if (!engineBundle()) return { parallel: false, why: 'no engine bundle next to this one' };
  if (setting === '1') return { parallel: true, why: `${PARALLEL_ENV}=1` };
  const singleThreaded = backend === 'cpu' || (backend === 'wasm' && getThreadsCount() === 1);
  if (!singleThreaded) return { parallel: false, why: `the ${backend} backend already uses several cores` };
  const cores = os.availableParallelism();
  if (cores < 2) return { parallel: false, why: 'one core' };
  // One core for this process, and most of another one for the helper.
  const free = await freeCores();
  const seen = `${free.toFixed(1)} of ${cores} cores free`;
  if (free < 1.75) return { parallel: false, why: `no free core for the second (${seen})` };
  return { parallel: true, why: `${backend} is single-threaded and a core is free (${seen})` };
}

export interface HelperSink {
  metrics(records: MetricsRecord[]): void;
  softLabels(record: SoftLabelRecord): void;
  /** Progress and logs, relayed to the run's own messages. */
  relay(m: EngineToHost): void;
}

export interface StudentHelper {
  /** Resolves with the helper's outcome once it has exited. */
  done: Promise<{ status: 'completed' | 'stopped' | 'interrupted' | 'failed'; reason?: string }>;
  stop(): void;
}

/** Start the helper process that trains `student` of the run in `runDir` on `backend`. */
export function startStudentHelper(runDir: string, student: 'baseline', backend: ConcreteBackend, sink: HelperSink): StudentHelper {
  const child = fork(engineBundle()!, [], { silent: true, execArgv: [], env: { ...process.env, [PARALLEL_ENV]: '0' } });
  let last: { status: 'completed' | 'stopped' | 'interrupted' | 'failed'; reason?: string } | undefined;
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => {
    stderr.push(d.toString());
    if (stderr.length > 20) stderr.shift();
  });
  child.stdout?.resume();
  child.on('message', (m: EngineToHost) => {
    switch (m.type) {
      case 'steps':
        sink.metrics(m.records);
        sink.relay(m);
        break;
      case 'epoch':
        sink.metrics([m.record]);
        sink.relay(m);
        break;
      case 'softLabels':
        sink.softLabels(m.record);
        sink.relay(m);
        break;
      case 'log':
        sink.relay({ ...m, message: `[${student} process] ${m.message}` });
        break;
      case 'finished':
        last = { status: m.status, reason: m.reason };
        break;
      default:
        break;
    }
  });
  const done = new Promise<NonNullable<typeof last>>((resolve) => {
    child.on('exit', (code, signal) =>
      resolve(
        last ?? {
          status: 'failed',
          reason: `The ${student} student's process exited (${signal ?? `code ${code}`}) before finishing: ${stderr.join('').trim().slice(-500)}`,
        },
      ),
    );
  });
  child.on('error', () => undefined);
  child.send({ type: 'trainStudent', runDir, student, backend } satisfies HostToEngine);
  return {
    done,
    stop: () => {
      if (child.connected) child.send({ type: 'stop' } satisfies HostToEngine, () => undefined);
    },
  };
}
