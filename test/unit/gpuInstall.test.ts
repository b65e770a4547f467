/** The GPU engine installer's pure parts: the package table, the dependency merge, and reading npm's output. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { version_core } from '@tensorflow/tfjs-core';
import { explainNpmFailure, meaningfulNpmErrorLines, npmLineProgress } from '../../src/install/npmOutput';
import { mergeDependencies, readInstalledDependencies } from '../../src/install/stagedInstall';
import { gpuTargetSpecs, managedPackages } from '../../src/install/targets';
import { TFJS_VERSION } from '../../src/shared/backends';
import { isDistillError } from '../../src/shared/errors';
import { tempDir } from '../support/tempDirs';

const lines = (text: string) => text.replace(/^\n/, '').split('\n');

/**
 * Real output of `npm install --prefix /tmp/x @tensorflow/tfjs-node-gpu@4.22.0 --no-audit --no-fund --loglevel=http`
 * (npm 11.19.1, Node 20.20.2) on a machine that reaches the npm registry but not storage.googleapis.com; the last
 * fetch lines and the whole error report.
 */
const TFJS_NODE_GPU_FAILURE = lines(`
npm http fetch GET 200 https://registry.npmjs.org/@tensorflow%2ftfjs-node-gpu 131ms (cache updated)
npm http cache https-proxy-agent@https://registry.npmjs.org/https-proxy-agent/-/https-proxy-agent-5.0.1.tgz 0ms (cache hit)
npm http fetch GET 200 https://registry.npmjs.org/@tensorflow/tfjs-node-gpu/-/tfjs-node-gpu-4.22.0.tgz 5005ms (cache miss)
npm http fetch GET 200 https://registry.npmjs.org/core-js/-/core-js-3.29.1.tgz 7480ms (cache miss)
npm error code 1
npm error path /tmp/x/node_modules/@tensorflow/tfjs-node-gpu
npm error command failed
npm error command sh -c node scripts/install.js gpu download
npm error GPU-linux-4.22.0.tar.gz
npm error https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz
npm error * Downloading libtensorflow
npm error node:events:502
npm error       throw er; // Unhandled 'error' event
npm error       ^
npm error
npm error Error: getaddrinfo ENOTFOUND storage.googleapis.com
npm error     at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:dns:122:26)
npm error Emitted 'error' event on ClientRequest instance at:
npm error     at emitErrorEvent (node:_http_client:101:11)
npm error     at TLSSocket.socketErrorListener (node:_http_client:504:5)
npm error     at TLSSocket.emit (node:events:524:28)
npm error     at emitErrorNT (node:internal/streams/destroy:169:8)
npm error     at emitErrorCloseNT (node:internal/streams/destroy:128:3)
npm error     at process.processTicksAndRejections (node:internal/process/task_queues:82:21) {
npm error   errno: -3008,
npm error   code: 'ENOTFOUND',
npm error   syscall: 'getaddrinfo',
npm error   hostname: 'storage.googleapis.com'
npm error }
npm error
npm error Node.js v20.20.2
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-30T01_29_19_646Z-debug-0.log`);

/** The same install with --foreground-scripts (as the installer runs npm): the script's output comes unprefixed. */
const TFJS_NODE_GPU_FAILURE_FOREGROUND = lines(`
npm http fetch GET 200 https://registry.npmjs.org/@tensorflow/tfjs-node-gpu/-/tfjs-node-gpu-4.22.0.tgz 5005ms (cache miss)

> @tensorflow/tfjs-node-gpu@4.22.0 install
> node scripts/install.js gpu download

GPU-linux-4.22.0.tar.gz
* Downloading libtensorflow
https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz
node:events:502
      throw er; // Unhandled 'error' event
      ^

Error: getaddrinfo ENOTFOUND storage.googleapis.com
    at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:dns:122:26)
Emitted 'error' event on ClientRequest instance at:
    at emitErrorEvent (node:_http_client:101:11)
    at process.processTicksAndRejections (node:internal/process/task_queues:82:21) {
  errno: -3008,
  code: 'ENOTFOUND',
  syscall: 'getaddrinfo',
  hostname: 'storage.googleapis.com'
}

Node.js v20.20.2
npm error code 1
npm error path /tmp/x2/node_modules/@tensorflow/tfjs-node-gpu
npm error command failed
npm error command sh -c node scripts/install.js gpu download
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-30T01_30_46_112Z-debug-0.log`);

