/**
 * Image-folder datasets on real Fashion-MNIST: a slice written out as PNG files (class folders, and a manifest in
 * the IDX files' order) gives exactly the IDX rows and the IDX run's metrics; JPEG, resizing, the decoded cache, and
 * a clear error for each kind of bad input.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { DataConfig } from '../../src/shared/config';
import { DistillError } from '../../src/shared/errors';
import type { ModelReport, Summary } from '../../src/shared/records';
import { readJson } from '../../src/shared/runDir';
import { loadDataset } from '../../src/engine/data';
import { FASHION_CLASS_NAMES, fashionMnistData } from '../fixtures/fashionMnist';
import { runEngine, smallConfig, tempDir } from './helpers';

const CNN = path.join(__dirname, 'fixtures', 'onnx', 'fashion-cnn.onnx');
const SLICE = { train: 600, test: 200 };

function writePng(file: string, width: number, height: number, pixels: Uint8Array | number[], color = false): void {
  const png = new PNG({ width, height, colorType: color ? 2 : 0, inputColorType: color ? 2 : 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(pixels);
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: color ? 2 : 0, inputColorType: color ? 2 : 0, inputHasAlpha: false, bitDepth: 8 }));
}

describe('engine: image-folder datasets', function () {
  this.timeout(600_000);
  const dir = tempDir('distill-images-');
  const idx = { ...fashionMnistData(SLICE, { classNames: FASHION_CLASS_NAMES }), normalize: 'auto' } as DataConfig;
  const folders = path.join(dir, 'folders');
  const manifestDir = path.join(dir, 'flat');
  const imagesConfig = (train: object, test: object, extra: object = {}) =>
    ({ format: 'images', train, test, classNames: FASHION_CLASS_NAMES, normalize: 'auto', ...extra }) as DataConfig;
  const byFolder = () => imagesConfig({ dir: path.join(folders, 'train') }, { dir: path.join(folders, 'test') });
  const byManifest = () => imagesConfig({ manifest: path.join(manifestDir, 'train.csv') }, { manifest: path.join(manifestDir, 'test.jsonl') });
  const refusal = async (cfg: DataConfig, pattern: RegExp) => {
    await assert.rejects(loadDataset(cfg), (e: unknown) => {
      assert.ok(e instanceof DistillError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  };

  before(async () => {
    // The IDX slice as 8-bit grayscale PNGs: class folders named 0-…-9 sort in label order (as torchvision's), and a
    // flat folder with a manifest that lists the images in the IDX files' order.
    const ds = await loadDataset({ ...idx, normalize: 'none' });
    for (const split of ['train', 'test'] as const) {
      const s = ds[split];
      const lines = ['path,label'];
      for (let i = 0; i < s.count; i++) {
        const pixels = Uint8Array.from(s.x.subarray(i * 784, (i + 1) * 784));
        const name = `${String(i).padStart(5, '0')}.png`;
        const classDir = path.join(folders, split, `${s.y[i]}`);
        fs.mkdirSync(classDir, { recursive: true });
        writePng(path.join(classDir, name), 28, 28, pixels);
        fs.mkdirSync(manifestDir, { recursive: true });
        fs.copyFileSync(path.join(classDir, name), path.join(manifestDir, `${split}-${name}`));
        lines.push(`${split}-${name},${s.y[i]}`);
      }
      if (split === 'train') fs.writeFileSync(path.join(manifestDir, 'train.csv'), lines.join('\n') + '\n');
      else
        fs.writeFileSync(
          path.join(manifestDir, 'test.jsonl'),
          lines
            .slice(1)
            .map((l) => JSON.stringify({ path: l.split(',')[0], label: Number(l.split(',')[1]) }))
            .join('\n') + '\n',
        );
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a manifest in file order gives exactly the IDX rows; class folders give the same rows grouped by class', async () => {
    const fromIdx = await loadDataset(idx);
    const fromManifest = await loadDataset(byManifest());
    assert.deepEqual(fromManifest.inputShape, [28, 28, 1]);
    assert.deepEqual(fromManifest.train.x, fromIdx.train.x);
    assert.deepEqual(fromManifest.test.y, fromIdx.test.y);
    assert.equal(fromManifest.fingerprint.test, fromIdx.fingerprint.test);

    const fromFolders = await loadDataset({ ...byFolder(), classNames: undefined });
    assert.deepEqual(fromFolders.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // The same rows, ordered by class then by file name (the IDX index): a stable sort of the IDX rows by label.
    const order = Array.from({ length: SLICE.train }, (_, i) => i).sort((a, b) => fromIdx.train.y[a] - fromIdx.train.y[b] || a - b);
    for (const [k, i] of [
      [0, order[0]],
      [137, order[137]],
      [SLICE.train - 1, order[SLICE.train - 1]],
    ]) {
      assert.deepEqual(fromFolders.train.x.subarray(k * 784, (k + 1) * 784), fromIdx.train.x.subarray(i * 784, (i + 1) * 784));
      assert.equal(fromFolders.train.y[k], fromIdx.train.y[i]);
    }
  });

  it("the same run from PNG files gives exactly the IDX run's metrics", async () => {
    const runWith = async (data: DataConfig, name: string) => {
      const config = smallConfig(dir, { name, data, teacher: { model: CNN }, training: { epochs: 1, batchSize: 64, learningRate: 0.003 } });
      config.output.cacheDir = path.join(dir, `cache-${name}`);
      const run = await runEngine(config);
      assert.equal(run.finished.status, 'completed', run.finished.reason);
      return readJson<Summary>(path.join(run.runDir, 'summary.json'))!;
    };
    const metrics = (r: ModelReport) => ({
      accuracy: r.accuracy,
      macroF1: r.macroF1,
      kl: r.klToTeacher,
      agreement: r.agreement,
      ece: r.ece,
      confusion: r.confusion,
    });
    const fromIdx = await runWith(idx, 'idx');
    const fromPng = await runWith(byManifest(), 'png');
    assert.deepEqual(metrics(fromPng.teacher), metrics(fromIdx.teacher));
    assert.deepEqual(metrics(fromPng.student), metrics(fromIdx.student));
    // Class folders change the row order, hence the shuffles and the student; the teacher's test metrics do not depend on it.
    const fromFolders = await runWith(byFolder(), 'folders');
    const { ece, ...orderFree } = metrics(fromFolders.teacher);
    const { ece: idxEce, ...idxOrderFree } = metrics(fromIdx.teacher);
    assert.deepEqual(orderFree, idxOrderFree);
    // ECE sums per-row float64 terms, whose order changes with the rows': equal to ~1e-16 relative, not bit for bit.
    assert.ok(Math.abs(ece! - idxEce!) < 1e-12);
  });

  it('data.unlabeled: a folder of images at any depth (sorted by path), or a manifest whose labels are ignored', async () => {
    const fromIdx = await loadDataset(idx);
    const flat = await loadDataset({ ...byManifest(), unlabeled: { manifest: path.join(manifestDir, 'train.csv') } } as DataConfig);
    assert.equal(flat.unlabeled!.count, SLICE.train);
    assert.equal(flat.sourceRows.unlabeled, SLICE.train);
    // The same pixels as the labelled training rows, scaled the same way (divide by 255).
    assert.deepEqual(flat.unlabeled!.x, fromIdx.train.x);

    const tree = await loadDataset({ ...byManifest(), unlabeled: { dir: path.join(folders, 'test') }, maxSamples: { unlabeled: 50 } } as DataConfig);
    const fromFolders = await loadDataset({ ...byFolder(), classNames: undefined });
    // Class subfolders are walked in path order ("0/00003.png" …), the order the class-folder test split has.
    assert.equal(tree.unlabeled!.count, 50);
    assert.equal(tree.sourceRows.unlabeled, SLICE.test);
    assert.deepEqual(tree.unlabeled!.x, fromFolders.test.x.subarray(0, 50 * 784));

    await refusal(
      { ...byManifest(), unlabeled: { dir: path.join(dir, 'nowhere') } } as DataConfig,
      /Image folder not found: .*nowhere\. Fix data\.unlabeled\.dir/,
    );
    const empty = path.join(dir, 'no-images');
    fs.mkdirSync(path.join(empty, 'sub'), { recursive: true });
    await refusal(
      { ...byManifest(), unlabeled: { dir: empty } } as DataConfig,
      /no-images: holds no PNG or JPEG images \(subfolders included\)\. Point data\.unlabeled\.dir/,
    );
  });

  it('decodes once: the second load reads the cache, with the same rows', async () => {
    const cacheDir = path.join(dir, 'decode-cache');
    const first: string[] = [];
    const a = await loadDataset(byFolder(), (m) => first.push(m), { cacheDir });
    const second: string[] = [];
    const b = await loadDataset(byFolder(), (m) => second.push(m), { cacheDir });
    assert.ok(!first.some((m) => /read from the cache/.test(m)));
    assert.ok(second.filter((m) => /read from the cache/.test(m)).length === 2, second.join('\n'));
    assert.deepEqual(b.train.x, a.train.x);
    assert.deepEqual(b.test.y, a.test.y);
    // An edited image is decoded again.
    const victim = path.join(folders, 'test', '0', fs.readdirSync(path.join(folders, 'test', '0'))[0]);
    const original = fs.readFileSync(victim);
    writePng(victim, 28, 28, new Array(784).fill(255));
    try {
      const third: string[] = [];
      const c = await loadDataset(byFolder(), (m) => third.push(m), { cacheDir });
      assert.equal(third.filter((m) => /read from the cache/.test(m)).length, 1, third.join('\n'));
      assert.equal(c.test.x[0], 1);
    } finally {
      fs.writeFileSync(victim, original);
    }
  });

  it('reads JPEG and RGB, converts channels to data.inputShape, and resizes (bilinear, nearest, centre crop)', async () => {
    const root = path.join(dir, 'mixed');
    for (const c of ['a', 'b']) fs.mkdirSync(path.join(root, 'train', c), { recursive: true });
    fs.mkdirSync(path.join(root, 'test', 'a'), { recursive: true });
    // A 28×40 grayscale image: a gradient in the centre 28×28, white 6-pixel bands left and right.
    const wide = new Array(28 * 40).fill(0).map((_, i) => (i % 40 < 6 || i % 40 >= 34 ? 255 : (i % 40) * 3 + Math.floor(i / 40)));
    writePng(path.join(root, 'train', 'a', 'wide.png'), 40, 28, wide);
    // An RGB JPEG (quality 100: lossy, but within a few levels) and an RGB PNG.
    const rgb = new Uint8Array(28 * 28 * 4).map((_, i) => (i % 4 === 3 ? 255 : i % 4 === 0 ? 200 : i % 4 === 1 ? 100 : 50));
    fs.writeFileSync(path.join(root, 'train', 'b', 'color.jpg'), jpeg.encode({ data: rgb, width: 28, height: 28 }, 100).data);
    writePng(
      path.join(root, 'test', 'a', 'color.png'),
      28,
      28,
      Array.from({ length: 28 * 28 * 3 }, (_, i) => [200, 100, 50][i % 3]),
      true,
    );
    const cfg = (extra: object) =>
      imagesConfig({ dir: path.join(root, 'train') }, { dir: path.join(root, 'test') }, { classNames: undefined, normalize: 'none', ...extra });

    await refusal(
      cfg({}),
      /The images mix channel counts: .*color\.jpg is colour \(RGB\) but .*wide\.png is grayscale\. Set data\.inputShape to \[28, 40, 3\]/,
    );
    const gray = await loadDataset(cfg({ inputShape: [28, 28, 1], fit: 'crop' }));
    // Centre crop of 28×40 to 28×28 is the gradient exactly (the window starts at column 6, no interpolation).
    for (const [y, x] of [
      [0, 0],
      [13, 5],
      [27, 27],
    ])
      assert.equal(gray.train.x[y * 28 + x], wide[y * 40 + x + 6]);
    // RGB → luma (ITU-R 601: 0.299·200 + 0.587·100 + 0.114·50 = 124.2 → 124); the JPEG within 3 levels of it.
    assert.equal(gray.test.x[0], 124);
    assert.ok(Math.abs(gray.train.x[784] - 124) <= 3, String(gray.train.x[784]));
    const color = await loadDataset(cfg({ inputShape: [14, 14, 3], resizeMode: 'nearest' }));
    assert.deepEqual(Array.from(color.test.x.subarray(0, 3)), [200, 100, 50]);
    // Grayscale to RGB repeats the value; nearest from 28×40 to 14×14 picks row floor((y + 0.5)·2), column floor((x + 0.5)·40/14).
    assert.deepEqual(Array.from(color.train.x.subarray(3 * 5, 3 * 5 + 3)), Array(3).fill(wide[1 * 40 + Math.floor((5.5 * 40) / 14)]));
  });

  describe('clear errors', () => {
    const root = path.join(dir, 'bad');
    const make = (files: Record<string, Buffer | string>) => {
      fs.rmSync(root, { recursive: true, force: true });
      for (const [f, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
        fs.writeFileSync(path.join(root, f), content);
      }
    };
    const good = () => {
      const png = new PNG({ width: 2, height: 2, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
      png.data = Buffer.from([0, 50, 100, 150]);
      return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
    };
    const cfg = (extra: object = {}) => imagesConfig({ dir: path.join(root, 'train') }, { dir: path.join(root, 'test') }, { classNames: undefined, ...extra });

    it('a corrupt image is named with its path; data.onBadImage "skip" leaves it out with a warning', async () => {
      make({
        'train/a/1.png': good(),
        'train/a/2.png': good().subarray(0, 30),
        'train/b/1.jpg': 'not really a jpeg',
        'train/b/2.png': good(),
        'test/a/1.png': good(),
      });
      await refusal(cfg(), /train\/a\/2\.png: corrupt PNG .*set data\.onBadImage to "skip"/);
      const warnings: string[] = [];
      const ds = await loadDataset(cfg({ onBadImage: 'skip' }), () => undefined, { warn: (m) => warnings.push(m) });
      assert.equal(ds.train.count, 2);
      assert.deepEqual(Array.from(ds.train.y), [0, 1]);
      assert.match(warnings.join('\n'), /Skipped 2 bad train images .*2\.png \(corrupt PNG.*1\.jpg \(not a PNG or JPEG file/);
    });

    it('an empty class folder, a test class that train lacks, no class folders, a missing folder', async () => {
      make({ 'train/a/1.png': good(), 'train/b/readme.txt': 'x', 'test/a/1.png': good() });
      await refusal(cfg(), /train\/b: class folder "b" has no PNG or JPEG images/);
      make({ 'train/a/1.png': good(), 'train/b/1.png': good(), 'test/c/1.png': good() });
      await refusal(cfg(), /test: has a class folder "c" that the training data .* lacks; its classes are "a", "b"/);
      make({ 'train/1.png': good(), 'test/a/1.png': good() });
      await refusal(cfg(), /train: has no class subfolders \(it holds 1 images directly\)/);
      await refusal(imagesConfig({ dir: path.join(root, 'nope') }, { dir: path.join(root, 'test') }), /Image folder not found: .*nope\. Fix data\.train\.dir/);
    });

    it('over the memory limit, before decoding, naming the fixes', async () => {
      make({ 'train/a/1.png': good(), 'train/b/1.png': good(), 'test/a/1.png': good() });
      await refusal(
        cfg({ inputShape: [2048, 2048, 3], memoryLimitMB: 16 }),
        /would take 180\.00 MiB of memory once decoded \(2 \+ 1 images of \[2048, 2048, 3\].*over the limit of 16\.00 MiB\. Use fewer images \(data\.maxSamples\), a smaller data\.inputShape, or raise data\.memoryLimitMB/,
      );
    });

    it('a manifest label that is not a training class', async () => {
      make({ 'a.png': good(), 'b.png': good(), 'train.csv': 'path,label\na.png,cat\nb.png,dog\n', 'test.jsonl': '{"path": "a.png", "label": "bird"}\n' });
      await refusal(
        imagesConfig({ manifest: path.join(root, 'train.csv') }, { manifest: path.join(root, 'test.jsonl') }, { classNames: undefined }),
        /test\.jsonl: line 1: class "bird" is not among the training classes \(cat, dog\)/,
      );
    });
  });
});
