// The export folder (src/extension/modelExport.ts) on a run directory made by hand: what it writes, and that a failed
// export leaves nothing behind.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportModelFolder, ExportTargetExists } from '../../src/extension/modelExport';
import { tempDir } from '../support/tempDirs';

function runDir(root: string, input = true): string {
  const dir = path.join(root, 'runs', 'fashion-kd-20261201-091343-7361');
  fs.mkdirSync(path.join(dir, 'student'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'student', 'model.json'), '{"modelTopology":{},"weightsManifest":[]}');
  fs.writeFileSync(path.join(dir, 'student', 'weights.bin'), Buffer.alloc(8));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ name: 'fashion-kd', runName: 'fashion-kd · T 8', data: {} }));
  if (input)
    fs.writeFileSync(
      path.join(dir, 'input.json'),
      JSON.stringify({ inputShape: [4], classNames: ['a', 'b'], normalization: { method: 'standard', shift: [1, 2, 3, 4], scale: [1, 0.5, 0.25, 2] } }),
    );
  return dir;
}

describe('model export folder', () => {
  it('holds the model, distill-model.json with input shape, classes and scaling, and a README naming them', async () => {
    const root = tempDir('distill-export-');
    const target = await exportModelFolder({ runDir: runDir(root), targetParent: path.join(root, 'out') });
    assert.deepEqual(fs.readdirSync(target).sort(), ['README.md', 'distill-model.json', 'model.json', 'weights.bin']);
    const info = JSON.parse(fs.readFileSync(path.join(target, 'distill-model.json'), 'utf8'));
    assert.deepEqual(info.inputShape, [4]);
    assert.deepEqual(info.normalization.scale, [1, 0.5, 0.25, 2]);
    assert.equal(info.source.runName, 'fashion-kd · T 8');
    const readme = fs.readFileSync(path.join(target, 'README.md'), 'utf8');
    assert.match(readme, /^# fashion-kd · T 8 — KD student/);
    assert.match(readme, /0: a, 1: b/);
    assert.match(readme, /Standard scaling per feature/);
    await assert.rejects(exportModelFolder({ runDir: runDir(root), targetParent: path.join(root, 'out') }), ExportTargetExists);
  });

  it('names the scratch student as the product does, in its README and when it is missing', async () => {
    const root = tempDir('distill-export-');
    const dir = runDir(root);
    await assert.rejects(
      exportModelFolder({ runDir: dir, role: 'baseline', targetParent: path.join(root, 'out') }),
      /has no scratch student \(.*baseline.*model\.json is missing\)/,
    );
    fs.cpSync(path.join(dir, 'student'), path.join(dir, 'baseline'), { recursive: true });
    const target = await exportModelFolder({ runDir: dir, role: 'baseline', targetParent: path.join(root, 'out') });
    assert.match(fs.readFileSync(path.join(target, 'README.md'), 'utf8'), /^# fashion-kd · T 8 — scratch student\n/);
  });

  it('an extra writer that fails leaves no folder, half or whole', async () => {
    const root = tempDir('distill-export-');
    const failing = async () => {
      throw new Error('no ONNX here');
    };
    await assert.rejects(exportModelFolder({ runDir: runDir(root, false), targetParent: path.join(root, 'out'), extraFiles: [failing] }), /no ONNX here/);
    assert.deepEqual(fs.readdirSync(path.join(root, 'out')), []);
  });
});
