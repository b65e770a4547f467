/**
 * Bad input through the real CLI (`distill run`, in-process): every input named in issue 11, each with the
 * message a user must see, then a short seeded slice of the fuzz suite (`npm run fuzz` runs 2,000 cases).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../support/tempDirs';
import { CLASSES, ROWS, SIDE, baseConfig, idxBytes, writeBase, type FileSet } from './base';
import type { Expect, FuzzCase } from './cases';
import { runFuzz } from './harness';
import { judge } from './judge';
import { runCli, type CliOutput } from './runCli';

type Json = Record<string, unknown>;

describe('bad input ends in one clear message, never a stack trace (issue 11)', function () {
  this.timeout(120_000);
  let root: string;
  let baseDir: string;
  let base: FileSet;
  let n = 0;

  before(async () => {
    root = tempDir('distill-badinput-');
    baseDir = path.join(root, 'base');
    base = await writeBase(baseDir);
  });

  /** Runs `distill run` on a config (object or text) with extra files, judges it, and returns the output. */
  async function run(what: string, expect: Expect, config: Json | string | Buffer, files: FileSet = {}): Promise<CliOutput & { dir: string }> {
    const dir = path.join(root, `case-${n}`);
    fs.mkdirSync(dir);
    fs.symlinkSync(baseDir, path.join(dir, 'base'), 'dir');
    for (const [rel, bytes] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), bytes);
    }
    const text = typeof config === 'string' || Buffer.isBuffer(config) ? config : JSON.stringify(config, null, 2);
    fs.writeFileSync(path.join(dir, 'fuzz.distill.json'), text);
    const out = await runCli(['run', path.join(dir, 'fuzz.distill.json')]);
    const c: FuzzCase = { index: n++, what, expect, configText: text, files };
    const verdict = judge(c, out, dir, { seconds: 0, peakRssGrowthKb: 0 });
    assert.equal(verdict.outcome, 'pass', `${what}: ${verdict.detail}\n${out.stderr.slice(-1500)}`);
    return { ...out, dir };
  }

  const config = (patch: (c: Json) => void = () => {}): Json => {
    const c = baseConfig() as Json;
    patch(c);
    return c;
  };
  const teacherFile = (c: Json) => (c.teacher = { model: 'model/model.json' });
  const modelJson = () =>
    JSON.parse(base['teacher/model.json'].toString()) as { modelTopology: { config: { layers: { config: Json }[] } }; weightsManifest: Json[] };
  const failureLine = (out: CliOutput) => out.stderr.split('\n').find((l) => /^(distill: |Run failed: )/.test(l)) ?? '';

  // -------------------------------------------------------------------------------------------- config files

  it('a hidden layer width of 1e29 is refused by validation, naming the field and the maximum', async () => {
    const out = await run(
      'width 1e29',
      2,
      config((c) => (c.student = { preset: 'mlp', hidden: [1e29] })),
    );
    assert.match(failureLine(out), /student\.hidden\[0\] must be between 1 and 65536 \(got 1e\+29\)/);
  });

  it('JSON nested 10,000 deep is a syntax error at the bracket that goes too deep', async () => {
    const text = JSON.stringify(config()).replace('"seed":1', `"seed":${'['.repeat(10000)}${']'.repeat(10000)}`);
    const out = await run('10,000 deep', 2, text);
    assert.match(failureLine(out), /fuzz\.distill\.json:1:\d+: invalid JSON at line 1, column \d+: nested more than 64 levels deep/);
  });

  for (const section of ['distillation', 'output', 'training', 'evaluation', 'engine', 'compare'] as const) {
    it(`"${section}": [] is refused (it used to pass and run on defaults)`, async () => {
      const out = await run(
        `${section} []`,
        2,
        config((c) => (c[section] = [])),
      );
      assert.match(failureLine(out), new RegExp(`${section} must be an object \\{ … \\}, not an array`));
    });
  }

  it('1e999 in an integer field is refused, not read as null later', async () => {
    const text = JSON.stringify(
      config((c) => ((c.training as Json).epochs = 424242)),
      null,
      2,
    ).replace('424242', '1e999');
    const out = await run('1e999', 2, text);
    assert.match(failureLine(out), /training\.epochs is a number too large to represent/);
  });

  it('a UTF-8 BOM before a valid config is accepted, and the run completes', async () => {
    await run('BOM', 0, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(config()))]));
  });

  it('output.cacheDir that is a file is a config error naming the field', async () => {
    const out = await run(
      'cacheDir a file',
      2,
      config((c) => (c.output = { runsDir: 'runs', cacheDir: 'a-file' })),
      { 'a-file': Buffer.from('x') },
    );
    assert.match(failureLine(out), /output\.cacheDir is \S+a-file, but that is a file, not a folder\. Point output\.cacheDir at a folder/);
    assert.ok(!fs.existsSync(path.join(out.dir, 'runs')), 'nothing is written');
  });

  it('a "__proto__" key is refused, not taken as the object\'s prototype', async () => {
    const out = await run('__proto__', 2, JSON.stringify(config()).replace('"seed":1', '"__proto__":{"x":1},"seed":1'));
    assert.match(failureLine(out), /the key "__proto__" is not allowed/);
  });

  // -------------------------------------------------------------------------------------------- model files

  it('a model.json that is null fails the run, naming the file', async () => {
    const out = await run('null model.json', 1, config(teacherFile), {
      'model/model.json': Buffer.from('null'),
      'model/weights.bin': base['teacher/weights.bin'],
    });
    assert.match(failureLine(out), /^Run failed: \S+model\.json holds null, not a TensorFlow\.js model\.json object/);
  });

  it('a weightsManifest group without paths, or with weights a string, names the entry', async () => {
    const noPaths = modelJson();
    delete noPaths.weightsManifest[0].paths;
    let out = await run('no paths', 1, config(teacherFile), {
      'model/model.json': Buffer.from(JSON.stringify(noPaths)),
      'model/weights.bin': base['teacher/weights.bin'],
    });
    assert.match(failureLine(out), /weightsManifest\[0\]\.paths is missing or not a list of shard file names/);
    const weightsString = modelJson();
    weightsString.weightsManifest[0].weights = 'weights';
    out = await run('weights a string', 1, config(teacherFile), {
      'model/model.json': Buffer.from(JSON.stringify(weightsString)),
      'model/weights.bin': base['teacher/weights.bin'],
    });
    assert.match(failureLine(out), /weightsManifest\[0\]\.weights is missing or not a list/);
  });

  it('modelTopology given as a string is a model error, not "loadWeights is not a function"', async () => {
    const json = { ...modelJson(), modelTopology: 'sequential' };
    const out = await run('topology string', 1, config(teacherFile), {
      'model/model.json': Buffer.from(JSON.stringify(json)),
      'model/weights.bin': base['teacher/weights.bin'],
    });
    assert.match(failureLine(out), /modelTopology is a string, not the model's layer graph/);
  });

  it('a weight shard longer than its manifest is refused, like our IDX and NPY readers refuse trailing bytes', async () => {
    const shard = Buffer.concat([base['teacher/weights.bin'], Buffer.alloc(12)]);
    const out = await run('trailing shard bytes', 1, config(teacherFile), { 'model/model.json': base['teacher/model.json'], 'model/weights.bin': shard });
    assert.match(
      failureLine(out),
      new RegExp(
        `weight shards hold ${shard.length} bytes but the manifest needs ${shard.length - 12}\\. The shards hold bytes the manifest does not describe`,
      ),
    );
  });

  it('a dense layer of 1e29 units in a model.json is refused before tfjs builds it', async () => {
    const json = modelJson();
    json.modelTopology.config.layers[1].config.units = 1e29;
    const out = await run('units 1e29', 1, config(teacherFile), {
      'model/model.json': Buffer.from(JSON.stringify(json)),
      'model/weights.bin': base['teacher/weights.bin'],
    });
    assert.match(failureLine(out), /modelTopology holds the size 1e\+29, beyond any layer that fits in memory/);
  });

  // -------------------------------------------------------------------------------------------- data files

  it('a 0-row IDX file says it has no rows (not a validation-split problem)', async () => {
    const out = await run(
      '0-row IDX',
      1,
      config((c) => ((c.data as Json).train = { images: 'empty-images.idx', labels: 'empty-labels.idx' })),
      {
        'empty-images.idx': idxBytes([0, SIDE, SIDE], Buffer.alloc(0)),
        'empty-labels.idx': idxBytes([0], Buffer.alloc(0)),
      },
    );
    assert.match(
      failureLine(out),
      /empty-images\.idx: has no rows \(its header says 0 images\): the train split needs at least one sample\. Check data\.train\.images\./,
    );
    assert.doesNotMatch(out.stderr, /validationSplit/);
  });

  it('an IDX header claiming billions of rows is checked against the file size before anything is allocated', async () => {
    const images = idxBytes([0xffffffff, SIDE, SIDE], base['train-images.idx'].subarray(16));
    const before = process.memoryUsage().arrayBuffers;
    const out = await run(
      'billions of rows',
      1,
      config((c) => ((c.data as Json).train = { images: 'huge-images.idx', labels: 'base/train-labels.idx' })),
      { 'huge-images.idx': images },
    );
    assert.match(
      failureLine(out),
      /huge-images\.idx: is truncated: its header says 4294967295 × 4 × 4 = 68719476720 bytes of images, but the file has 768 bytes/,
    );
    // 68 GB claimed; nothing near it may have been allocated (the files here are KBs).
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20);
  });

  it('labels that would mean more classes than a run supports are refused before any per-class allocation', async () => {
    const { encodeNpy } = await import('../../src/engine/data');
    const labels = Int32Array.from({ length: ROWS.train }, (_, i) => (i === 3 ? 2 ** 31 - 1 : i % CLASSES));
    const out = await run(
      'label 2^31-1',
      1,
      config((c) => (c.data = { format: 'npy', train: { x: 'base/train-x.npy', y: 'y.npy' }, test: { x: 'base/test-x.npy', y: 'base/test-y.npy' } })),
      { 'y.npy': encodeNpy(labels, [ROWS.train]) },
    );
    assert.match(failureLine(out), /y\.npy: row 3 \(0-based\): label 2147483647 would mean 2147483648 classes, more than the 100000 a run supports/);
  });

  // -------------------------------------------------------------------------------------------- teacher shapes

  it('a flat teacher on image data is fed reshaped rows, and the run completes', async () => {
    const json = modelJson();
    // Without its Flatten layer (no weights), the first dense layer takes the flat [16] rows itself.
    json.modelTopology.config.layers.shift();
    json.modelTopology.config.layers[0].config.batch_input_shape = [null, SIDE * SIDE];
    await run('flat teacher', 0, config(teacherFile), {
      'model/model.json': Buffer.from(JSON.stringify(json)),
      'model/weights.bin': base['teacher/weights.bin'],
    });
  });

  it('a teacher whose input rank and layout differ (neither side flat) is one error naming both shapes', async () => {
    const json = modelJson();
    json.modelTopology.config.layers[0].config.batch_input_shape = [null, 2, 8];
    const out = await run('teacher [2, 8]', 1, config(teacherFile), {
      'model/model.json': Buffer.from(JSON.stringify(json)),
      'model/weights.bin': base['teacher/weights.bin'],
    });
    assert.match(
      failureLine(out),
      /^Run failed: Input shapes disagree: the teacher \S+model\.json expects \[2, 8\] per sample, but the data gives \[4, 4, 1\]\. Set data\.inputShape/,
    );
  });

  // -------------------------------------------------------------------------------------------- the fuzz slice

  it('a seeded slice of the fuzz suite: 0 crashes, 0 hangs, 0 false successes', async function () {
    this.timeout(600_000);
    const summary = await runFuzz({ seed: 7, cases: 40, workers: 1, timeoutSeconds: 120 });
    const bad = summary.results.filter((r) => r.outcome !== 'pass');
    assert.deepEqual(
      bad.map((r) => `#${r.index} ${r.outcome}: ${r.what}: ${r.detail}`),
      [],
      summary.line,
    );
    assert.equal(summary.counts.cases, 40);
  });
});
