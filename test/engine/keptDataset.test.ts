// An engine kept for many trials keeps the last dataset it loaded (src/engine/data/index.ts): the same config and
// unchanged files give it back, a changed file (the unlabelled rows' too) or another data config reads again, and
// nothing is kept unless asked.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { DataConfig } from '../../src/shared/config';
import { keepLoadedDataset, loadDataset } from '../../src/engine/data';
import { FixtureDir } from './fixtures/dataFiles';

describe('data: the dataset kept between runs of one engine', () => {
  const fx = new FixtureDir();
  afterEach(() => {
    keepLoadedDataset(false);
    fx.remove();
  });

  /** Writes `file` with a set modification time, so that a rewrite is told apart however fast it follows. */
  const write = (name: string, text: string, mtime: number) => {
    const file = fx.write(name, text);
    fs.utimesSync(file, mtime, mtime);
    return file;
  };
  const csvConfig = (maxTrain?: number): DataConfig => ({
    format: 'csv',
    train: { path: fx.path('train.csv') },
    test: { path: fx.path('test.csv') },
    unlabeled: { path: fx.path('pool.csv') },
    labelColumn: 'label',
    header: true,
    validationSplit: 0.1,
    normalize: 'none',
    ...(maxTrain ? { maxSamples: { train: maxTrain } } : {}),
  });
  const writeAll = () => {
    write('train.csv', 'a,label\n1,0\n2,1\n3,0\n', 1_000_000);
    write('test.csv', 'a,label\n4,1\n', 1_000_000);
    write('pool.csv', 'a\n7\n', 1_000_000);
  };

  it('hands back the same dataset while the config and every file read are unchanged', async () => {
    writeAll();
    keepLoadedDataset();
    const messages: string[] = [];
    const first = await loadDataset(csvConfig());
    const again = await loadDataset(csvConfig(), (m) => messages.push(m));
    assert.equal(again, first, 'the kept dataset itself');
    assert.ok(
      messages.some((m) => m.startsWith('Loaded 3 train and 1 unlabelled and 1 test samples') && m.includes('kept')),
      messages.join('\n'),
    );

    write('pool.csv', 'a\n8\n9\n', 2_000_000);
    const changed = await loadDataset(csvConfig());
    assert.notEqual(changed, first);
    assert.deepEqual(Array.from(changed.unlabeled!.x), [8, 9]);

    const cut = await loadDataset(csvConfig(2));
    assert.notEqual(cut, changed);
    assert.equal(cut.train.count, 2);
  });

  it('keeps nothing unless asked', async () => {
    writeAll();
    assert.notEqual(await loadDataset(csvConfig()), await loadDataset(csvConfig()));
  });
});
