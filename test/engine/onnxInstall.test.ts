/**
 * The ONNX Runtime installer with real npm and no network: a stand-in onnxruntime-node packed here, installed from
 * its tarball with the registry pointed at a port where nothing listens. Its install script records the
 * ONNXRUNTIME_NODE_INSTALL it was given, which is what decides whether the real package downloads CUDA.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installOnnxRuntime } from '../../src/install/onnxRuntime';
import { tempDir } from './helpers';

function packOrt(root: string, name: string, index: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'onnxruntime-node',
      version: '1.30.0',
      main: 'index.js',
      scripts: { postinstall: "node -e \"require('fs').writeFileSync('install-flag.txt', String(process.env.ONNXRUNTIME_NODE_INSTALL))\"" },
    }),
  );
  fs.writeFileSync(path.join(dir, 'index.js'), index);
  // Each into its own folder: both tarballs are named onnxruntime-node-1.30.0.tgz.
  const packed = spawnSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: dir, encoding: 'utf8' });
  assert.equal(packed.status, 0, packed.stderr);
  return `file:${path.join(dir, packed.stdout.trim().split('\n').pop()!)}`;
}

describe('install: ONNX Runtime', function () {
  this.timeout(180_000);
  const root = tempDir('distill-onnx-install-');
  // Nothing listens on port 9: a package that is not the local tarball would fail to resolve, not download.
  const env = { npm_config_registry: 'http://127.0.0.1:9/', npm_config_offline: 'true', npm_config_ignore_scripts: 'false' };
  const good = packOrt(
    root,
    'good',
    "module.exports = { env: { versions: { node: '1.30.0' } }, listSupportedBackends: () => [{ name: 'cpu', bundled: true }, { name: 'cuda', bundled: false }] };\n",
  );
  const broken = packOrt(root, 'broken', "throw new Error('libonnxruntime.so.1: cannot open shared object file');\n");
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('installs with the CUDA download skipped, checks the binding loads, and keeps what the folder had', async () => {
    const dir = path.join(root, 'mods');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ dependencies: {} }));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const progress: string[] = [];
    const result = await installOnnxRuntime({ dir, packageSpec: good, env, onProgress: (p) => progress.push(p.message) });
    assert.deepEqual(result.runtime, { version: '1.30.0', providers: ['cpu'] });
    assert.equal(fs.readFileSync(path.join(dir, 'node_modules', 'onnxruntime-node', 'install-flag.txt'), 'utf8'), 'skip');
    assert.equal(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'mine');
    assert.ok(progress.includes('Checking that onnxruntime-node loads'), progress.join('\n'));
  });

  it('passes cuda12 to the package when CUDA is asked for', async () => {
    const dir = path.join(root, 'cuda');
    await installOnnxRuntime({ dir, packageSpec: good, env, cuda: true });
    assert.equal(fs.readFileSync(path.join(dir, 'node_modules', 'onnxruntime-node', 'install-flag.txt'), 'utf8'), 'cuda12');
  });

  it('a binding that does not load is refused with its error, and the folder is left as it was', async () => {
    const dir = path.join(root, 'kept');
    await installOnnxRuntime({ dir, packageSpec: good, env });
    const before = fs.readFileSync(path.join(dir, 'package.json'), 'utf8');
    await assert.rejects(
      installOnnxRuntime({ dir, packageSpec: broken, env }),
      /npm installed onnxruntime-node, but it does not load .*libonnxruntime\.so\.1: cannot open shared object file/,
    );
    assert.equal(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'), before);
    assert.ok(!fs.readdirSync(root).some((f) => f.startsWith('kept.installing-')), 'the staging folder was left behind');
  });
});
