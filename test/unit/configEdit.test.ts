// Editing configs as text (comments and formatting kept), positioning problems, and the New Config template.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'jsonc-parser';
import { DIVERGENCES } from '../../src/shared/config';
import { diagnoseConfigText, locateJsonPath } from '../../src/shared/configDiagnostics';
import { configRelativePath, detectFormatting, minimalEdit, setModelInConfig } from '../../src/extension/configEdit';
import { parseConfigText } from '../../src/shared/configFile';
import { configFileName, configTemplate } from '../../src/extension/configTemplate';
import { parseTree } from 'jsonc-parser';

const CONFIG = `// My experiment: keep this comment.
{
    "name": "fashion",   // trailing comment
    "data": {
        "format": "idx",
        "train": { "images": "data/train-images-idx3-ubyte.gz", "labels": "data/train-labels-idx1-ubyte.gz" },
        "test": { "images": "data/t10k-images-idx3-ubyte.gz", "labels": "data/t10k-labels-idx1-ubyte.gz" }
    },
    /* the teacher is trained first */
    "teacher": {
        "preset": "cnn-large",
        "train": { "epochs": 8 }
    },
    "student": { "preset": "cnn-small" },
    "distillation": { "temperature": 4, "alpha": 0.7, },
}
`;

const apply = (text: string, e: { offset: number; length: number; content: string }) => text.slice(0, e.offset) + e.content + text.slice(e.offset + e.length);

describe('setModelInConfig', () => {
  it('replaces a preset teacher by a model file and keeps every comment, the trailing comma and the 4-space indent', () => {
    const { text, edit } = setModelInConfig(CONFIG, 'teacher', { model: './teacher/model.json' });
    assert.equal(apply(CONFIG, edit), text, 'the single edit reproduces the new text');
    assert.deepEqual(parse(text).teacher, { model: './teacher/model.json' });
    for (const kept of ['// My experiment: keep this comment.', '// trailing comment', '/* the teacher is trained first */', '"alpha": 0.7, },'])
      assert.ok(text.includes(kept), kept);
    assert.match(text, /\n {8}"model": "\.\/teacher\/model\.json"/);
    // Only the teacher's part of the file changed.
    assert.ok(edit.offset > CONFIG.indexOf('"teacher"'));
    assert.ok(edit.offset + edit.length < CONFIG.indexOf('"student"'));
    // The edited config is still valid.
    assert.equal(Object.hasOwn(parseConfigText(text, '/w/fashion.distill.json').teacher, 'model'), true);
  });

  it('changes only the path when the kind stays, keeping a comment inside the object', () => {
    const before = '{\n  "student": {\n    // initial weights from here\n    "model": "old/model.json"\n  }\n}\n';
    const { text, edit } = setModelInConfig(before, 'student', { model: 'new/model.json' });
    assert.equal(text, before.replace('old/model.json', 'new/model.json'));
    assert.equal(edit.content, 'new');
  });

  it('writes teacher logits, and inserts the role when the file has none', () => {
    const before = '{\n\t"name": "x"\n}';
    const { text } = setModelInConfig(before, 'teacher', { logits: { train: 'l/train.npy', test: 'l/test.npy' } });
    assert.deepEqual(parse(text), { name: 'x', teacher: { logits: { train: 'l/train.npy', test: 'l/test.npy' } } });
    assert.match(text, /\n\t"teacher"/, 'tab indentation is kept');
  });

  it('refuses logits as a student, and text that is not a JSON object, with a message saying what to do', () => {
    assert.throws(() => setModelInConfig(CONFIG, 'student', { logits: { train: 'a', test: 'b' } }), /student cannot be a logits file/);
    assert.throws(
      () => setModelInConfig('{ "name": ', 'teacher', { model: 'm.json' }, '/w/x.distill.json'),
      /\/w\/x\.distill\.json: the config is not a valid JSON object\. Fix the syntax errors/,
    );
  });
});

describe('config editing helpers', () => {
  it('detects indentation and line endings', () => {
    assert.deepEqual(detectFormatting('{\r\n   "a": 1\r\n}'), { insertSpaces: true, tabSize: 3, eol: '\r\n' });
    assert.deepEqual(detectFormatting('{\n\t"a": 1\n}'), { insertSpaces: false, tabSize: 1, eol: '\n' });
    assert.deepEqual(detectFormatting('{}'), { insertSpaces: true, tabSize: 2, eol: '\n' });
  });

  it('writes paths relative to the config with forward slashes', () => {
    assert.equal(configRelativePath('/w/exp/a.distill.json', '/w/exp/teacher/model.json'), './teacher/model.json');
    assert.equal(configRelativePath('/w/exp/a.distill.json', '/w/models/t/model.json'), '../models/t/model.json');
  });

  it('finds the one minimal replacement between two texts', () => {
    assert.deepEqual(minimalEdit('abcdef', 'abXYef'), { offset: 2, length: 2, content: 'XY' });
    assert.deepEqual(minimalEdit('aaa', 'aaaa'), { offset: 3, length: 0, content: 'a' });
    assert.deepEqual(minimalEdit('same', 'same'), { offset: 4, length: 0, content: '' });
  });
});

