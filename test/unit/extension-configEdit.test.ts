// Editing configs as text (comments and formatting kept), positioning problems, and the New Config template.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'jsonc-parser';
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
    for (const kept of ['// My experiment: keep this comment.', '// trailing comment', '/* the teacher is trained first */', '"alpha": 0.7, },']) assert.ok(text.includes(kept), kept);
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
    assert.throws(() => setModelInConfig('{ "name": ', 'teacher', { model: 'm.json' }, '/w/x.distill.json'), /\/w\/x\.distill\.json: the config is not a valid JSON object\. Fix the syntax errors/);
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
    assert.equal(problems[0].message, `data.test.labels: the test data (labels) file ${path.join(dir, 'exp', 'data', 't10k-labels-idx1-ubyte.gz')} does not exist. Fix the path (relative paths start at this config's folder).`);
    assert.equal(at(text, problems[0]), '"data/t10k-labels-idx1-ubyte.gz"');
    assert.equal(diagnoseConfigText(text, config, noFiles).length, 4);
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
    assert.deepEqual(config.student, { preset: 'cnn-small' });
    assert.equal(config.data.format, 'idx');
    assert.equal((config.data as { train: { images: string } }).train.images, '/w/data/train-images-idx3-ubyte.gz');
    assert.equal(config.compare.baseline, true);
    assert.ok(text.includes('"classNames": ["T-shirt/top", "Trouser"'), 'short arrays stay on one line');
  });

  it('pre-fills the picked teacher and student', () => {
    const text = configTemplate({ name: 'x', teacher: { logits: { train: './l/teacher_train.npy', test: './l/teacher_test.npy' } }, student: { model: './s/model.json' } });
    const config = parseConfigText(text, '/w/x.distill.json');
    assert.deepEqual(config.teacher, { logits: { train: '/w/l/teacher_train.npy', test: '/w/l/teacher_test.npy' } });
    assert.deepEqual(config.student, { model: '/w/s/model.json' });
  });

  it('names the file after the experiment', () => {
    assert.equal(configFileName('Fashion KD #2'), 'fashion-kd-2.distill.json');
    assert.equal(configFileName('***'), 'experiment.distill.json');
  });
});
