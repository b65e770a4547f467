// An engine kept for many runs (a sweep's pool child) keeps the last run's prepared data (src/engine/prepare.ts): a
// run made from the same data, seed and teacher gets it back and ends with the same results as one that prepared it
// afresh; another seed or a rewritten teacher file prepares again; nothing stays allocated once keeping stops.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { DistillConfig } from '../../src/shared/config';
import type { EngineToHost } from '../../src/shared/protocol';
import type { StatusFile, Summary } from '../../src/shared/records';
import { readJson } from '../../src/shared/runDir';
import { keepLoadedDataset } from '../../src/engine/data';
import { saveLayersModel } from '../../src/engine/models/modelFiles';
import { keepPreparedData } from '../../src/engine/prepare';
import { fashionMnistData } from '../fixtures/fashionMnist';
import { runEngine, smallConfig, tempDir } from './helpers';

/** A seeded 784 → 10 linear teacher as model.json (+ weights.bin) in `dir`. */
async function saveTeacher(dir: string, seed: number): Promise<string> {
  const m = tfl.sequential({
    layers: [tfl.layers.flatten({ inputShape: [28, 28, 1] }), tfl.layers.dense({ units: 10, kernelInitializer: tfl.initializers.glorotUniform({ seed }) })],
  });
  await saveLayersModel(m, dir);
  m.dispose();
  return path.join(dir, 'model.json');
}

const kept = (messages: EngineToHost[]) => messages.some((m) => m.type === 'log' && m.message.startsWith('Prepared data kept from the previous run'));

/** A summary's figures, without what differs from run to run (its id and timings). */
function figures(runDir: string) {
  const { runId: _id, seconds: _s, backend: _b, ...rest } = readJson<Summary>(path.join(runDir, 'summary.json'))!;
  return rest;
}

describe('engine: prepared data kept between the runs of one engine', function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    dir = tempDir('distill-kept-preparation-');
  });
  after(() => {
    keepPreparedData(false);
    keepLoadedDataset(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same data, seed and teacher the last prepared data back, with the same results; prepares again for another seed or a rewritten teacher', async () => {
    await tf.ready();
    const teacherFile = await saveTeacher(path.join(dir, 'teacher'), 1);
    const config = (temperature: number, seed = 7): DistillConfig =>
      smallConfig(dir, {
        seed,
        data: fashionMnistData({ train: 1200, test: 300 }),
        teacher: { model: teacherFile },
        student: { preset: 'mlp', hidden: [8] },
        distillation: { temperature, alpha: 0.9 },
        training: { epochs: 1, batchSize: 64 },
        evaluation: { probeSize: 8, latency: false },
      });
    const fresh = await runEngine(config(2));
    assert.equal(fresh.finished.status, 'completed', fresh.finished.reason);

    const tensorsBefore = tf.memory().numTensors;
    keepLoadedDataset();
    keepPreparedData();
    const first = await runEngine(config(4));
    const second = await runEngine(config(2));
    assert.equal(second.finished.status, 'completed', second.finished.reason);
    assert.ok(!kept(first.messages), 'the first run prepares its data');
    assert.ok(kept(second.messages), 'the second run gets it back');
    assert.deepEqual(figures(second.runDir), figures(fresh.runDir), 'the same results as preparing afresh');
    const status = (r: { runDir: string }) => readJson<StatusFile>(path.join(r.runDir, 'status.json'))!.validationRows;
    assert.equal(status(second), status(fresh), 'its status has the validation rows, told again');

    const otherSeed = await runEngine(config(2, 8));
    assert.ok(!kept(otherSeed.messages), 'another seed splits the data differently');

    await saveTeacher(path.join(dir, 'teacher'), 2);
    const rewritten = await runEngine(config(2, 8));
    assert.ok(!kept(rewritten.messages), 'a rewritten teacher file is read again');
    assert.notDeepEqual(figures(rewritten.runDir).teacher, figures(otherSeed.runDir).teacher, 'and gives the new teacher');

    keepPreparedData(false);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor left once keeping stops');
  });
});