describe('diagnoseConfigText: problems at the right JSON position', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-diag-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const at = (text: string, p: { offset: number; length: number }) => text.slice(p.offset, p.offset + p.length);
  const noFiles = () => false;
  const allFiles = () => true;

  it('marks an out-of-range value at the value, with the readable message', () => {
    const text = CONFIG.replace('"alpha": 0.7', '"alpha": 1.5');
    const [problem, ...rest] = diagnoseConfigText(text, path.join(dir, 'a.distill.json'), allFiles);
    assert.equal(rest.length, 0);
    assert.equal(problem.message, 'distillation.alpha must be between 0 and 1 (got 1.5)');
    assert.equal(at(text, problem), '1.5');
    assert.deepEqual(problem.path, ['distillation', 'alpha']);
  });

  it('marks an unknown field at its key, with a "did you mean"', () => {
    const text = CONFIG.replace('"temperature": 4', '"temprature": 4');
    const [problem] = diagnoseConfigText(text, path.join(dir, 'a.distill.json'), allFiles);
    assert.match(problem.message, /distillation\.temprature is not a known field: did you mean "temperature"\?/);
    assert.equal(at(text, problem), '"temprature"');
  });

  it('marks a missing required field at the key of the object that lacks it', () => {
    const text = CONFIG.replace('"student": { "preset": "cnn-small" },', '');
    const [problem] = diagnoseConfigText(text, path.join(dir, 'a.distill.json'), allFiles);
    assert.equal(problem.message, 'student is required');
    assert.equal(at(text, problem), '{', 'the root object opens here');
    assert.equal(problem.offset, text.indexOf('{'));
  });

  it('reports a JSON syntax error at its offset', () => {
    const text = '{\n  "name": "x",\n  "seed": 42 43\n}';
    const [problem] = diagnoseConfigText(text, path.join(dir, 'a.distill.json'), allFiles);
    assert.equal(problem.message, 'Invalid JSON: expected ",".');
    assert.equal(problem.offset, text.indexOf('43'));
  });

  it('reports data and model files that do not exist, at the path string, resolved against the config folder', () => {
    const config = path.join(dir, 'exp', 'a.distill.json');
    const exists = (f: string) => !f.endsWith('t10k-labels-idx1-ubyte.gz');
    const text = CONFIG;
    const problems = diagnoseConfigText(text, config, exists);
    assert.equal(problems.length, 1);
    assert.equal(
      problems[0].message,
      `data.test.labels: the test data (labels) file ${path.join(dir, 'exp', 'data', 't10k-labels-idx1-ubyte.gz')} does not exist. Fix the path (relative paths start at this config's folder), or use a Quick Fix (Ctrl+.).`,
    );
    assert.equal(problems[0].code, 'missing-file');
    assert.equal(problems[0].file, path.join(dir, 'exp', 'data', 't10k-labels-idx1-ubyte.gz'));
    assert.equal(at(text, problems[0]), '"data/t10k-labels-idx1-ubyte.gz"');
    assert.equal(diagnoseConfigText(text, config, noFiles).length, 4);
  });

  it('reports a missing transfer set (data.unlabeled) and its teacher logits like any other file', () => {
    const config = path.join(dir, 'exp', 'a.distill.json');
    const raw = parse(CONFIG);
    raw.data.unlabeled = { images: 'pool-images.gz' };
    raw.teacher = { logits: { train: 'lt.npy', test: 'ls.npy', unlabeled: 'lu.npy' } };
    const problems = diagnoseConfigText(JSON.stringify(raw), config, (f) => !/pool-images|lu\.npy/.test(f));
    assert.deepEqual(
      problems.map((p) => [p.code, p.path.join('.')]),
      [
        ['missing-file', 'data.unlabeled.images'],
        ['missing-file', 'teacher.logits.unlabeled'],
      ],
    );
    assert.match(problems[0].message, /the unlabeled data \(images\) file .*pool-images\.gz does not exist/);
  });

  it('reports missing files while another field is invalid too: one problem each', () => {
    const text = CONFIG.replace('"alpha": 0.7', '"alpha": 1.5');
    const problems = diagnoseConfigText(text, path.join(dir, 'a.distill.json'), (f) => !f.endsWith('t10k-labels-idx1-ubyte.gz'));
    assert.deepEqual(
      problems.map((p) => p.code),
      ['config', 'missing-file'],
    );
  });

  it('names the meant choice: "kl" is forward-kl; an empty student needs a preset or a model, with the presets named', () => {
    const kl = diagnoseConfigText(CONFIG.replace('"alpha": 0.7,', '"alpha": 0.7, "divergence": "kl",'), path.join(dir, 'a.distill.json'), allFiles);
    assert.equal(kl.length, 1);
    assert.equal(kl[0].message, `distillation.divergence must be one of ${DIVERGENCES.map((d) => `"${d}"`).join(', ')} (got "kl"): did you mean "forward-kl"?`);
    const empty = diagnoseConfigText(CONFIG.replace('"student": { "preset": "cnn-small" }', '"student": {}'), path.join(dir, 'a.distill.json'), allFiles);
    assert.equal(empty.length, 1);
    assert.equal(empty[0].message, 'student needs "model" or "preset" (one of "mlp", "cnn-small", "cnn-medium", "cnn-large") (got {})');
  });

  it('warns when values disagree: stages against epochs, a student larger than its teacher', () => {
    const staged = CONFIG.replace(
      '"alpha": 0.7, }',
      '"alpha": 0.7, "schedule": { "type": "stages", "stages": [{ "epochs": 5, "temperature": 8, "alpha": 0.9 }, { "epochs": 5, "temperature": 2, "alpha": 0.5 }] } }',
    ).replace('"student": { "preset": "cnn-small" },', '"student": { "preset": "cnn-small" }, "training": { "epochs": 5 },');
    const [stages, ...none] = diagnoseConfigText(staged, path.join(dir, 'a.distill.json'), allFiles);
    assert.equal(none.length, 0);
    assert.equal(stages.severity, 'warning');
    assert.match(stages.message, /^The stages add up to 10 epochs, but training\.epochs is 5: the stages after epoch 5 never run/);
    assert.equal(at(staged, stages), '"stages"');
    const withClasses = CONFIG.replace('"format": "idx",', '"format": "idx", "classNames": ["0","1","2","3","4","5","6","7","8","9"],');
    const larger = diagnoseConfigText(
      withClasses.replace('"preset": "cnn-large"', '"preset": "mlp", "hidden": [16]'),
      path.join(dir, 'a.distill.json'),
      allFiles,
    );
    assert.equal(larger.length, 1);
    // mlp [16] on 784 inputs: 784·16 + 16 + 16·10 + 10 = 12,730; cnn-small: 206,922 (as the engine builds them).
    assert.match(larger[0].message, /^The student \(206,922 parameters\) is not smaller than the teacher \(12,730\)/);
    assert.equal(diagnoseConfigText(withClasses, path.join(dir, 'a.distill.json'), allFiles).length, 0, 'cnn-large teaching cnn-small is fine');
  });

  it('locates paths deeper than the file at the nearest existing ancestor', () => {
    const text = '{ "teacher": { "preset": "mlp" } }';
    const root = parseTree(text);
    assert.equal(at(text, locateJsonPath(root, ['teacher', 'train', 'epochs'])), '"teacher"');
    assert.equal(at(text, locateJsonPath(root, ['teacher', 'preset'])), '"mlp"');
    assert.equal(at(text, locateJsonPath(root, ['teacher', 'preset'], true)), '"preset"');
  });
});

