// The extension's side of the engine process, against the real engine bundle (dist/engine.js, `npm run build`) on a
// small slice of real Fashion-MNIST: a completed run, a graceful stop and resume, a kill -9, a stop that times out,
// a Node that does not exist. Plus the run-directory bookkeeping the extension does after the engine exits.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DistillConfig } from '../../src/shared/config';
import { parseConfigText } from '../../src/shared/configFile';
import type { EngineToHost } from '../../src/shared/protocol';
import type { MetricsRecord, StatusFile } from '../../src/shared/records';
import { RUN_FILES, listRuns, newRunId, readJson, readJsonLines, readRun, writeJsonAtomic } from '../../src/shared/runDir';
import { EngineProcess, type EngineExit } from '../../src/extension/engineClient';
import { canResume, describeExit, exportStudent, ExportTargetExists, settleRunAfterExit } from '../../src/extension/runFiles';
import { progressText, resultRows, runDescription } from '../../src/extension/runText';
import { FASHION_DIR, fashionMnistData } from '../fixtures/fashionMnist';

const ENGINE = path.resolve(__dirname, '../../dist/engine.js');

let dir: string;

function config(epochs: number): DistillConfig {
  const raw = {
    name: 'client test',
    seed: 3,
    data: fashionMnistData({ train: 4000, test: 500 }),
    teacher: { preset: 'mlp', hidden: [32], train: { epochs: 1, batchSize: 128 } },
    student: { preset: 'mlp', hidden: [16] },
    training: { epochs, batchSize: 32 },
    compare: { baseline: true },
    evaluation: { probeSize: 8, latency: false },
    engine: { backend: 'wasm' },
    // One cache for the whole file: the teacher is trained once.
    output: { runsDir: path.join(dir, 'runs'), cacheDir: path.join(dir, 'cache') },
  };
  return parseConfigText(JSON.stringify(raw), path.join(dir, 'client.distill.json'));
}

interface Session {
  engine: EngineProcess;
  messages: EngineToHost[];
  stderr: string[];
  exit: Promise<EngineExit>;
}

function launch(
  request: { type: 'start'; config: DistillConfig; runDir: string } | { type: 'resume'; runDir: string },
  onMessage?: (m: EngineToHost, s: Session) => void,
  nodePath?: string,
): Session {
  const stderr: string[] = [];
  const engine = EngineProcess.fork({ enginePath: ENGINE, nodePath, onOutput: (stream, line) => stream === 'stderr' && stderr.push(line) });
  const session: Session = { engine, messages: [], stderr, exit: engine.exited };
  engine.onMessage((m) => {
    session.messages.push(m);
    onMessage?.(m, session);
  });
  engine.send(request);
  return session;
}

const startRequest = (epochs: number) => {
  const c = config(epochs);
  return { type: 'start' as const, config: c, runDir: path.join(c.output.runsDir, newRunId(c.name)) };
};

const isFirstKdStep = (m: EngineToHost) => m.type === 'steps' && m.progress.student === 'kd';

before(function () {
  if (!fs.existsSync(ENGINE)) throw new Error(`${ENGINE} is missing: run \`npm run build\` first.`);
  if (!fs.existsSync(FASHION_DIR)) this.skip();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-client-'));
});
after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

