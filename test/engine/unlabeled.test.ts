/** `data.unlabeled` in every format, and `data.labeled`'s seeded, class-stratified subset; the cycled epoch order. */
import * as assert from 'node:assert/strict';
import type { DataConfig } from '../../src/shared/config';
import { DistillError } from '../../src/shared/errors';
import { encodeNpy, labeledSubset, loadDataset, shuffledIndices, createRng } from '../../src/engine/data';
import { epochOrder } from '../../src/engine/train/trainer';
import { FixtureDir, syntheticIdx } from './fixtures/dataFiles';

const dataError =
  (...fragments: string[]) =>
  (e: unknown) => {
    assert.ok(e instanceof DistillError && e.kind === 'data', `expected a data DistillError, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  };

describe('data: unlabelled rows (data.unlabeled)', () => {
  const fx = new FixtureDir();
  after(() => fx.remove());

  it('IDX: an images file with no labels file, scaled like the training rows, cut by maxSamples.unlabeled', async () => {
    const train = syntheticIdx(6, 2, 2, 3);
    const extra = syntheticIdx(5, 2, 2, 3);
    const cfg: DataConfig = {
      format: 'idx',
      validationSplit: 0.1,
      normalize: 'auto',
      train: { images: fx.write('tr-i', train.images), labels: fx.write('tr-l', train.labels) },
      test: { images: fx.write('te-i', train.images), labels: fx.write('te-l', train.labels) },
      unlabeled: { images: fx.write('un-i', extra.images) },
      maxSamples: { unlabeled: 4 },
    };
    const ds = await loadDataset(cfg);
    assert.equal(ds.unlabeled?.count, 4);
    assert.equal(ds.sourceRows.unlabeled, 5);
    assert.deepEqual(
      Array.from(ds.unlabeled!.x),
      Array.from(extra.pixels.subarray(0, 16), (v) => Math.fround(v / 255)),
    );
    assert.ok(ds.fingerprint.unlabeled && ds.fingerprint.unlabeled !== ds.fingerprint.train);
  });

  it('CSV: the training columns without the label column; a file with one column too many is named with the fix', async () => {
    const train = fx.write('train.csv', 'a,label,b\n1,0,10\n3,1,20\n');
    const cfg = (unlabeled: string): DataConfig => ({
      format: 'csv',
      train: { path: train },
      test: { path: train },
      labelColumn: 'label',
      header: true,
      validationSplit: 0.1,
      normalize: 'none',
      unlabeled: { path: unlabeled },
    });
    const ds = await loadDataset(cfg(fx.write('un.csv', 'a,b\n5,50\n7,70\n9,90\n')));
    assert.deepEqual(Array.from(ds.unlabeled!.x), [5, 50, 7, 70, 9, 90]);
    await assert.rejects(
      loadDataset(cfg(fx.write('un-labelled.csv', 'a,label,b\n5,0,50\n'))),
      dataError('un-labelled.csv', 'data.unlabeled.path', '[3]', '[2]', 'without the label column'),
    );
  });

  it('NumPy: x only; its sample shape must match the training rows', async () => {
    const x = fx.write(
      'x.npy',
      encodeNpy(
        Float32Array.from({ length: 12 }, (_, i) => i),
        [4, 3],
      ),
    );
    const y = fx.write('y.npy', encodeNpy(Int32Array.from([0, 1, 0, 1]), [4]));
    const cfg = (unlabeled: string): DataConfig => ({
      format: 'npy',
      train: { x, y },
      test: { x, y },
      validationSplit: 0.1,
      normalize: 'none',
      unlabeled: { x: unlabeled },
    });
    const ds = await loadDataset(cfg(fx.write('u.npy', encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]))));
    assert.equal(ds.unlabeled!.count, 2);
    await assert.rejects(loadDataset(cfg(fx.write('u4.npy', encodeNpy(new Float32Array(8), [2, 4])))), dataError('u4.npy', 'data.unlabeled.x', '[4]', '[3]'));
  });
});

describe('data: a labelled subset (data.labeled)', () => {
  // 10 classes of unequal size: class c has 30 + 7c rows, interleaved.
  const labels = Int32Array.from(Array.from({ length: 10 }, (_, c) => Array(30 + 7 * c).fill(c)).flat());
  const shuffled = Int32Array.from(shuffledIndices(labels.length, createRng(3)), (i) => labels[i]);
  const perClassCounts = (idx: Int32Array) => {
    const counts = new Array(10).fill(0);
    for (const i of idx) counts[shuffled[i]]++;
    return counts;
  };

  it('perClass keeps exactly N rows of every class (all of a smaller class), sorted, fixed by the seed', () => {
    const a = labeledSubset(shuffled, 10, { perClass: 12 }, 42);
    assert.deepEqual(perClassCounts(a), new Array(10).fill(12));
    assert.deepEqual(
      Array.from(a),
      Array.from(a).sort((x, y) => x - y),
    );
    assert.deepEqual(Array.from(labeledSubset(shuffled, 10, { perClass: 12 }, 42)), Array.from(a));
    assert.notDeepEqual(Array.from(labeledSubset(shuffled, 10, { perClass: 12 }, 43)), Array.from(a));
    assert.deepEqual(perClassCounts(labeledSubset(shuffled, 10, { perClass: 40 }, 42)), [30, 37, 40, 40, 40, 40, 40, 40, 40, 40]);
  });

  it('fraction keeps round(n·f) rows, every class within one row of its share', () => {
    const n = shuffled.length;
    const kept = labeledSubset(shuffled, 10, { fraction: 0.1 }, 1);
    assert.equal(kept.length, Math.round(n * 0.1));
    perClassCounts(kept).forEach((k, c) => assert.ok(Math.abs(k - (30 + 7 * c) * 0.1) < 1, `class ${c}: ${k}`));
    assert.equal(labeledSubset(shuffled, 10, { fraction: 1 }, 1).length, n);
  });
});

describe('training: the cycled epoch order', () => {
  it('is the single-pass shuffle when one pass suffices, and whole fresh shuffles after it when cycling', () => {
    assert.deepEqual(Array.from(epochOrder(10, 10, 5, 2)), Array.from(shuffledIndices(10, createRng(5 * 100003 + 2))));
    const cycled = epochOrder(10, 25, 5, 2);
    assert.equal(cycled.length, 25);
    assert.deepEqual(Array.from(cycled.subarray(0, 10)), Array.from(epochOrder(10, 10, 5, 2)));
    assert.deepEqual(
      Array.from(cycled.subarray(10, 20)).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.notDeepEqual(Array.from(cycled.subarray(10, 20)), Array.from(cycled.subarray(0, 10)));
  });
});