/** Real: `--registry https://registry.invalid.example/` (a name that does not resolve). */
const REGISTRY_NOT_FOUND = lines(`
npm http fetch GET https://registry.invalid.example/left-pad-nonexistent-xyz attempt 1 failed with ENOTFOUND
npm error code ENOTFOUND
npm error syscall getaddrinfo
npm error errno ENOTFOUND
npm error network request to https://registry.invalid.example/left-pad-nonexistent-xyz failed, reason: getaddrinfo ENOTFOUND registry.invalid.example
npm error network This is a problem related to network connectivity.
npm error network In most cases you are behind a proxy or have bad network settings.
npm error network
npm error network If you are behind a proxy, please make sure that the 'proxy' config is set properly.  See: 'npm help config'
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-30T01_29_41_241Z-debug-0.log`);

/** Real: `--registry http://127.0.0.1:9/` (nothing listens). */
const REGISTRY_REFUSED = lines(`
npm http fetch GET http://127.0.0.1:9/left-pad attempt 1 failed with ECONNREFUSED
npm error code ECONNREFUSED
npm error syscall connect
npm error errno ECONNREFUSED
npm error FetchError: request to http://127.0.0.1:9/left-pad failed, reason: connect ECONNREFUSED 127.0.0.1:9
npm error     at ClientRequest.<anonymous> (/usr/lib/node_modules/npm/node_modules/minipass-fetch/lib/index.js:130:14)
npm error     at process.processTicksAndRejections (node:internal/process/task_queues:83:21) {
npm error   code: 'ECONNREFUSED',
npm error   errno: 'ECONNREFUSED',
npm error   syscall: 'connect',
npm error   address: '127.0.0.1',
npm error   port: 9,
npm error   type: 'system',
npm error   requiredBy: '.'
npm error }
npm error
npm error If you are behind a proxy, please make sure that the 'proxy' config is set properly.  See: 'npm help config'
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-30T01_29_44_989Z-debug-0.log`);

/** Real: a version the registry does not have. */
const NO_SUCH_VERSION = lines(`
npm http fetch GET 200 https://registry.npmjs.org/webgpu 152ms (cache updated)
npm error code ETARGET
npm error notarget No matching version found for webgpu@99.0.0.
npm error notarget In most cases you or one of your dependencies are requesting a package version that doesn't exist.
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-30T01_29_43_018Z-debug-0.log`);

/** Real, with --foreground-scripts: a package whose install script fails for its own reasons. */
const SCRIPT_FAILURE = lines(`
npm http cache distill-fixture-bad@file:/tmp/npmexp/distill-fixture-bad-1.0.0.tgz 0ms (cache hit)

> distill-fixture-bad@1.0.0 install
> node -e "console.error('fixture: cannot fetch the native library'); process.exit(1)"

fixture: cannot fetch the native library
npm error code 1
npm error path /tmp/npmexp/pre/node_modules/distill-fixture-bad
npm error command failed
npm error command sh -c node -e "console.error('fixture: cannot fetch the native library'); process.exit(1)"
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-30T01_30_39_011Z-debug-0.log`);

describe('GPU engine installer: package table', () => {
  it('pins the tfjs packages to the bundled tfjs-core, and webgpu to 0.6.2', () => {
    assert.equal(version_core, '4.22.0', 'update this test with the tfjs upgrade');
    const specs = gpuTargetSpecs();
    assert.deepEqual(specs.webgpu.packages, { webgpu: '0.6.2', '@tensorflow/tfjs-backend-webgpu': version_core });
    assert.deepEqual(specs['tensorflow-gpu'].packages, { '@tensorflow/tfjs-node-gpu': version_core });
    assert.equal(specs.webgpu.backend, 'webgpu');
    assert.equal(specs['tensorflow-gpu'].backend, 'tensorflow-gpu');
  });

  it('uses the exact tfjs-core version that the WebGPU backend declares as its peer', function () {
    const manifest = path.join(__dirname, '..', '..', 'node_modules', '@tensorflow', 'tfjs-backend-webgpu', 'package.json');
    if (!fs.existsSync(manifest)) this.skip();
    const peer = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { peerDependencies: Record<string, string> }).peerDependencies['@tensorflow/tfjs-core'];
    assert.equal(gpuTargetSpecs().webgpu.packages['@tensorflow/tfjs-backend-webgpu'], peer);
  });

  it('knows the bundled tfjs version without loading tfjs (src/shared/backends.ts TFJS_VERSION)', () => {
    assert.equal(TFJS_VERSION, version_core);
  });
});

