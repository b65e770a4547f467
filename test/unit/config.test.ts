import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, loadConfigFile, parseConfigText } from '../../src/shared/configFile';
import { validateConfig } from '../../src/shared/validate';
import { tempDir } from '../support/tempDirs';

const minimal = () => ({
  name: 'x',
  data: { format: 'idx', train: { images: 'a.gz', labels: 'b.gz' }, test: { images: 'c.gz', labels: 'd.gz' } },
  teacher: { preset: 'cnn-medium' },
  student: { preset: 'mlp', hidden: [32] },
});

function issues(raw: unknown): string[] {
  const r = validateConfig(raw);
  assert.equal(r.ok, false, 'expected the config to be rejected');
  return (r as { issues: { message: string }[] }).issues.map((i) => i.message);
}

describe('config validation', () => {
  it('fills in defaults, including inside unions', () => {
    const r = validateConfig(minimal());
    assert.ok(r.ok);
    const c = r.config;
    assert.equal(c.seed, 42);
    assert.equal(c.distillation.temperature, 4);
    assert.equal(c.distillation.alpha, 0.7);
    assert.equal(c.distillation.divergence, 'forward-kl');
    assert.deepEqual(c.distillation.schedule, { type: 'constant' });
    assert.equal(c.data.validationSplit, 0.1);
    assert.equal(c.data.normalize, 'auto');
    assert.ok('preset' in c.teacher && c.teacher.train.epochs === 10);
    assert.equal(c.engine.backend, 'auto');
    assert.equal(c.output.runsDir, 'runs');
  });

  it('names the path, the range and the value', () => {
    assert.deepEqual(issues({ ...minimal(), distillation: { alpha: 1.5 } }), ['distillation.alpha must be between 0 and 1 (got 1.5)']);
    assert.deepEqual(issues({ ...minimal(), distillation: { temperature: 0 } }), ['distillation.temperature must be > 0 and ≤ 100 (got 0)']);
    assert.deepEqual(issues({ ...minimal(), training: { epochs: 2.5 } }), ['training.epochs must be an integer (got 2.5)']);
  });

  it('suggests the intended enum value and field name', () => {
    assert.match(
      issues({ ...minimal(), teacher: { preset: 'cnn-larg' } })[0],
      /teacher\.preset must be one of .* \(got "cnn-larg"\): did you mean "cnn-large"\?/,
    );
    assert.match(issues({ ...minimal(), trainng: {} })[0], /trainng is not a known field: did you mean "training"\?/);
  });

  it('picks the union branch the user meant', () => {
    assert.deepEqual(issues({ ...minimal(), teacher: { model: 5 } }), ['teacher.model must be of type string (got 5)']);
    assert.deepEqual(issues({ ...minimal(), data: { format: 'idx', train: { images: 'a' }, test: { images: 'c', labels: 'd' } } }), [
      'data.train.labels is required',
    ]);
    assert.deepEqual(issues({ ...minimal(), data: { format: 'parquet' } }), ['data.format must be one of "idx", "csv", "npy", "images" (got "parquet")']);
    assert.equal(
      issues({ ...minimal(), teacher: { weights: 'x' } })[0],
      'teacher needs "model", "logits" or "preset" (one of "mlp", "cnn-small", "cnn-medium", "cnn-large"), or a list of these (got { "weights" })',
    );
    assert.deepEqual(issues({ ...minimal(), distillation: { schedule: { type: 'stages', stages: [{ epochs: 1, temperature: 2, alpha: 3 }] } } }), [
      'distillation.schedule.stages[0].alpha must be between 0 and 1 (got 3)',
    ]);
  });

  it('compress: fills the stage defaults and rejects sparsity outside [0, 1), energy outside (0, 1] and unknown formats', () => {
    const r = validateConfig({ ...minimal(), compress: { prune: { sparsity: 0.8 }, lowRank: {}, quantize: ['float16', 'uint8'] } });
    assert.ok(r.ok);
    assert.deepEqual(r.config.compress, {
      prune: { sparsity: 0.8, schedule: 'agp', epochs: 2, scope: 'global' },
      lowRank: { energy: 0.9, epochs: 1 },
      quantize: ['float16', 'uint8'],
    });
    assert.equal(validateConfig(minimal()).ok && (validateConfig(minimal()) as { config: { compress?: unknown } }).config.compress, undefined);
    assert.deepEqual(issues({ ...minimal(), compress: { prune: { sparsity: 1 } } }), ['compress.prune.sparsity must be ≥ 0 and < 1 (got 1)']);
    assert.deepEqual(issues({ ...minimal(), compress: { prune: { sparsity: -0.1 } } }), ['compress.prune.sparsity must be ≥ 0 and < 1 (got -0.1)']);
    assert.deepEqual(issues({ ...minimal(), compress: { lowRank: { energy: 0 } } }), ['compress.lowRank.energy must be > 0 and ≤ 1 (got 0)']);
    assert.deepEqual(issues({ ...minimal(), compress: { lowRank: { energy: 1.2 } } }), ['compress.lowRank.energy must be > 0 and ≤ 1 (got 1.2)']);
    assert.match(
      issues({ ...minimal(), compress: { quantize: ['int8'] } })[0],
      /^compress\.quantize\[0\] must be one of "float16", "uint8", "uint8-per-channel" \(got "int8"\)/,
    );
    assert.deepEqual(issues({ ...minimal(), compress: { prune: {} } }), ['compress.prune.sparsity is required']);
    assert.match(
      issues({ ...minimal(), compress: { prune: { sparsity: 0.5, scope: 'channel' } } })[0],
      /compress\.prune\.scope must be one of "global", "layer"/,
    );
  });

  it('reports a missing required field', () => {
    const { name: _drop, ...rest } = minimal();
    assert.deepEqual(issues(rest), ['name is required']);
  });
});

