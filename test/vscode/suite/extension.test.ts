/**
 * Integration tests against the real `vscode` API, in a real extension host with the extension installed or under
 * development. They need a workspace folder (fixtures are written into a subfolder of it and removed afterwards),
 * a trusted workspace, and for the run tests the Fashion-MNIST files in /usr/share/datasets/fashion-mnist.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { StatusFile } from '../../../src/shared/records';

const EXTENSION_ID = 'distill-dev.distill';
const FASHION = '/usr/share/datasets/fashion-mnist';

let root: string;

/** Wait for a condition the extension reaches asynchronously. The limit only bounds a hang; speed is not asserted. */
async function waitFor<T>(what: string, probe: () => T | undefined | false, limitMs = 240_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const readStatus = (runDir: string): StatusFile | undefined => {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8')) as StatusFile;
  } catch {
    return undefined;
  }
};

function smallConfig(name: string, epochs: number): string {
  return `// written by the integration suite
{
  "name": "${name}",
  "data": {
    "format": "idx",
    "train": { "images": "${FASHION}/train-images-idx3-ubyte.gz", "labels": "${FASHION}/train-labels-idx1-ubyte.gz" },
    "test": { "images": "${FASHION}/t10k-images-idx3-ubyte.gz", "labels": "${FASHION}/t10k-labels-idx1-ubyte.gz" },
    "maxSamples": { "train": 3000, "test": 500 }
  },
  "teacher": { "preset": "mlp", "hidden": [32], "train": { "epochs": 1 } },
  "student": { "preset": "mlp", "hidden": [16] },
  "training": { "epochs": ${epochs}, "batchSize": 32 },
  "evaluation": { "probeSize": 8, "latency": false },
  "engine": { "backend": "wasm" },
  "output": { "runsDir": "runs", "cacheDir": "cache" }
}
`;
}

/** A small LayersModel model.json as tfjs writes it (dense 784 → 10), with its weights file. */
function writeLayersModel(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const topology = {
    class_name: 'Sequential',
    config: {
      name: 'teacher',
      layers: [{ class_name: 'Dense', config: { name: 'logits', units: 10, activation: 'linear', use_bias: true, batch_input_shape: [null, 784] } }],
    },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
  const weights = [
    { name: 'logits/kernel', shape: [784, 10], dtype: 'float32' },
    { name: 'logits/bias', shape: [10], dtype: 'float32' },
  ];
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc((784 * 10 + 10) * 4));
  fs.writeFileSync(
    path.join(dir, 'model.json'),
    JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: [{ paths: ['weights.bin'], weights }] }),
  );
  return path.join(dir, 'model.json');
}

suiteSetup(async () => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the integration suite needs a workspace folder');
  root = path.join(folder.uri.fsPath, `distill-suite-${process.pid}`);
  fs.mkdirSync(root, { recursive: true });
  await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
});

suiteTeardown(async () => {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  fs.rmSync(root, { recursive: true, force: true });
});

suite('Distill extension', () => {
  test('activates and registers every contributed command, each in the "Distill" category', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    assert.equal(extension.isActive, true);
    const contributed = extension.packageJSON.contributes.commands as { command: string; category: string }[];
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const c of contributed) {
      assert.equal(c.category, 'Distill', c.command);
      assert.ok(registered.has(c.command), `${c.command} is registered`);
    }
    assert.ok(contributed.some((c) => c.command === 'distill.startRun'));
  });

  test('treats *.distill.json as JSON with comments and shows a schema error at the offending value', async () => {
    const file = path.join(root, 'invalid.distill.json');
    fs.writeFileSync(file, smallConfig('invalid', 1).replace('"batchSize": 32 }', '"batchSize": 32, "learningRate": -1 }'));
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    assert.equal(doc.languageId, 'jsonc');
    const diagnostic = await waitFor('a Distill diagnostic', () => vscode.languages.getDiagnostics(doc.uri).find((d) => d.source === 'distill'));
    assert.equal(diagnostic.severity, vscode.DiagnosticSeverity.Error);
    assert.match(diagnostic.message, /training\.learningRate must be > 0/);
    assert.equal(doc.getText(diagnostic.range), '-1');

    // Start Run refuses it, and no run directory appears.
    const runDir = await vscode.commands.executeCommand<string | undefined>('distill.startRun', doc.uri);
    assert.equal(runDir, undefined);
    assert.equal(fs.existsSync(path.join(root, 'runs')), false);
  });

  test('"Use as Teacher" writes the model into the config as one undoable edit, keeping comments', async () => {
    const model = writeLayersModel(path.join(root, 'teacher'));
    const file = path.join(root, 'pick.distill.json');
    const original = smallConfig('pick', 1);
    fs.writeFileSync(file, original);
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const changed = await vscode.commands.executeCommand<boolean>('distill.useAsTeacher', vscode.Uri.file(model));
    assert.equal(changed, true);
    assert.match(doc.getText(), /"teacher": \{\s+"model": "\.\/teacher\/model\.json"\s+\}/);
    assert.ok(doc.getText().startsWith('// written by the integration suite'));
    assert.equal(doc.isDirty, false, 'saved, as the file had no unsaved changes');
    assert.equal(fs.readFileSync(file, 'utf8'), doc.getText());

    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), original);
  });

  test('runs an experiment, refuses a second one meanwhile, stops it and resumes it to completion', async function () {
    if (!fs.existsSync(FASHION)) this.skip();
    const file = path.join(root, 'run.distill.json');
    fs.writeFileSync(file, smallConfig('suite run', 3));
    const uri = vscode.Uri.file(file);

    const runDir = await vscode.commands.executeCommand<string | undefined>('distill.startRun', uri);
    assert.ok(runDir, 'the run started');
    assert.equal(path.dirname(runDir), path.join(root, 'runs'));
    await waitFor('the run to record progress', () => readStatus(runDir)?.status === 'running' && fs.existsSync(path.join(runDir, 'metrics.jsonl')));

    const second = await vscode.commands.executeCommand<string | undefined>('distill.startRun', uri);
    assert.equal(second, undefined, 'a second concurrent run is refused');

    // Stop resolves once the engine has exited: it wrote its checkpoint and status first.
    await vscode.commands.executeCommand('distill.stopRun');
    const stopped = readStatus(runDir);
    assert.equal(stopped?.status, 'stopped');
    assert.ok(fs.readdirSync(path.join(runDir, 'checkpoints')).length > 0);

    const resumedDir = await vscode.commands.executeCommand<string | undefined>('distill.resumeRun', runDir);
    assert.equal(resumedDir, runDir);
    // The resumed engine is a new process: wait for its own final status, not the stopped one still on disk.
    const done = await waitFor('the resumed run to finish', () => {
      const s = readStatus(runDir);
      return s && s.pid !== stopped?.pid && s.status !== 'running' ? s : undefined;
    });
    assert.equal(done.status, 'completed');
    assert.ok(fs.existsSync(path.join(runDir, 'student', 'model.json')));
    assert.ok(fs.existsSync(path.join(runDir, 'summary.json')));
  });
});