describe('GPU engine installer: merging dependencies', () => {
  it('keeps what the folder has when another target is added (CUDA after WebGPU keeps WebGPU)', () => {
    const specs = gpuTargetSpecs('4.22.0');
    const merged = mergeDependencies(specs.webgpu.packages, specs['tensorflow-gpu'].packages, managedPackages(specs));
    assert.deepEqual(merged, { '@tensorflow/tfjs-backend-webgpu': '4.22.0', '@tensorflow/tfjs-node-gpu': '4.22.0', webgpu: '0.6.2' });
    assert.deepEqual(Object.keys(merged), ['@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-node-gpu', 'webgpu'], 'sorted, as npm writes them');
  });

  it("keeps the user's own packages at their versions, and lets the wanted version win", () => {
    const specs = gpuTargetSpecs('4.22.0');
    const merged = mergeDependencies({ '@tensorflow/tfjs-node': '^4.20.0', webgpu: '0.5.0' }, { webgpu: '0.6.2' }, managedPackages(specs));
    assert.deepEqual(merged, { '@tensorflow/tfjs-node': '^4.20.0', webgpu: '0.6.2' });
  });

  it('moves a kept package of our table to the bundled tfjs version', () => {
    const specs = gpuTargetSpecs('4.22.0');
    const merged = mergeDependencies(
      { '@tensorflow/tfjs-backend-webgpu': '4.21.0', webgpu: '0.6.1' },
      specs['tensorflow-gpu'].packages,
      managedPackages(specs),
    );
    assert.deepEqual(merged, { '@tensorflow/tfjs-backend-webgpu': '4.22.0', '@tensorflow/tfjs-node-gpu': '4.22.0', webgpu: '0.6.2' });
  });
});

describe('GPU engine installer: reading the folder', () => {
  const tmp = () => tempDir('distill-gpu-unit-');
  const failure = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(isDistillError(e), String(e));
      return e.message;
    }
    assert.fail('expected an error');
  };

  it('has nothing in a folder that does not exist yet, or an empty one', () => {
    const dir = tmp();
    assert.deepEqual(readInstalledDependencies(path.join(dir, 'missing')), {});
    assert.deepEqual(readInstalledDependencies(dir), {});
  });

  it("reads the folder's package.json dependencies", () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ dependencies: { webgpu: '0.6.2' } }));
    assert.deepEqual(readInstalledDependencies(dir), { webgpu: '0.6.2' });
  });

  it('refuses a non-empty folder without package.json, which replacing would lose', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    assert.match(
      failure(() => readInstalledDependencies(dir)),
      new RegExp(`${dir.replace(/[\\/.]/g, '\\$&')} is not empty and has no package\\.json.*Choose another folder`),
    );
  });

  it('names a broken package.json and the fix', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "dependencies": ');
    assert.match(
      failure(() => readInstalledDependencies(dir)),
      /package\.json is not valid JSON .*remove the folder .* to install afresh/,
    );
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ dependencies: ['webgpu'] }));
    assert.match(
      failure(() => readInstalledDependencies(dir)),
      /package\.json: "dependencies" must be an object of package names to version strings/,
    );
  });
});