describe('EngineProcess with the real engine', () => {
  it('runs to completion: started first, progress on the way, finished with a summary, exit code 0', async () => {
    const request = startRequest(1);
    const s = launch(request);
    const exit = await s.exit;
    assert.equal(s.messages[0].type, 'started');
    const steps = s.messages.filter((m): m is Extract<EngineToHost, { type: 'steps' }> => m.type === 'steps');
    assert.ok(steps.length > 0);
    assert.match(
      progressText(steps[steps.length - 1].progress),
      /^(teacher|KD student|scratch student)( \(\d of \d\))? · epoch 1\/1 · step \d+\/\d+ · loss \d+\.\d{3}/,
    );
    assert.equal(exit.code, 0);
    assert.equal(exit.signal, null);
    assert.equal(exit.finished?.status, 'completed');
    assert.ok(exit.finished?.summary);
    assert.equal(settleRunAfterExit(request.runDir, exit, describeExit(exit)), undefined, 'the engine settled its own run');

    const run = readRun(request.runDir)!;
    assert.equal(run.status, 'completed');
    assert.equal(canResume(run), false);
    assert.match(runDescription(run), /^KD \d+\.\d% · teacher \d+\.\d% · scratch \d+\.\d% · T=4 α=0\.7$/);
    assert.deepEqual(
      resultRows(run.summary!).map((r) => r.kind),
      ['teacher', 'kd', 'baseline'],
    );

    // Export Student writes a self-describing folder: the deployable model, what it expects, a README; it will not
    // overwrite without being asked.
    const target = await exportStudent(run, path.join(dir, 'export'));
    assert.equal(target, path.join(dir, 'export', `${run.runId}-student`));
    assert.deepEqual(fs.readdirSync(target).sort(), [...fs.readdirSync(path.join(run.dir, RUN_FILES.student)), 'README.md', 'distill-model.json'].sort());
    const info = readJson<{ inputShape: number[]; classNames: string[]; normalization: { method: string }; test: { accuracy: number } }>(
      path.join(target, 'distill-model.json'),
    )!;
    assert.deepEqual(info.inputShape, [28, 28, 1]);
    assert.equal(info.classNames.length, 10);
    assert.equal(info.normalization.method, 'scale255');
    assert.equal(info.test.accuracy, run.summary!.student.accuracy);
    assert.match(fs.readFileSync(path.join(target, 'README.md'), 'utf8'), /tf\.loadLayersModel/);
    await assert.rejects(exportStudent(run, path.join(dir, 'export')), ExportTargetExists);
    await exportStudent(run, path.join(dir, 'export'), true);
  });

  it('stops gracefully with a checkpoint, and resume finishes the same run', async () => {
    const request = startRequest(3);
    let stopping: Promise<EngineExit> | undefined;
    const s = launch(request, (m, session) => {
      if (!stopping && isFirstKdStep(m)) stopping = session.engine.stop(60_000);
    });
    const exit = await s.exit;
    assert.ok(stopping, 'the KD student started training');
    assert.equal(exit.finished?.status, 'stopped');
    assert.equal(exit.stopRequested, true);
    assert.equal(exit.killedAfterTimeout, false);
    const stopped = readRun(request.runDir)!;
    assert.equal(stopped.status, 'stopped');
    assert.ok(canResume(stopped), 'a checkpoint was written');

    const resumed = launch({ type: 'resume', runDir: request.runDir });
    const resumedExit = await resumed.exit;
    const started = resumed.messages.find((m) => m.type === 'started');
    assert.equal(started?.type === 'started' && started.resumed, true);
    assert.equal(resumedExit.finished?.status, 'completed');
    assert.equal(readRun(request.runDir)!.status, 'completed');
  });

  it('after kill -9, marks the run interrupted and keeps every metrics line written', async () => {
    const request = startRequest(3);
    const s = launch(request, (m, session) => {
      if (m.type === 'epoch' && m.record.student === 'kd') session.engine.kill();
    });
    const exit = await s.exit;
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(exit.finished, undefined);
    // Before the host settles it, readers already see the dead engine's run as interrupted.
    assert.equal(readRun(request.runDir)!.status, 'interrupted');
    const reason = describeExit(exit);
    assert.equal(reason, 'the engine was ended by SIGKILL (killed, possibly out of memory)');
    const settled = settleRunAfterExit(request.runDir, exit, reason);
    assert.equal(settled?.status, 'interrupted');
    const onDisk = readJson<StatusFile>(path.join(request.runDir, RUN_FILES.status))!;
    assert.deepEqual([onDisk.status, onDisk.reason], ['interrupted', reason]);

    const records = readJsonLines<{ kind: string; student: string }>(path.join(request.runDir, RUN_FILES.metrics));
    const received = s.messages.flatMap((m): MetricsRecord[] => (m.type === 'steps' ? m.records : m.type === 'epoch' ? [m.record] : []));
    assert.ok(records.length >= received.length, `${records.length} records on disk, ${received.length} received`);
    assert.ok(records.some((r) => r.kind === 'epoch' && r.student === 'kd'));
  });

  it('kills an engine that does not stop within the grace time, and the run reads as interrupted', async () => {
    const request = startRequest(3);
    const s = launch(request, (m, session) => {
      if (!isFirstKdStep(m)) return;
      // A hung engine: frozen, it cannot answer the stop, however long the grace time or busy the machine.
      process.kill(session.engine.pid!, 'SIGSTOP');
      void session.engine.stop(0);
    });
    const exit = await s.exit;
    assert.equal(exit.killedAfterTimeout, true);
    assert.equal(exit.finished, undefined);
    const reason = describeExit(exit, 0);
    assert.equal(reason, 'the engine did not stop within 0 s and was killed');
    assert.equal(settleRunAfterExit(request.runDir, exit, reason)?.status, 'interrupted');
    assert.equal(listRuns(path.join(dir, 'runs')).find((r) => r.dir === request.runDir)?.status, 'interrupted');
  });

  it('reports a Node executable that does not exist as a start failure', async () => {
    const s = launch(startRequest(1), undefined, path.join(dir, 'no-such-node'));
    const exit = await s.exit;
    assert.ok(exit.spawnError);
    assert.match(describeExit(exit), /^the engine could not be started: spawn .*no-such-node ENOENT/);
  });
});

