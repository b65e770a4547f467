/**
 * A real sweep through the CLI (dist/cli.js) on a Fashion-MNIST slice: 2 × 2 grid, 2 repeats, 2 engine processes.
 * Ctrl-C (SIGINT) part way stops the running trials at a step boundary; the same command again finishes the sweep
 * with every trial recorded once, none run twice, the interrupted ones resumed from their checkpoints.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfigFile } from '../../src/shared/configFile';
import type { MetricsRecord } from '../../src/shared/records';
import { readJsonLines } from '../../src/shared/runDir';
import { listSweeps, readResults } from '../../src/shared/sweepDir';
import type { SweepEvent } from '../../src/sweep/coordinator';
import { CLI, sweep, writeBaseConfig } from './sweepCli';
import { tempDir } from './helpers';

describe('distill sweep (real engine processes)', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: run \`npm run build\` first (npm test does).`);
    dir = tempDir('distill-sweep-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs a 2 × 2 grid × 2 repeats, stopped with Ctrl-C half way and resumed, each trial recorded once', async () => {
    writeBaseConfig(dir, { epochs: 2, batchSize: 16 });
    fs.writeFileSync(
      path.join(dir, 'ta.sweep.json'),
      JSON.stringify({
        name: 'ta',
        base: 'base.distill.json',
        grid: { 'distillation.temperature': [2, 8], 'distillation.alpha': [0.5, 0.9] },
        repeats: 2,
        concurrency: 2,
      }),
    );

    let finishedBeforeStop = 0;
    const first = await sweep(['ta.sweep.json'], dir, (e) => e.type === 'trialFinished' && ++finishedBeforeStop === 3);
    assert.equal(first.code, 130, first.stderr);
    const [{ dir: sweepDir, state: stopped }] = listSweeps(path.join(dir, 'sweeps'));
    assert.equal(stopped.status, 'stopped');
    const recordedFirst = readResults(sweepDir);
    assert.ok(recordedFirst.length >= 3 && recordedFirst.length < 10, `recorded ${recordedFirst.length} of 10 before the stop`);
    const stoppedRuns = first.events.filter(
      (e): e is Extract<SweepEvent, { type: 'trialFinished' }> => e.type === 'trialFinished' && e.outcome.status === 'stopped',
    );
    assert.ok(stoppedRuns.length >= 1, 'a trial was running when Ctrl-C came');
    for (const s of stoppedRuns) assert.ok(fs.existsSync(path.join(sweepDir, 'trials', s.id, 'checkpoints', 'kd', 'state.json')), `${s.id} checkpointed`);

    const second = await sweep(['ta.sweep.json'], dir);
    assert.equal(second.code, 0, second.stderr);
    const start = second.events.find((e) => e.type === 'sweep');
    assert.ok(start?.type === 'sweep' && start.resumed && start.dir === sweepDir, 'the rerun continues the same sweep');
    const startedAgain = second.events.filter((e) => e.type === 'trialStarted').map((e) => (e as { id: string }).id);
    for (const r of recordedFirst) assert.ok(!startedAgain.includes(r.trial), `${r.trial} was finished before the stop and must not run again`);
    const resumed = second.events.filter((e) => e.type === 'trialFinished' && e.outcome.resumed).map((e) => (e as { id: string }).id);
    for (const s of stoppedRuns) assert.ok(resumed.includes(s.id), `${s.id} resumed from its checkpoint`);

    const results = readResults(sweepDir);
    const lines = fs.readFileSync(path.join(sweepDir, 'results.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 10, '8 trials + 2 shared baselines (one per seed), one line each');
    assert.equal(new Set(results.map((r) => r.trial)).size, 10);
    assert.ok(results.every((r) => r.status === 'completed' && typeof r.objective === 'number'));
    assert.deepEqual(
      results
        .filter((r) => r.kind === 'baseline')
        .map((r) => r.seed)
        .sort(),
      [5, 6],
    );
    // A resumed trial's history holds each epoch once.
    for (const s of stoppedRuns) {
      const epochs = readJsonLines<MetricsRecord>(path.join(sweepDir, 'trials', s.id, 'metrics.jsonl'))
        .filter((m) => m.kind === 'epoch')
        .map((m) => m.epoch);
      assert.deepEqual(epochs, [1, 2], s.id);
    }
    // The teacher was trained once, for every trial.
    assert.equal(fs.readdirSync(path.join(dir, '.distill-cache', 'teachers')).length, 1);
    const [{ state: done }] = listSweeps(path.join(dir, 'sweeps'));
    assert.equal(done.status, 'completed');
    assert.ok(done.best && done.best.n === 2);
    const best = loadConfigFile(path.join(sweepDir, 'best.distill.json'));
    assert.deepEqual(
      [best.distillation.temperature, best.distillation.alpha],
      [done.best.params['distillation.temperature'], done.best.params['distillation.alpha']],
    );
  });
});
