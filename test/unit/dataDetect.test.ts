// Which dataset a picked folder holds (src/extension/dataDetect.ts), for New Config and its Quick Fixes.
import { strict as assert } from 'node:assert';
import { detectDataInFolder } from '../../src/extension/dataDetect';

const join = (d: string, n: string) => `${d}/${n}`;

describe('data detection in a picked folder', () => {
  it('finds the four Fashion-MNIST IDX files, gzipped or not', () => {
    const names = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'README'];
    const found = detectDataInFolder('/d', names, join);
    assert.ok('data' in found && found.data.format === 'idx');
    assert.deepEqual(found.data.test, { images: '/d/t10k-images-idx3-ubyte.gz', labels: '/d/t10k-labels-idx1-ubyte.gz' });
    const raw = detectDataInFolder(
      '/d',
      names.map((n) => n.replace('.gz', '')),
      join,
    );
    assert.ok('data' in raw && raw.data.format === 'idx' && (raw.data.train as { images: string }).images === '/d/train-images-idx3-ubyte');
  });

  it('finds a train/test CSV pair and x/y .npy arrays', () => {
    const csv = detectDataInFolder('/d', ['iris_train.csv', 'iris_test.csv'], join);
    assert.ok('data' in csv && csv.data.format === 'csv');
    assert.deepEqual(csv.data.train, { path: '/d/iris_train.csv' });
    const npy = detectDataInFolder('/d', ['x_train.npy', 'y_train.npy', 'x_test.npy', 'y_test.npy'], join);
    assert.ok('data' in npy && npy.data.format === 'npy');
    assert.deepEqual(npy.data.test, { x: '/d/x_test.npy', y: '/d/y_test.npy' });
  });

  it('says what it expected when the folder holds none of them', () => {
    const none = detectDataInFolder('/d', ['train-images-idx3-ubyte.gz', 'notes.txt'], join);
    assert.ok('error' in none);
    assert.match(none.error, /t10k-images-idx3-ubyte/);
  });
});