describe('run directory after an engine exit', () => {
  const exit = (over: Partial<EngineExit>): EngineExit => ({ code: null, signal: null, stopRequested: false, killedAfterTimeout: false, ...over });
  const runningRun = (pid?: number) => {
    const runDir = path.join(dir, 'manual', newRunId('manual'));
    fs.mkdirSync(runDir, { recursive: true });
    const status: StatusFile = {
      status: 'running',
      runId: path.basename(runDir),
      pid,
      startedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      epoch: 2,
      student: 'kd',
      totalEpochs: 5,
    };
    writeJsonAtomic(path.join(runDir, RUN_FILES.status), status);
    return runDir;
  };

  it('reads a running status as running while its engine lives, and interrupted once it is gone', () => {
    assert.equal(readRun(runningRun(process.pid))!.status, 'running');
    const orphan = readRun(runningRun(2 ** 22 + 12345))!;
    assert.equal(orphan.status, 'interrupted');
    assert.equal(runDescription(orphan), 'interrupted at KD student epoch 2/5');
  });

  it('marks a fault (non-zero exit, SIGSEGV) failed and an outside kill interrupted; a settled run is left alone', () => {
    const crashed = runningRun();
    assert.equal(settleRunAfterExit(crashed, exit({ code: 134 }), 'r')?.status, 'failed');
    assert.equal(settleRunAfterExit(crashed, exit({ code: 1 }), 'again'), undefined, 'already settled');
    assert.equal(settleRunAfterExit(runningRun(), exit({ signal: 'SIGSEGV' }), 'r')?.status, 'failed');
    assert.equal(settleRunAfterExit(runningRun(), exit({ signal: 'SIGTERM' }), 'r')?.status, 'interrupted');
    assert.equal(settleRunAfterExit(path.join(dir, 'never-created'), exit({ code: 1 }), 'r'), undefined);
    assert.equal(describeExit(exit({ code: 3 })), 'the engine exited with code 3 without finishing the run');
  });

  it('offers resume only for runs that did not complete and have a checkpoint', () => {
    const runDir = runningRun();
    assert.equal(canResume({ dir: runDir, status: 'interrupted' }), false, 'no checkpoint yet');
    fs.mkdirSync(path.join(runDir, RUN_FILES.checkpoints, 'kd'), { recursive: true });
    assert.equal(canResume({ dir: runDir, status: 'interrupted' }), true);
    assert.equal(canResume({ dir: runDir, status: 'completed' }), false);
    assert.equal(canResume({ dir: runDir, status: 'running' }), false);
  });
});
