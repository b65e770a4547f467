// The host's side of sweeps in plain Node: reading a sweep folder into the Sweep view's data (trial statuses from
// results.jsonl and the trials' status.json), the Runs view's line and the trials listed under a sweep node, and
// the progress/ETA model behind the Start Sweep notification.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSweepData, sweepAxes } from '../../src/extension/dashboard/sweepSource';
import { formatEta, SweepProgressModel, sweepProgressText } from '../../src/extension/sweepProcess';
import { listedTrials, sweepDescription, trialDescription } from '../../src/extension/sweepText';
import { RUN_FILES } from '../../src/shared/runDir';
import { SWEEP_FILES } from '../../src/shared/sweepDir';
import { removeTempDir, tempDir } from '../support/tempDirs';
import { A, markRunning, recordTrial, S, T, writeSyntheticSweep } from '../support/syntheticSweep';

describe('sweeps in the extension host', () => {
  let dir: string;
  beforeEach(() => (dir = path.join(tempDir('distill-sweep-host-'), 't-alpha-1')));
  afterEach(() => removeTempDir(path.dirname(dir)));

  it('reads trial statuses: results.jsonl first, then a trial’s status.json, else pending', () => {
    const state = writeSyntheticSweep(dir);
    recordTrial(dir, state, 'b00', 0.8);
    recordTrial(dir, state, 'p00-r0', 0.84);
    recordTrial(dir, state, 'p02-r0', undefined, 'failed');
    markRunning(dir, 'p01-r0', 2);
    // A trial whose engine is gone (pid of no process) reads as interrupted, with no progress claimed beyond its epoch.
    const gone = path.join(dir, SWEEP_FILES.trials, 'p03-r0');
    fs.mkdirSync(gone, { recursive: true });
    fs.writeFileSync(
      path.join(gone, RUN_FILES.status),
      JSON.stringify({ status: 'running', runId: 'p03-r0', pid: 2 ** 22 + 12345, startedAt: '', updatedAt: '', epoch: 1, totalEpochs: 2, student: 'kd' }),
    );
    const data = readSweepData(dir)!;
    const byId = new Map(data.trials.map((t) => [t.id, t]));
    assert.equal(byId.get('b00')!.status, 'completed');
    assert.equal(byId.get('p00-r0')!.objective, 0.84);
    assert.equal(byId.get('p00-r0')!.seconds, 12.5);
    assert.equal(byId.get('p02-r0')!.status, 'failed');
    assert.match(byId.get('p02-r0')!.reason!, /does not exist/);
    // Epoch 2 of 2 being trained: half done.
    assert.deepEqual([byId.get('p01-r0')!.status, byId.get('p01-r0')!.progress], ['running', 0.5]);
    assert.equal(byId.get('p03-r0')!.status, 'interrupted');
    assert.equal(byId.get('p00-r1')!.status, 'pending');
    assert.equal(byId.get('p00-r0')!.runDir, path.join(dir, 'trials', 'p00-r0'));
    assert.deepEqual(
      data.axes.map((a) => a.path),
      [T, A, S],
    );
    assert.equal(readSweepData(path.join(dir, 'nope')), undefined);
  });

  it('describes random axes as ranges or choices for the binning', () => {
    const axes = sweepAxes({
      axes: ['a', 'b', 'c', 'd'],
      sweep: {
        random: { trials: 3, space: { a: { logUniform: [1, 20] }, b: { uniform: [0, 1] }, c: { intUniform: [1, 5] }, d: { choice: ['x', 'y'] } } },
      } as never,
    });
    assert.deepEqual(axes, [
      { path: 'a', kind: 'range', min: 1, max: 20, log: true, integer: false },
      { path: 'b', kind: 'range', min: 0, max: 1, log: false, integer: false },
      { path: 'c', kind: 'range', min: 1, max: 5, log: false, integer: true },
      { path: 'd', kind: 'values', values: ['x', 'y'] },
    ]);
  });

  it('gives a sweep node its line and lists its started trials under it, baselines first', () => {
    const state = writeSyntheticSweep(dir);
    recordTrial(dir, state, 'p00-r0', 0.84);
    recordTrial(dir, state, 'b00', 0.8);
    markRunning(dir, 'p01-r0', 1);
    const data = readSweepData(dir)!;
    const best = {
      point: 0,
      mean: 0.862,
      std: 0,
      n: 1,
      values: [0.862],
      trials: ['p00-r0'],
      trial: 'p00-r0',
      runDir: 'trials/p00-r0',
      params: { [T]: 4, [A]: 0.9 },
    };
    assert.equal(sweepDescription(data, best), 'running · 2/20 trials, 1 running · best 86.20% (temperature 4, alpha 0.9)');
    assert.equal(sweepDescription({ ...data, status: 'stopped' }, undefined), 'stopped · 2/20 trials, 1 running');
    const listed = listedTrials(data);
    assert.deepEqual(
      listed.map((t) => t.id),
      ['b00', 'p00-r0', 'p01-r0'],
    );
    assert.equal(trialDescription(listed[0], 'student.accuracy'), 'scratch, student mlp [32] · seed 1 · 80.00%');
    assert.equal(trialDescription(listed[1], 'student.accuracy'), 'temperature 2, alpha 0.5, student mlp [32] · seed 1 · 84.00%');
    assert.equal(trialDescription(listed[2], 'student.accuracy'), 'temperature 2, alpha 0.5, student cnn-small · seed 1 · running 0%');
  });

  it('tracks progress over trials with an ETA from this session’s pace only', () => {
    let now = 0;
    const model = new SweepProgressModel(() => now);
    assert.equal(sweepProgressText(model.view()), 'Planning the sweep…');
    // A resumed sweep: 4 of 10 were done before; 2 lanes.
    model.handle({ type: 'sweep', dir: '/s', sweepId: 's', resumed: true, total: 10, done: 4, executor: 'local (2 processes)' });
    model.handle({ type: 'trialStarted', id: 'a' });
    model.handle({ type: 'trialStarted', id: 'b' });
    now = 30_000;
    model.handle({ type: 'trialProgress', id: 'a', fraction: 0.5 });
    model.handle({ type: 'trialProgress', id: 'b', fraction: 0.5 });
    // 1 trial's worth in 30 s; 10 − 5 = 5 left → 150 s.
    let v = model.view();
    assert.equal(v.percent, 50);
    assert.equal(v.etaSeconds, 150);
    assert.equal(sweepProgressText(v), '4 of 10 trials · 2 running · ETA 2m30s');
    now = 40_000;
    model.handle({ type: 'trialFinished', id: 'a', outcome: { status: 'failed', host: 'h', resumed: false }, result: { status: 'failed' } as never });
    v = model.view();
    assert.deepEqual([v.done, v.running, v.failed], [5, 1, 1]);
    assert.equal(formatEta(3725), '1h02m');
    assert.equal(formatEta(59.6), '60s');
  });
});