describe("GPU engine installer: reading npm's output", () => {
  it('turns fetch lines and install-script headers into progress messages', () => {
    assert.equal(
      npmLineProgress('npm http fetch GET 200 https://registry.npmjs.org/@tensorflow/tfjs-node-gpu/-/tfjs-node-gpu-4.22.0.tgz 5005ms (cache miss)'),
      'Downloading @tensorflow/tfjs-node-gpu 4.22.0',
    );
    assert.equal(
      npmLineProgress('npm http fetch GET 200 https://registry.npmjs.org/@tensorflow%2ftfjs-node-gpu 131ms (cache updated)'),
      'Resolving @tensorflow/tfjs-node-gpu',
    );
    assert.equal(npmLineProgress('npm http cache y18n@https://registry.npmjs.org/y18n/-/y18n-5.0.8.tgz 0ms (cache hit)'), 'Downloading y18n 5.0.8');
    assert.equal(npmLineProgress('npm http fetch GET 200 https://registry.npmjs.org/webgpu/-/webgpu-0.6.2.tgz 812ms (cache miss)'), 'Downloading webgpu 0.6.2');
    assert.equal(
      npmLineProgress('> @tensorflow/tfjs-node-gpu@4.22.0 install'),
      'Running the install script of @tensorflow/tfjs-node-gpu (it downloads libtensorflow, about 400 MB)',
    );
    assert.equal(npmLineProgress('> webgpu@0.6.2 postinstall'), 'Running the postinstall script of webgpu');
    assert.equal(npmLineProgress('> node scripts/install.js gpu download'), undefined);
    assert.equal(npmLineProgress('* Downloading libtensorflow'), undefined);
  });

  it("keeps npm's error lines without the stack frames, the error fields and the log pointer", () => {
    assert.deepEqual(meaningfulNpmErrorLines(TFJS_NODE_GPU_FAILURE), [
      'GPU-linux-4.22.0.tar.gz',
      'https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz',
      '* Downloading libtensorflow',
      'Error: getaddrinfo ENOTFOUND storage.googleapis.com',
    ]);
  });

  for (const [name, output] of [
    ['npm error lines', TFJS_NODE_GPU_FAILURE],
    ['foreground script output', TFJS_NODE_GPU_FAILURE_FOREGROUND],
  ] as const) {
    it(`says tfjs-node-gpu could not download libtensorflow from Google, and that WebGPU needs no such download (${name})`, () => {
      const message = explainNpmFailure(output, 1);
      assert.match(message, /^@tensorflow\/tfjs-node-gpu came from the npm registry, but its install script could not download libtensorflow/);
      assert.match(
        message,
        /from https:\/\/storage\.googleapis\.com\/tensorflow\/libtensorflow\/libtensorflow-gpu-linux-x86_64-2\.9\.1\.tar\.gz: getaddrinfo ENOTFOUND storage\.googleapis\.com\./,
      );
      assert.match(message, /storage\.googleapis\.com to be reachable .* not only the npm registry/);
      assert.match(message, /install the WebGPU engine instead: it needs no such download/);
      assert.match(message, /npm exited with code 1/);
    });
  }

  it('names the registry it cannot reach, and says to check the proxy and `npm config get registry`', () => {
    const notFound = explainNpmFailure(REGISTRY_NOT_FOUND, 1);
    assert.match(notFound, /^npm could not reach the registry https:\/\/registry\.invalid\.example \(getaddrinfo ENOTFOUND registry\.invalid\.example\)/);
    assert.match(notFound, /proxy/);
    assert.match(notFound, /`npm config get registry`/);
    assert.match(explainNpmFailure(REGISTRY_REFUSED, 1), /^npm could not reach the registry http:\/\/127\.0\.0\.1:9 \(connect ECONNREFUSED 127\.0\.0\.1:9\)/);
  });

  it('says which version the registry does not have', () => {
    assert.match(
      explainNpmFailure(NO_SUCH_VERSION, 1),
      /^npm cannot find a package or version: No matching version found for webgpu@99\.0\.0\. Check `npm config get registry`/,
    );
  });

  it("names the package whose install script failed, with the script's own words", () => {
    assert.equal(
      explainNpmFailure(SCRIPT_FAILURE, 1),
      'The install script of distill-fixture-bad failed: fixture: cannot fetch the native library. (npm exited with code 1.)',
    );
  });

  it("falls back to npm's last error lines", () => {
    const message = explainNpmFailure(
      ['npm error code EWHATEVER', 'npm error something odd happened', 'npm error A complete log of this run can be found in: /x.log'],
      1,
    );
    assert.equal(message, 'npm install failed: something odd happened. The full output is in the log. (npm exited with code 1.)');
  });
});
