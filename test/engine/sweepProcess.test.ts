/**
 * How the extension runs a sweep (src/extension/sweepProcess.ts, no vscode): `distill sweep --json` forked with IPC,
 * its events parsed, and Stop sent over IPC (the notification's Cancel). A real 2 × 1 grid on a Fashion-MNIST slice:
 * stopped once a trial is past the first of twelve epochs (so it has a checkpoint), the CLI exits 130 with the sweep stopped;
 * started again, the sweep resumes the stopped trials from their checkpoints and completes, each trial recorded once.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listSweeps, readResults } from '../../src/shared/sweepDir';
import type { SweepEvent } from '../../src/sweep/coordinator';
import { SweepProcess, SweepProgressModel } from '../../src/extension/sweepProcess';
import { CLI, writeBaseConfig } from './sweepCli';
import { tempDir } from './helpers';

describe('a sweep run the extension’s way (fork + IPC stop)', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: run \`npm run build\` first (npm test does).`);
    dir = tempDir('distill-sweep-ipc-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stops at a step boundary on an IPC stop, and the next start resumes to completion', async () => {
    // Twelve epochs of small batches: the CLI's JSON progress comes at most once a second per trial, so a trial
    // must train for seconds for the stop to land while it does (with four, ~1 s on a fast machine, it could finish
    // before its second progress event).
    writeBaseConfig(dir, { epochs: 12, batchSize: 8 });
    const file = path.join(dir, 'ipc.sweep.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        name: 'ipc',
        base: 'base.distill.json',
        grid: { 'distillation.temperature': [2, 4], 'distillation.alpha': [0.7] },
        baseline: false,
        concurrency: 2,
      }),
    );

    const events: SweepEvent[] = [];
    const progress = new SweepProgressModel();
    let stopping: Promise<unknown> | undefined;
    // Events arrive asynchronously, after `proc` is assigned.
    const proc: SweepProcess = SweepProcess.start({
      cliPath: CLI,
      file,
      onEvent: (e) => {
        events.push(e);
        progress.handle(e);
        // Past the first of 12 epochs (1/12 ≈ 0.083): that epoch's checkpoint is written.
        if (!stopping && e.type === 'trialProgress' && e.fraction > 0.1) stopping = proc.stop(120_000);
      },
    });
    const first = await proc.exited;
    assert.ok(stopping, `the sweep ended before a trial reached its second epoch: ${first.stderrTail.join(' | ')}`);
    assert.equal(first.code, 130, first.stderrTail.join('\n'));
    assert.equal(first.killedAfterTimeout, false);
    assert.ok(
      events.some((e) => e.type === 'trialProgress'),
      'progress events reach the extension in --json mode',
    );
    const [{ dir: sweepDir, state }] = listSweeps(path.join(dir, 'sweeps'));
    assert.equal(state.status, 'stopped');
    const before = readResults(sweepDir).map((r) => r.trial);
    const stopped = events
      .filter((e): e is Extract<SweepEvent, { type: 'trialFinished' }> => e.type === 'trialFinished' && e.outcome.status === 'stopped')
      .map((e) => e.id);
    assert.ok(stopped.length >= 1, `a trial was stopped: ${JSON.stringify(events.filter((e) => e.type === 'trialFinished'))}`);
    for (const id of stopped) assert.ok(fs.existsSync(path.join(sweepDir, 'trials', id, 'checkpoints')), `${id} has a checkpoint`);
    // The notification's model counts what results.jsonl has; the stopped trials are no longer running.
    assert.deepEqual([progress.view().done, progress.view().running, progress.view().total], [before.length, 0, 2]);

    const again: SweepEvent[] = [];
    const second = await SweepProcess.start({ cliPath: CLI, file, onEvent: (e) => again.push(e) }).exited;
    assert.equal(second.code, 0, second.stderrTail.join('\n'));
    const resumed = again.filter((e): e is Extract<SweepEvent, { type: 'trialFinished' }> => e.type === 'trialFinished' && e.outcome.resumed).map((e) => e.id);
    assert.deepEqual(resumed.sort(), stopped.sort(), 'the stopped trials resumed from their checkpoints');
    const results = readResults(sweepDir);
    assert.deepEqual(results.map((r) => r.trial).sort(), ['p00-r0', 'p01-r0']);
    assert.ok(
      before.every((id) => !again.some((e) => e.type === 'trialStarted' && e.id === id)),
      'no recorded trial ran again',
    );
    assert.ok(results.every((r) => r.status === 'completed' && typeof r.objective === 'number'));
  });
});