describe('configTemplate', () => {
  it('is a commented config that validates as it is, with defaults', () => {
    const text = configTemplate({ name: 'my experiment' });
    assert.match(text, /^\/\/ Distill experiment/);
    const config = parseConfigText(text, '/w/my.distill.json');
    assert.equal(config.name, 'my experiment');
    assert.deepEqual(config.student, { preset: 'mlp', hidden: [32] });
    assert.equal(config.data.format, 'idx');
    assert.equal((config.data as { train: { images: string } }).train.images, '/w/data/train-images-idx3-ubyte.gz');
    assert.equal(config.compare.baseline, true);
    // A first run that ends in about a minute: a slice of the data, an MLP teacher, few epochs; comments say how to grow it.
    assert.deepEqual(config.data.maxSamples, { train: 6000, test: 2000 });
    assert.deepEqual(config.teacher, { preset: 'mlp', hidden: [256], train: { epochs: 8, optimizer: 'adam', learningRate: 0.001 } });
    assert.ok(config.training.epochs <= 6);
    assert.match(text, /Scale up: remove "maxSamples"/);
    assert.match(text, /Scale up: \{ "preset": "cnn-medium"/);
    assert.ok(text.includes('"classNames": ["T-shirt/top", "Trouser"'), 'short arrays stay on one line');
  });

  it('pre-fills the picked teacher and student', () => {
    const text = configTemplate({
      name: 'x',
      teacher: { logits: { train: './l/teacher_train.npy', test: './l/teacher_test.npy' } },
      student: { model: './s/model.json' },
    });
    const config = parseConfigText(text, '/w/x.distill.json');
    assert.deepEqual(config.teacher, { logits: { train: '/w/l/teacher_train.npy', test: '/w/l/teacher_test.npy' } });
    assert.deepEqual(config.student, { model: '/w/s/model.json' });
  });

  it('names the file after the experiment', () => {
    assert.equal(configFileName('Fashion KD #2'), 'fashion-kd-2.distill.json');
    assert.equal(configFileName('***'), 'experiment.distill.json');
  });
});
