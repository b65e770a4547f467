/**
 * The engine child process, forked by the extension host with an IPC channel. It takes `HostToEngine` messages,
 * answers with `EngineToHost` messages, and exits when the run ends. If the parent goes away (VS Code closed or
 * crashed), the run checkpoints and ends as `interrupted`, so it can be resumed later.
 */
import { errorMessage, isDistillError } from '../shared/errors';
import type { EngineToHost, HostToEngine } from '../shared/protocol';
import { DistillEngine } from './engine';

const send = (message: EngineToHost) => {
  // The channel can close between the check and the write (VS Code quitting): with a callback, that EPIPE is
  // reported to it instead of crashing the process before it has checkpointed.
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
};

const engine = new DistillEngine(send);
let running = false;

async function run(task: () => Promise<{ status: string }>) {
  if (running) {
    send({ type: 'log', level: 'error', message: 'A run is already in progress in this engine process.' });
    return;
  }
  running = true;
  let code = 1;
  try {
    const result = await task();
    code = result.status === 'completed' ? 0 : result.status === 'failed' ? 1 : 0;
  } catch (e) {
    // Errors before the run directory exists (e.g. resume of a folder that is not a run).
    send({ type: 'finished', status: 'failed', reason: isDistillError(e) ? e.message : `Internal error: ${errorMessage(e)}` });
  }
  // Let the last IPC messages drain before exiting.
  setTimeout(() => process.exit(code), 50);
}

process.on('message', (message: HostToEngine) => {
  switch (message.type) {
    case 'start':
      void run(() => engine.start(message.config, message.runDir));
      break;
    case 'resume':
      void run(() => engine.resume(message.runDir));
      break;
    case 'trainStudent':
      void run(() => engine.trainStudentOnly(message.runDir, message.student, message.backend));
      break;
    case 'teacher':
      void run(async () => {
        const teacher = await engine.prepareTeacher(message.config);
        if (teacher) send({ type: 'teacherReady', ...teacher });
        const done = { type: 'finished', status: teacher ? 'completed' : 'stopped' } as const;
        send(done);
        return done;
      });
      break;
    case 'stop':
      if (running) engine.requestStop('stopped');
      else process.exit(0);
      break;
  }
});

// The IPC channel closes when the parent exits, however it exits.
process.on('disconnect', () => {
  if (running) engine.requestStop('interrupted');
  else process.exit(0);
});

if (!process.send) {
  process.stderr.write('dist/engine.js is the engine child process; run experiments with `distill run <config>` (dist/cli.js).\n');
  process.exit(2);
}
