import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { parse } from 'jsonc-parser';
import { setImageDataInConfig } from '../../src/extension/configEdit';
import { validateConfig } from '../../src/shared/validate';
import { describeImageDataset, findImageFolders, imageDatasets } from '../../src/extension/imageDatasets';

const at = (...parts: string[]) => path.join('/w', ...parts);
const images = (dir: string, classes: string[], perClass: number) => classes.flatMap((c) => Array.from({ length: perClass }, (_, i) => at(dir, c, `${i}.png`)));

describe('image datasets in the workspace (Models view, "Use as Data")', () => {
  it('finds ImageFolder roots: two or more class folders of images, no loose images beside them', () => {
    const files = [
      ...images('data/train', ['cat', 'dog'], 3),
      ...images('data/test', ['cat', 'dog'], 2),
      ...images('one-class', ['only'], 4),
      ...images('mixed', ['a', 'b'], 1),
      at('mixed', 'loose.jpg'),
      at('data', 'train', 'cat', 'notes.txt'),
    ];
    assert.deepEqual(
      findImageFolders(files).map((f) => [path.relative('/w', f.dir), f.classes, f.images]),
      [
        ['data/test', ['cat', 'dog'], 4],
        ['data/train', ['cat', 'dog'], 6],
      ],
    );
  });

  it('pairs train/ with a test/ or val/ sibling whose classes it has; others stand alone', () => {
    const files = [
      ...images('fmnist/train', ['0', '1', '2'], 2),
      ...images('fmnist/val', ['0', '2'], 1),
      ...images('pets/train', ['cat', 'dog'], 1),
      ...images('pets/test', ['cat', 'fox'], 1),
      ...images('loose', ['x', 'y'], 1),
    ];
    const entries = imageDatasets(files);
    assert.deepEqual(
      entries.map((e) => [path.relative('/w', e.train.dir), e.test && path.relative('/w', e.test.dir)]),
      [
        ['fmnist/train', 'fmnist/val'],
        ['loose', undefined],
        ['pets/test', undefined],
        ['pets/train', undefined],
      ],
    );
    assert.equal(describeImageDataset(entries[0]), '3 classes · 6 images + 2 in val/');
    assert.equal(describeImageDataset(entries[1]), '2 classes · 2 images');
  });

  it("writes the folders into the config: keeps format-free keys and comments, drops the old format's own", () => {
    const text = `{
  // my experiment
  "name": "x",
  "data": {
    "format": "csv", "header": true, "labelColumn": 0,
    "train": { "path": "a.csv" }, "test": { "path": "b.csv" },
    "classNames": ["a", "b"], "validationSplit": 0.2, "maxSamples": { "train": 100 }
  },
  "teacher": { "preset": "cnn-medium" },
  "student": { "preset": "mlp" }
}`;
    const { text: next, edit } = setImageDataInConfig(text, { train: 'images/train', test: 'images/test' });
    assert.ok(next.includes('// my experiment'));
    assert.equal(text.slice(0, edit.offset) + edit.content + text.slice(edit.offset + edit.length), next);
    const data = parse(next).data;
    assert.deepEqual(data, {
      format: 'images',
      train: { dir: 'images/train' },
      test: { dir: 'images/test' },
      validationSplit: 0.2,
      maxSamples: { train: 100 },
    });
    assert.ok(validateConfig(parse(next)).ok);
    // A config with no data section gets one.
    assert.deepEqual(parse(setImageDataInConfig('{ "name": "y" }', { train: 't', test: 'v' }).text).data, {
      format: 'images',
      train: { dir: 't' },
      test: { dir: 'v' },
    });
  });
});
