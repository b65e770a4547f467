/**
 * The GPU engine installer with real npm and no network: tiny packages packed here and installed from their
 * tarballs, with the registry pointed at a port where nothing listens. The check step runs the built CLI bundle
 * (`npm run build`) on fake backend packages.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkBackend } from '../../src/install/gpuEngine';
import { installPackages, isInstallCancelled, type InstallProgress } from '../../src/install/stagedInstall';
import { errorMessage } from '../../src/shared/errors';
import { tempDir } from './helpers';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

/** Writes a package folder and packs it; returns the `file:` spec of its tarball. */
function packFixture(root: string, name: string, files: Record<string, string>, scripts: Record<string, string> = {}): string {
  const dir = path.join(root, 'src', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js', scripts }));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  const packed = spawnSync('npm', ['pack', '--pack-destination', root, '--silent'], { cwd: dir, encoding: 'utf8' });
  assert.equal(packed.status, 0, packed.stderr);
  return `file:${path.join(root, packed.stdout.trim().split('\n').pop()!)}`;
}

/** Every file under `dir` with a hash of its contents: equal snapshots mean nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      const rel = path.relative(dir, full);
      if (entry.isDirectory()) walk(full);
      else if (entry.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(full)}`;
      else out[rel] = createHash('sha1').update(fs.readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** Whether a process runs; a zombie (killed, but not reaped where PID 1 does not reap) does not. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('expected the install to fail');
}

describe('GPU engine installer with real npm', function () {
  this.timeout(60_000);
  let root: string;
  let specs: { good: string; bad: string; slow: string };
  let npmEnv: NodeJS.ProcessEnv;

  before(() => {
    root = tempDir('distill-gpu-install-');
    const pidFile = path.join(root, 'slow.pid');
    specs = {
      good: packFixture(root, 'distill-fixture-good', { 'index.js': 'module.exports = "good";\n' }),
      bad: packFixture(
        root,
        'distill-fixture-bad',
        { 'index.js': '' },
        { install: 'node -e "console.error(\'fixture: cannot fetch the native library\'); process.exit(1)"' },
      ),
      slow: packFixture(
        root,
        'distill-fixture-slow',
        {
          'index.js': '',
          'install.js': `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); console.log('slow: started'); setTimeout(() => {}, 60000);\n`,
        },
        { install: 'node install.js' },
      ),
    };
    // No network: a registry where nothing listens, a cache of its own, no retries.
    npmEnv = {
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_cache: path.join(root, 'npm-cache'),
      npm_config_fetch_retries: '0',
      npm_config_update_notifier: 'false',
    };
  });

  const engineDir = () => path.join(root, 'prefix', 'gpu-engine');
  const siblings = () => fs.readdirSync(path.dirname(engineDir())).sort();

  it('installs into the folder, checking the staging folder first', async () => {
    const progress: InstallProgress[] = [];
    const log: string[] = [];
    let stagingSeen = '';
    const result = await installPackages({
      dir: engineDir(),
      packages: { 'distill-fixture-good': specs.good },
      env: npmEnv,
      onLog: (l) => log.push(l),
      onProgress: (p) => progress.push(p),
      verify: async (staging) => {
        stagingSeen = staging;
        assert.ok(!fs.existsSync(engineDir()), 'the folder is not touched before the check');
        return createRequire(path.join(staging, 'noop.js'))('distill-fixture-good') as string;
      },
    });
    assert.equal(result.verified, 'good');
    assert.equal(path.dirname(stagingSeen), path.dirname(engineDir()), 'staging is beside the folder, so the swap is a rename');
    assert.deepEqual(result.dependencies, { 'distill-fixture-good': specs.good });
    assert.equal(fs.readFileSync(path.join(engineDir(), 'node_modules', 'distill-fixture-good', 'index.js'), 'utf8'), 'module.exports = "good";\n');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(engineDir(), 'package.json'), 'utf8')).dependencies, { 'distill-fixture-good': specs.good });
    assert.deepEqual(siblings(), ['gpu-engine'], 'no staging or old folder is left');
    const total = progress.reduce((sum, p) => sum + (p.increment ?? 0), 0);
    assert.ok(Math.abs(total - 100) < 1e-9, `progress adds up to 100 (got ${total})`);
    assert.equal(progress[progress.length - 1].message, 'Installed');
    assert.ok(
      log.some((l) => l.startsWith('npm http cache distill-fixture-good@file:')),
      `npm's lines reach onLog:\n${log.join('\n')}`,
    );
  });

  it('keeps the folder unchanged when a package fails to install, and names it and its words', async () => {
    const before = snapshot(engineDir());
    const e = await rejection(installPackages({ dir: engineDir(), packages: { 'distill-fixture-bad': specs.bad }, env: npmEnv }));
    assert.match(
      errorMessage(e),
      /^The install script of distill-fixture-bad failed: fixture: cannot fetch the native library\. \(npm exited with code 1\.\)$/,
    );
    assert.deepEqual(snapshot(engineDir()), before);
    assert.deepEqual(siblings(), ['gpu-engine']);
  });

  it('keeps the folder unchanged when the check fails', async () => {
    const before = snapshot(engineDir());
    const e = await rejection(
      installPackages({
        dir: engineDir(),
        packages: {},
        env: npmEnv,
        verify: async () => {
          throw new Error('the backend crashed');
        },
      }),
    );
    assert.equal(errorMessage(e), 'the backend crashed');
    assert.deepEqual(snapshot(engineDir()), before);
    assert.deepEqual(siblings(), ['gpu-engine']);
  });

  it('cancels: kills npm and its install script, deletes staging, keeps the folder', async () => {
    const before = snapshot(engineDir());
    const abort = new AbortController();
    let abortedAt = 0;
    const e = await rejection(
      installPackages({
        dir: engineDir(),
        packages: { 'distill-fixture-slow': specs.slow },
        env: npmEnv,
        signal: abort.signal,
        onLog: (line) => {
          if (!line.includes('slow: started')) return;
          abortedAt = Date.now();
          abort.abort();
        },
      }),
    );
    assert.ok(isInstallCancelled(e), errorMessage(e));
    assert.match(errorMessage(e), /Installation cancelled; .*gpu-engine was not changed\./);
    // npm itself leaves its scripts running on SIGTERM; the whole process group goes at once, well before the
    // installer's 5 s SIGKILL fallback.
    const seconds = (Date.now() - abortedAt) / 1000;
    assert.ok(abortedAt > 0 && seconds < 3, `cancelled ${seconds} s after the abort`);
    assert.deepEqual(snapshot(engineDir()), before);
    assert.deepEqual(siblings(), ['gpu-engine']);
    const pid = Number(fs.readFileSync(path.join(root, 'slow.pid'), 'utf8'));
    assert.ok(!isAlive(pid), 'the install script was killed with npm');
  });

  it('says npm is needed on PATH and how to get it', async () => {
    const e = await rejection(installPackages({ dir: path.join(root, 'other'), packages: {}, env: { ...npmEnv, PATH: path.join(root, 'empty-path') } }));
    assert.match(errorMessage(e), /^npm was not found on PATH: .*Install Node\.js 18 or newer, which includes npm .*npmPath option/);
    assert.ok(!fs.existsSync(path.join(root, 'other')));
    assert.deepEqual(
      fs.readdirSync(root).filter((f) => f.startsWith('other')),
      [],
      'no staging folder is left',
    );
  });

  describe('checking a backend with the CLI bundle', () => {
    before(function () {
      if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
    });

    /** A folder holding a fake `@tensorflow/tfjs-node-gpu` whose entry is `code`. */
    const fakeNodeGpu = (name: string, code: string) => {
      const dir = path.join(root, name);
      const pkg = path.join(dir, 'node_modules', '@tensorflow', 'tfjs-node-gpu');
      fs.mkdirSync(pkg, { recursive: true });
      fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node-gpu', version: '4.22.0', main: 'index.js' }));
      fs.writeFileSync(path.join(pkg, 'index.js'), code);
      return dir;
    };

    it("reports the backend's own reason when it cannot load here (a missing CUDA library)", async () => {
      const dir = fakeNodeGpu('cuda-missing', "throw new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');\n");
      const entry = await checkBackend({ dir, backend: 'tensorflow-gpu', cliPath: CLI });
      assert.equal(entry.name, 'tensorflow-gpu');
      assert.equal(entry.available, false);
      assert.match(entry.detail, /@tensorflow\/tfjs-node-gpu failed to load: libcudart\.so\.11\.0: cannot open shared object file/);
    });

    it('fails when loading the backend kills the engine, which would kill every auto run', async () => {
      const dir = fakeNodeGpu('cuda-crash', "process.stderr.write('Segmentation fault in libtensorflow\\n'); process.exit(139);\n");
      const e = await rejection(checkBackend({ dir, backend: 'tensorflow-gpu', cliPath: CLI }));
      assert.match(
        errorMessage(e),
        /^Loading the packages in .*cuda-crash exited with code 139 .*Segmentation fault in libtensorflow\. A backend that crashes the engine/,
      );
    });
  });
});
