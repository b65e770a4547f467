import * as assert from 'node:assert/strict';
import type { DataConfig } from '../../src/shared/config';
import { DistillError } from '../../src/shared/errors';
import { createRng, encodeNpy, gatherSamples, loadDataset, loadTeacherLogits, selectProbe, shuffledIndices, stratifiedSplit } from '../../src/engine/data';
import { readMaybeGzipped } from '../../src/engine/data/sourceFile';
import { FixtureDir, gzip, idxBytes, npyWithHeader, NUMPY_WRITTEN, syntheticIdx } from './fixtures/dataFiles';
import { FASHION_DIR as FASHION } from '../fixtures/fashionMnist';

type IdxConfig = Extract<DataConfig, { format: 'idx' }>;
type CsvConfig = Extract<DataConfig, { format: 'csv' }>;
type NpyConfig = Extract<DataConfig, { format: 'npy' }>;
type Common = Partial<Pick<IdxConfig, 'classNames' | 'inputShape' | 'normalize' | 'maxSamples'>>;

const idxConfig = (files: { trainImages: string; trainLabels: string; testImages: string; testLabels: string }, extra: Common = {}): IdxConfig => ({
  format: 'idx',
  train: { images: files.trainImages, labels: files.trainLabels },
  test: { images: files.testImages, labels: files.testLabels },
  validationSplit: 0.1,
  normalize: 'auto',
  ...extra,
});

const csvConfig = (train: string, test: string, extra: Common & Partial<Pick<CsvConfig, 'header' | 'labelColumn'>> = {}): CsvConfig => ({
  format: 'csv',
  train: { path: train },
  test: { path: test },
  labelColumn: 'label',
  header: true,
  validationSplit: 0.1,
  normalize: 'auto',
  ...extra,
});

const npyConfig = (x: string, y: string, testX = x, testY = y, extra: Common = {}): NpyConfig => ({
  format: 'npy',
  train: { x, y },
  test: { x: testX, y: testY },
  validationSplit: 0.1,
  normalize: 'auto',
  ...extra,
});

/** Asserts a data error whose message contains every fragment. */
function matchesDataError(fragments: string[]) {
  return (e: unknown) => {
    assert.ok(e instanceof DistillError, `expected a DistillError, got ${String(e)}`);
    assert.equal(e.kind, 'data');
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  };
}
const rejectsWithData = (p: Promise<unknown>, ...fragments: string[]) => assert.rejects(p, matchesDataError(fragments));
const throwsData = (fn: () => unknown, ...fragments: string[]) => assert.throws(fn, matchesDataError(fragments));

function classCounts(labels: Int32Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}