describe('config files', () => {
  const dir = tempDir('distill-config-');

  it('accepts comments and resolves relative paths against the config folder', () => {
    const file = path.join(dir, 'sub', 'a.distill.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `// an experiment\n${JSON.stringify(minimal(), null, 2)}`);
    const c = loadConfigFile(file);
    assert.ok(c.data.format === 'idx');
    assert.equal(c.data.train.images, path.join(dir, 'sub', 'a.gz'));
    assert.equal(c.output.runsDir, path.join(dir, 'sub', 'runs'));
  });

  it("resolves the transfer set's paths too: data.unlabeled in every format, teacher.logits.unlabeled", () => {
    const base = minimal() as { data: object } & Record<string, unknown>;
    const at = (p: string) => path.join(dir, 'sub', p);
    const parse = (over: object) => parseConfigText(JSON.stringify({ ...base, ...over }), at('t.distill.json'));
    const idx = parse({ data: { ...base.data, unlabeled: { images: 'u.gz' } }, teacher: { logits: { train: 'lt.npy', test: 'ls.npy', unlabeled: 'lu.npy' } } });
    assert.ok(idx.data.format === 'idx' && 'logits' in idx.teacher);
    assert.equal(idx.data.unlabeled!.images, at('u.gz'));
    assert.deepEqual(idx.teacher.logits, { train: at('lt.npy'), test: at('ls.npy'), unlabeled: at('lu.npy') });
    const csv = parse({ data: { format: 'csv', train: { path: 'a.csv' }, test: { path: 'b.csv' }, unlabeled: { path: 'u.csv' } } });
    assert.ok(csv.data.format === 'csv' && csv.data.unlabeled!.path === at('u.csv'));
    const npy = parse({ data: { format: 'npy', train: { x: 'x.npy', y: 'y.npy' }, test: { x: 'tx.npy', y: 'ty.npy' }, unlabeled: { x: 'ux.npy' } } });
    assert.ok(npy.data.format === 'npy' && npy.data.unlabeled!.x === at('ux.npy'));
    const images = parse({ data: { format: 'images', train: { dir: 'tr' }, test: { manifest: 'te.csv' }, unlabeled: { dir: 'pool' } } });
    assert.ok(images.data.format === 'images' && images.data.unlabeled && 'dir' in images.data.unlabeled && images.data.unlabeled.dir === at('pool'));
  });

  it('gives line and column for malformed JSON', () => {
    const text = '{\n  "name": "x",\n  "seed": 1 2\n}';
    assert.throws(
      () => parseConfigText(text, '/w/bad.distill.json'),
      (e: unknown) => e instanceof ConfigError && /bad\.distill\.json:3:13/.test(e.message) && /expected ","/.test(e.message) && e.location.line === 3,
    );
  });

  it('names a missing config file', () => {
    assert.throws(() => loadConfigFile(path.join(dir, 'nope.distill.json')), /Cannot read config file .*nope\.distill\.json: no such file/);
  });

  it('the committed example configs are valid', () => {
    const examples = path.join(__dirname, '..', '..', 'examples');
    const files = fs
      .readdirSync(examples, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.distill.json'));
    assert.ok(files.length > 0);
    for (const f of files) loadConfigFile(path.join(examples, f));
  });
});
