/**
 * The engine child process, forked by the extension host with an IPC channel. It takes `HostToEngine` messages,
 * answers with `EngineToHost` messages, and exits when the run ends, unless its parent keeps it for another task
 * (`ENGINE_REUSE_ENV`, a sweep's pool). If the parent goes away (VS Code closed or crashed), the run checkpoints and
 * ends as `interrupted`, so it can be resumed later.
 */
import { errorMessage, isDistillError } from '../shared/errors';
import { ENGINE_REUSE_ENV, type EngineToHost, type HostToEngine } from '../shared/protocol';
import { keepLoadedDataset } from './data';
import { keepDecompressedFiles } from './data/sourceFile';
import { DistillEngine } from './engine';
import { keepPreparedData } from './prepare';

const REUSED = process.env[ENGINE_REUSE_ENV] === '1';
// The trials of a sweep read the same data files, one after another, and most prepare the same data from them.
if (REUSED) {
  keepDecompressedFiles();
  keepLoadedDataset();
  keepPreparedData();
}

const send = (message: EngineToHost) => {
  // The channel can close between the check and the write (VS Code quitting): with a callback, that EPIPE is
  // reported to it instead of crashing the process before it has checkpointed.
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
};

/** Ends a task that writes no run directory (a run's engine sends its own `finished`). */
function sendFinished(status: 'completed' | 'stopped') {
  const done = { type: 'finished', status } as const;
  send(done);
  return done;
}

/** The task in progress; a fresh engine per task, so nothing of one run's state reaches the next. */
let engine: DistillEngine | undefined;

async function run(task: (engine: DistillEngine) => Promise<{ status: string }>) {
  if (engine) {
    send({ type: 'log', level: 'error', message: 'A run is already in progress in this engine process.' });
    return;
  }
  const current = (engine = new DistillEngine(send));
  let code = 1;
  try {
    const result = await task(current);
    code = result.status === 'completed' ? 0 : result.status === 'failed' ? 1 : 0;
  } catch (e) {
    // Errors before the run directory exists (e.g. resume of a folder that is not a run).
    send({ type: 'finished', status: 'failed', reason: isDistillError(e) ? e.message : `Internal error: ${errorMessage(e)}` });
  }
  engine = undefined;
  // A pool's child says it can take the next task; a parent that left meanwhile ends it (see 'disconnect').
  if (REUSED && process.connected) {
    send({ type: 'idle' });
    return;
  }
  // Let the last IPC messages drain before exiting.
  setTimeout(() => process.exit(code), 50);
}

process.on('message', (message: HostToEngine) => {
  switch (message.type) {
    case 'start':
      void run((e) => e.start(message.config, message.runDir));
      break;
    case 'resume':
      void run((e) => e.resume(message.runDir));
      break;
    case 'trainStudent':
      void run((e) => e.trainStudentOnly(message.runDir, message.student, message.backend));
      break;
    case 'teacher':
      void run(async (e) => {
        const teacher = await e.prepareTeacher(message.config);
        if (teacher) send({ type: 'teacherReady', ...teacher });
        return sendFinished(teacher ? 'completed' : 'stopped');
      });
      break;
    case 'loadData':
      void run(async (e) => {
        await e.loadData(message.config);
        return sendFinished('completed');
      });
      break;
    case 'stop':
      if (engine) engine.requestStop('stopped');
      else process.exit(0);
      break;
  }
});

// The IPC channel closes when the parent exits, however it exits.
process.on('disconnect', () => {
  if (engine) engine.requestStop('interrupted');
  else process.exit(0);
});

if (!process.send) {
  process.stderr.write('dist/engine.js is the engine child process; run experiments with `distill run <config>` (dist/cli.js).\n');
  process.exit(2);
}