function range(x: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

describe('data: Fashion-MNIST (real IDX files)', () => {
  const files = {
    trainImages: `${FASHION}/train-images-idx3-ubyte.gz`,
    trainLabels: `${FASHION}/train-labels-idx1-ubyte.gz`,
    testImages: `${FASHION}/t10k-images-idx3-ubyte.gz`,
    testLabels: `${FASHION}/t10k-labels-idx1-ubyte.gz`,
  };

  it('loads a maxSamples slice as [28, 28, 1] images in [0, 1] with 10 balanced-ish classes', async () => {
    const messages: string[] = [];
    const ds = await loadDataset(idxConfig(files, { maxSamples: { train: 2000, test: 500 } }), (m) => messages.push(m));
    assert.deepEqual(ds.inputShape, [28, 28, 1]);
    assert.equal(ds.numClasses, 10);
    assert.deepEqual(ds.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.deepEqual([ds.train.count, ds.test.count], [2000, 500]);
    assert.deepEqual(ds.sourceRows, { train: 60000, test: 10000 });
    assert.equal(ds.train.x.length, 2000 * 784);
    assert.equal(ds.test.x.length, 500 * 784);
    assert.equal(ds.train.y.length, 2000);
    assert.deepEqual(range(ds.train.x), { min: 0, max: 1 });
    const { max } = range(ds.test.x);
    assert.ok(max <= 1 && max > 0.99);
    for (const n of classCounts(ds.train.y, 10)) assert.ok(n > 120 && n < 300, `train class count ${n}`);
    for (const n of classCounts(ds.test.y, 10)) assert.ok(n > 20 && n < 90, `test class count ${n}`);
    assert.match(ds.fingerprint.train, /^[0-9a-f]{64}$/);
    assert.notEqual(ds.fingerprint.train, ds.fingerprint.test);
    assert.ok(
      messages.some((m) => m.startsWith('Reading train images (') && m.includes('MiB')),
      messages.join('\n'),
    );
  });

  it('loads all 60000 / 10000 rows with exactly balanced classes', async () => {
    const ds = await loadDataset(idxConfig(files));
    assert.deepEqual([ds.train.count, ds.test.count], [60000, 10000]);
    assert.deepEqual(classCounts(ds.train.y, 10), new Array(10).fill(6000));
    assert.deepEqual(classCounts(ds.test.y, 10), new Array(10).fill(1000));
    assert.equal(ds.train.x.length, 60000 * 784);
  });
});

describe('data: IDX files', () => {
  const fx = new FixtureDir();
  after(() => fx.remove());
  const good = syntheticIdx(20, 4, 3, 3);
  let files: { trainImages: string; trainLabels: string; testImages: string; testLabels: string };
  before(() => {
    files = {
      trainImages: fx.write('train-images.gz', gzip(good.images)),
      trainLabels: fx.write('train-labels', good.labels),
      testImages: fx.write('test-images', good.images),
      testLabels: fx.write('test-labels.gz', gzip(good.labels)),
    };
  });

  it('reads raw and gzip files alike (detected by magic bytes) and scales by 1/255', async () => {
    const ds = await loadDataset(idxConfig(files));
    assert.deepEqual(ds.inputShape, [4, 3, 1]);
    assert.equal(ds.numClasses, 3);
    assert.deepEqual(Array.from(ds.train.y), Array.from(good.labelValues));
    assert.deepEqual(
      Array.from(ds.train.x.slice(0, 5)),
      Array.from(good.pixels.slice(0, 5), (p) => Math.fround(p / 255)),
    );
    assert.equal(ds.fingerprint.train, ds.fingerprint.test, 'same rows, same fingerprint');
    const again = await loadDataset(idxConfig({ ...files, trainImages: files.testImages }));
    assert.equal(again.fingerprint.train, ds.fingerprint.train);
  });

  it('honours classNames, inputShape and normalize "none"', async () => {
    const ds = await loadDataset(idxConfig(files, { classNames: ['a', 'b', 'c', 'd'], inputShape: [12], normalize: 'none' }));
    assert.equal(ds.numClasses, 4);
    assert.deepEqual(ds.classNames, ['a', 'b', 'c', 'd']);
    assert.deepEqual(ds.inputShape, [12]);
    assert.equal(ds.train.x[1], good.pixels[1]);
  });

  it('names a missing file and the config field to fix', async () => {
    const missing = fx.path('nope-images.gz');
    await rejectsWithData(loadDataset(idxConfig({ ...files, trainImages: missing })), 'not found', missing, 'data.train.images');
  });

  it('rejects a bad magic number, saying what was found and expected (swapped files)', async () => {
    await rejectsWithData(
      loadDataset(idxConfig({ ...files, trainImages: files.trainLabels, trainLabels: files.trainImages })),
      files.trainLabels,
      'bad magic number 0x00000801',
      'expected 0x00000803',
      'swapped',
    );
    const png = fx.write('picture.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    await rejectsWithData(loadDataset(idxConfig({ ...files, testLabels: png })), 'picture.png', '0x89504e47', 'not an IDX file', 'expected 0x00000801');
  });

  it('rejects a truncated body with expected and actual byte counts', async () => {
    const truncated = fx.write('short-images', good.images.subarray(0, good.images.length - 10));
    await rejectsWithData(loadDataset(idxConfig({ ...files, trainImages: truncated })), 'short-images', 'truncated', '240 bytes', 'has 230 bytes');
  });

  it('rejects a damaged gzip file', async () => {
    const gz = gzip(good.images);
    const cut = fx.write('cut-images.gz', gz.subarray(0, gz.length >> 1));
    await rejectsWithData(loadDataset(idxConfig({ ...files, trainImages: cut })), 'cut-images.gz', 'gzip', 'download it again');
  });

  it('stops a gzip file that expands past the limit (a decompression bomb) without decompressing it all', () => {
    // 8 MiB of zeros deflate to ~8 KiB; with a 1 MiB limit zlib stops after the first MiB of output.
    const bomb = fx.write('bomb-images.gz', gzip(new Uint8Array(8 * 1024 * 1024)));
    throwsData(
      () => readMaybeGzipped({ file: bomb, field: 'data.train.images' }, 1024 * 1024),
      'bomb-images.gz',
      'decompresses to more than 1.00 MiB',
      'gunzip',
      'data.train.images',
    );
    assert.equal(readMaybeGzipped({ file: bomb, field: 'data.train.images' }, 8 * 1024 * 1024).length, 8 * 1024 * 1024);
  });

  it('rejects images and labels of different counts', async () => {
    const labels19 = fx.write('labels-19', idxBytes(0x08, [19], good.labelValues.subarray(0, 19)));
    await rejectsWithData(loadDataset(idxConfig({ ...files, testLabels: labels19 })), 'labels-19', '19 labels', '20 images');
  });

  it('rejects a label without a class name, naming the file and the label', async () => {
    await rejectsWithData(loadDataset(idxConfig(files, { classNames: ['a', 'b'] })), files.trainLabels, 'label 2', 'data.classNames');
  });

  it('rejects data.inputShape that does not match the image size', async () => {
    await rejectsWithData(loadDataset(idxConfig(files, { inputShape: [28, 28, 1] })), 'data.inputShape [28, 28, 1]', '12 features', 'multiply to 12');
  });
});

describe('data: CSV files', () => {
  const fx = new FixtureDir();
  after(() => fx.remove());
  let train: string;
  let test: string;
  before(() => {
    train = fx.write('train.csv', '\ufefff1,label,"f 2"\r\n1,0,10\r\n3,1,"20"\r\n\r\n5,2,30\r\n');
    test = fx.write('test.csv', 'f1,label,f 2\n7,1,40\n');
  });

  it('reads a header, a label column by name in the middle, quotes, CRLF and a BOM', async () => {
    const ds = await loadDataset(csvConfig(train, test));
    assert.deepEqual(ds.inputShape, [2]);
    assert.equal(ds.numClasses, 3);
    assert.deepEqual(Array.from(ds.train.x), [1, 10, 3, 20, 5, 30]);
    assert.deepEqual(Array.from(ds.train.y), [0, 1, 2]);
    assert.deepEqual(Array.from(ds.test.x), [7, 40]);
    assert.deepEqual(ds.sourceRows, { train: 3, test: 1 });
  });

  it('reads headerless files with a 0-based label column index, cut by maxSamples', async () => {
    const a = fx.write('noheader.csv', '0.5,0.25,1\n1.5,2.5,0\n-1,4,1\n');
    const ds = await loadDataset(csvConfig(a, a, { header: false, labelColumn: 2, maxSamples: { train: 2 }, inputShape: [1, 2] }));
    assert.deepEqual(Array.from(ds.train.x), [0.5, 0.25, 1.5, 2.5]);
    assert.deepEqual(Array.from(ds.train.y), [1, 0]);
    assert.deepEqual(ds.inputShape, [1, 2]);
    assert.equal(ds.test.count, 3);
    assert.deepEqual(ds.sourceRows, { train: 3, test: 3 });
  });

  it('reports a non-numeric cell with its line and column name', async () => {
    const bad = fx.write('text-cell.csv', 'f1,f2,label\n1,2,0\n1,abc,1\n');
    await rejectsWithData(loadDataset(csvConfig(bad, test, { labelColumn: 'label' })), 'text-cell.csv', 'line 3', 'column "f2"', '"abc" is not a number');
  });

  it('reports an empty cell', async () => {
    const bad = fx.write('empty-cell.csv', 'f1,f2,label\n1,,0\n');
    await rejectsWithData(loadDataset(csvConfig(bad, test)), 'empty-cell.csv', 'line 2', 'column "f2"', 'is empty');
  });

  it('reports a ragged row', async () => {
    const bad = fx.write('ragged.csv', 'f1,f2,label\n1,2,0\n\n1,2\n');
    await rejectsWithData(loadDataset(csvConfig(bad, test)), 'ragged.csv', 'line 4 has 2 fields', 'header has 3');
  });

  it('reports a missing label column, listing the header', async () => {
    await rejectsWithData(loadDataset(csvConfig(train, test, { labelColumn: 'target' })), 'train.csv', 'no label column "target"', '"f1", "label", "f 2"');
    await rejectsWithData(loadDataset(csvConfig(train, test, { labelColumn: 5 })), 'train.csv', 'has 3 columns', 'data.labelColumn 5');
    await rejectsWithData(loadDataset(csvConfig(train, test, { header: false })), 'data.header is false');
  });

  it('reports NaN and infinite values with line and column', async () => {
    const nan = fx.write('nan.csv', 'f1,f2,label\n1,2,0\n1,NaN,1\n');
    await rejectsWithData(loadDataset(csvConfig(nan, test)), 'nan.csv', 'line 3', 'column "f2"', 'NaN is not finite');
    const inf = fx.write('inf.csv', 'f1,f2,label\n-Infinity,2,0\n');
    await rejectsWithData(loadDataset(csvConfig(inf, test)), 'inf.csv', 'line 2', 'column "f1"', 'not finite');
  });

  it('reports labels that are not integers or are negative', async () => {
    const fractional = fx.write('frac.csv', 'f1,label\n1,0\n2,1.5\n');
    await rejectsWithData(loadDataset(csvConfig(fractional, test)), 'frac.csv', 'line 3', 'label 1.5 is not an integer');
    const negative = fx.write('neg.csv', 'f1,label\n1,-1\n');
    await rejectsWithData(loadDataset(csvConfig(negative, test)), 'neg.csv', 'line 2', 'label -1 is negative');
    const named = fx.write('named.csv', 'f1,label\n1,cat\n');
    await rejectsWithData(loadDataset(csvConfig(named, test)), 'named.csv', 'column "label"', '"cat" is not a number', 'map class names to numbers');
  });

  it('reports a test file whose features differ from the training file', async () => {
    const wide = fx.write('wide.csv', 'a,b,c,label\n1,2,3,0\n');
    await rejectsWithData(loadDataset(csvConfig(train, wide)), 'wide.csv', '[3]', '[2]');
  });
});

describe('data: NumPy files', () => {
  const fx = new FixtureDir();
  after(() => fx.remove());
  const xValues = Float32Array.from({ length: 4 * 2 * 3 }, (_, i) => i / 2);
  let x: string;
  let y: string;
  before(() => {
    x = fx.write('x.npy', encodeNpy(xValues, [4, 2, 3]));
    y = fx.write('y.npy', encodeNpy(BigInt64Array.from([0n, 1n, 2n, 1n]), [4]));
  });

  it('writes .npy byte for byte as numpy does', () => {
    const f8 = Float64Array.from([0, 0.5, 1, 1.5, 2, 2.5]);
    assert.deepEqual(encodeNpy(f8, [2, 3]), Buffer.from(NUMPY_WRITTEN.f8x2x3, 'base64'));
    assert.deepEqual(encodeNpy(BigInt64Array.from([1n, 0n]), [2]), Buffer.from(NUMPY_WRITTEN.i8labels, 'base64'));
  });

  it('reads float32 x with trailing dims as the input shape, and int64 y', async () => {
    const ds = await loadDataset(npyConfig(x, y));
    assert.deepEqual(ds.inputShape, [2, 3]);
    assert.equal(ds.numClasses, 3);
    assert.deepEqual(Array.from(ds.train.x), Array.from(xValues));
    assert.deepEqual(Array.from(ds.train.y), [0, 1, 2, 1]);
  });

  it('reads files written by numpy: float64, int64, format version 2', async () => {
    const f8 = fx.write('np-f8.npy', Buffer.from(NUMPY_WRITTEN.f8x2x3, 'base64'));
    const f4v2 = fx.write('np-f4v2.npy', Buffer.from(NUMPY_WRITTEN.f4v2, 'base64'));
    const labels = fx.write('np-i8.npy', Buffer.from(NUMPY_WRITTEN.i8labels, 'base64'));
    const ds = await loadDataset(npyConfig(f8, labels, f4v2, labels));
    assert.deepEqual(Array.from(ds.train.x), [0, 0.5, 1, 1.5, 2, 2.5]);
    assert.deepEqual(Array.from(ds.test.x), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(Array.from(ds.train.y), [1, 0]);
    assert.deepEqual(ds.inputShape, [3]);
  });

  it('reads uint8 x, (N, 1) labels and integral float labels; applies inputShape', async () => {
    const u8 = fx.write('u8.npy', encodeNpy(Uint8Array.from([0, 255, 10, 20]), [2, 2]));
    const yCol = fx.write('ycol.npy', encodeNpy(Float64Array.from([1, 0]), [2, 1]));
    const ds = await loadDataset(npyConfig(u8, yCol, u8, yCol, { inputShape: [2, 1, 1] }));
    assert.deepEqual(Array.from(ds.train.x), [0, 255, 10, 20], 'auto normalization leaves npy values as they are');
    assert.deepEqual(Array.from(ds.train.y), [1, 0]);
    assert.deepEqual(ds.inputShape, [2, 1, 1]);
  });

  it('rejects Fortran order, unsupported dtypes and big-endian data', async () => {
    const fortran = fx.write('fortran.npy', Buffer.from(NUMPY_WRITTEN.f4fortran, 'base64'));
    await rejectsWithData(loadDataset(npyConfig(fortran, y)), 'fortran.npy', 'Fortran', 'ascontiguousarray');
    const complex = fx.write('complex.npy', npyWithHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (4, 1), }", new Uint8Array(32)));
    await rejectsWithData(loadDataset(npyConfig(complex, y)), 'complex.npy', "dtype '<c8'", "'<f4'");
    const big = fx.write('big.npy', npyWithHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (4, 1), }", new Uint8Array(16)));
    await rejectsWithData(loadDataset(npyConfig(big, y)), 'big.npy', 'big-endian', "astype('<f4')");
    const boolY = fx.write('bool.npy', npyWithHeader("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", new Uint8Array(4)));
    await rejectsWithData(loadDataset(npyConfig(x, boolY)), 'bool.npy', "dtype '|b1'", 'integer class labels');
  });

  it('rejects wrong shapes, saying what was found and expected', async () => {
    const oneHot = fx.write('onehot.npy', encodeNpy(new Float32Array(12), [4, 3]));
    await rejectsWithData(loadDataset(npyConfig(x, oneHot)), 'onehot.npy', 'shape (4, 3)', 'expected integer labels of shape (N,)', 'argmax');
    const flat = fx.write('flat.npy', encodeNpy(new Float32Array(4), [4]));
    await rejectsWithData(loadDataset(npyConfig(flat, y)), 'flat.npy', 'shape (4)', 'expected features of shape (N, F)');
    const y3 = fx.write('y3.npy', encodeNpy(Int32Array.from([0, 1, 1]), [3]));
    await rejectsWithData(loadDataset(npyConfig(x, y3)), 'y3.npy', 'has 3 labels', 'has 4 rows');
    const truncated = fx.write('trunc.npy', encodeNpy(xValues, [4, 2, 3]).subarray(0, 128 + 50));
    await rejectsWithData(loadDataset(npyConfig(truncated, y)), 'trunc.npy', 'truncated', 'needs 96 bytes', 'has 50');
    const fiveDims = fx.write('5d.npy', encodeNpy(new Float32Array(4 * 16), [4, 2, 2, 2, 2]));
    await rejectsWithData(loadDataset(npyConfig(fiveDims, y)), '5d.npy', 'at most 3 dimensions', 'data.inputShape');
  });

  it('rejects NaN features with their row and feature index', async () => {
    const withNaN = xValues.slice();
    withNaN[1 * 6 + 2] = NaN;
    const bad = fx.write('nan.npy', encodeNpy(withNaN, [4, 2, 3]));
    await rejectsWithData(loadDataset(npyConfig(bad, y)), 'nan.npy', 'row 1', 'feature 2', 'NaN is not finite');
    const huge = fx.write('huge.npy', encodeNpy(Float64Array.from([1, 1e300, 0, 0]), [4, 1]));
    await rejectsWithData(loadDataset(npyConfig(huge, y)), 'huge.npy', 'row 1', 'outside the float32 range');
  });

  it('rejects non-integer and negative labels', async () => {
    const fractional = fx.write('yfrac.npy', encodeNpy(Float32Array.from([0, 1, 2.5, 1]), [4]));
    await rejectsWithData(loadDataset(npyConfig(x, fractional)), 'yfrac.npy', 'row 2', 'label 2.5 is not an integer');
    const negative = fx.write('yneg.npy', encodeNpy(Int8Array.from([0, -3, 1, 1]), [4]));
    await rejectsWithData(loadDataset(npyConfig(x, negative)), 'yneg.npy', 'row 1', 'label -3 is negative');
  });
});

describe('data: normalization statistics come from the training rows only', () => {
  const fx = new FixtureDir();
  after(() => fx.remove());
  // feature 0 spans [2, 6] in train; feature 1 is constant 5 in train.
  let train: string;
  let test: string;
  before(() => {
    train = fx.write('train.csv', 'a,b,label\n2,5,0\n4,5,1\n6,5,0\n100,-100,1\n');
    test = fx.write('test.csv', 'a,b,label\n10,7,0\n');
  });
  const cut = { train: 3 };

  it('minmax', async () => {
    const ds = await loadDataset(csvConfig(train, test, { normalize: 'minmax', maxSamples: cut }));
    assert.deepEqual(Array.from(ds.train.x), [0, 0, 0.5, 0, 1, 0]);
    assert.deepEqual(Array.from(ds.test.x), [2, 2], 'test scaled with the train min and range (constant feature: range 1)');
    assert.deepEqual(Array.from(ds.normalization.shift), [2, 5]);
  });

  it('standard', async () => {
    const ds = await loadDataset(csvConfig(train, test, { normalize: 'standard', maxSamples: cut }));
    const std = Math.sqrt(8 / 3);
    const expectTrain = [-2 / std, 0, 0, 0, 2 / std, 0];
    ds.train.x.forEach((v, i) => assert.ok(Math.abs(v - expectTrain[i]) < 1e-6, `train[${i}] = ${v}`));
    assert.ok(Math.abs(ds.test.x[0] - 6 / std) < 1e-6);
    assert.equal(ds.test.x[1], 2);
    assert.notEqual(ds.fingerprint.train, (await loadDataset(csvConfig(train, test, { maxSamples: cut }))).fingerprint.train);
  });
});

describe('data: teacher logits', () => {
  const fx = new FixtureDir();
  after(() => fx.remove());
  const logits = Float32Array.from({ length: 4 * 3 }, (_, i) => i - 5.5);

  it('reads float32 and float64 .npy, and JSON lines, cut to keepRows', () => {
    const f4 = fx.write('t.npy', encodeNpy(logits, [4, 3]));
    assert.deepEqual(loadTeacherLogits(f4, 4, 3, 'train'), logits);
    const f8 = fx.write('t64.npy', encodeNpy(Float64Array.from(logits), [4, 3]));
    assert.deepEqual(loadTeacherLogits(f8, 4, 3, 'train', 2), logits.slice(0, 6));
    const lines = [0, 1, 2, 3].map((r) => JSON.stringify(Array.from(logits.slice(r * 3, r * 3 + 3)))).join('\n');
    const jsonl = fx.write('t.jsonl', `${lines}\n`);
    assert.deepEqual(loadTeacherLogits(jsonl, 4, 3, 'test'), logits);
    assert.deepEqual(loadTeacherLogits(jsonl, 4, 3, 'test', 1), logits.slice(0, 3));
  });

  it('rejects a row count differing from the data file, naming both counts and the fix', () => {
    const f4 = fx.write('rows.npy', encodeNpy(logits, [4, 3]));
    throwsData(() => loadTeacherLogits(f4, 5, 3, 'train'), 'rows.npy', 'has 4 rows', '5 rows', 'teacher.logits.train', 'before data.maxSamples');
  });

  it('rejects a class count differing from the data', () => {
    const f4 = fx.write('classes.npy', encodeNpy(logits, [4, 3]));
    throwsData(() => loadTeacherLogits(f4, 4, 10, 'test'), 'classes.npy', '3 logits per row', '10 classes');
    const ragged = fx.write('ragged.jsonl', '[1, 2, 3]\n[1, 2]\n');
    throwsData(() => loadTeacherLogits(ragged, 2, 3, 'test'), 'ragged.jsonl', 'line 2 has 2 logits', 'first line has 3');
  });

  it('rejects integer logits, bad JSON and non-finite logits', () => {
    const ints = fx.write('ints.npy', encodeNpy(new Int32Array(12), [4, 3]));
    throwsData(() => loadTeacherLogits(ints, 4, 3, 'train'), 'ints.npy', "dtype '<i4'", 'float32');
    const broken = fx.write('broken.jsonl', '[1, 2, 3]\n[1, 2,\n');
    throwsData(() => loadTeacherLogits(broken, 2, 3, 'train'), 'broken.jsonl', 'line 2 is not valid JSON');
    const withNaN = logits.slice();
    withNaN[4] = NaN;
    const nan = fx.write('nan.npy', encodeNpy(withNaN, [4, 3]));
    throwsData(() => loadTeacherLogits(nan, 4, 3, 'train'), 'nan.npy', 'row 1', 'class 1', 'not finite');
    throwsData(() => loadTeacherLogits(fx.path('absent.npy'), 4, 3, 'test'), 'not found', 'absent.npy', 'teacher.logits.test');
    const notNpy = fx.write('text.npy', '[1, 2, 3]\n');
    throwsData(() => loadTeacherLogits(notNpy, 1, 3, 'test'), 'text.npy', 'is not a .npy file');
  });
});

describe('data: splits, probe set, shuffles', () => {
  // 7 classes with uneven sizes 1, 5, 10, …, 55, interleaved.
  const labelList: number[] = [];
  for (let c = 0; c < 7; c++) for (let i = 0; i < Math.max(1, c * 9); i++) labelList.push(c);
  const rng = createRng(3);
  const labels = Int32Array.from(
    labelList
      .map((l) => [l, rng()] as const)
      .sort((a, b) => a[1] - b[1])
      .map(([l]) => l),
  );
  const numClasses = 7;

  it('stratifiedSplit is disjoint, covers every row, and keeps each class within one of its share', () => {
    const fraction = 0.2;
    const { trainIdx, valIdx } = stratifiedSplit(labels, numClasses, fraction, 42);
    const all = [...trainIdx, ...valIdx].sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from(labels, (_, i) => i),
    );
    assert.equal(valIdx.length, Math.round(labels.length * fraction));
    const total = classCounts(labels, numClasses);
    const val = classCounts(
      Int32Array.from(valIdx, (i) => labels[i]),
      numClasses,
    );
    val.forEach((n, c) => assert.ok(Math.abs(n - total[c] * fraction) <= 1, `class ${c}: ${n} of ${total[c]}`));
  });

  it('stratifiedSplit is fixed for a seed and differs across seeds', () => {
    const a = stratifiedSplit(labels, numClasses, 0.3, 7);
    const b = stratifiedSplit(labels, numClasses, 0.3, 7);
    const c = stratifiedSplit(labels, numClasses, 0.3, 8);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.valIdx, c.valIdx);
    assert.equal(stratifiedSplit(labels, numClasses, 0, 1).valIdx.length, 0);
  });

  it('selectProbe is stratified, unique, deterministic, and grouped by class', () => {
    const probe = selectProbe(labels, numClasses, 20, 5);
    assert.equal(probe.length, 20);
    assert.equal(new Set(probe).size, 20);
    const perClass = classCounts(
      Int32Array.from(probe, (i) => labels[i]),
      numClasses,
    );
    // Round-robin: class 0 has a single row, the others share the rest evenly.
    assert.equal(perClass[0], 1);
    for (let c = 1; c < numClasses; c++) assert.ok(perClass[c] === 3 || perClass[c] === 4, `class ${c}: ${perClass[c]}`);
    const probeLabels = probe.map((i) => labels[i]);
    assert.deepEqual(
      probeLabels,
      [...probeLabels].sort((a, b) => a - b),
    );
    assert.deepEqual(selectProbe(labels, numClasses, 20, 5), probe);
    assert.notDeepEqual(selectProbe(labels, numClasses, 20, 6), probe);
    assert.equal(selectProbe(labels, numClasses, 10_000, 5).length, labels.length);
  });

  it('createRng is seeded, in [0, 1); shuffledIndices is a permutation; gatherSamples copies rows', () => {
    const a = createRng(9);
    const b = createRng(9);
    const seq = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      seq,
      Array.from({ length: 1000 }, () => b()),
    );
    assert.ok(seq.every((v) => v >= 0 && v < 1));
    assert.ok(Math.abs(seq.reduce((s, v) => s + v, 0) / 1000 - 0.5) < 0.05);
    const perm = shuffledIndices(50, createRng(1));
    assert.deepEqual(
      [...perm].sort((p, q) => p - q),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.notDeepEqual(
      Array.from(perm),
      Array.from({ length: 50 }, (_, i) => i),
    );
    const s = { x: Float32Array.from([0, 1, 10, 11, 20, 21]), y: Int32Array.from([5, 6, 7]), count: 3 };
    const g = gatherSamples(s, [2, 0], 2);
    assert.deepEqual(g, { x: Float32Array.from([20, 21, 0, 1]), y: Int32Array.from([7, 5]), count: 2 });
  });
});
