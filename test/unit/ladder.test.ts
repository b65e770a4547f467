import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { isSoftwareAdapter, missingKernel, selectBackend } from '../../src/engine/backends/ladder';
import { LADDER, OPTIONAL_MODULES_ENV } from '../../src/shared/backends';
import { isDistillError } from '../../src/shared/errors';

/** One real training-step-sized computation with a gradient, as the engine's probe does. */
function convGradientProbe(): void {
  tf.tidy(() => {
    const x = tf.ones([2, 5, 5, 1]);
    const filter = tf.variable(tf.ones([3, 3, 1, 2]));
    const { grads } = tf.variableGrads(() => tf.sum(tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same')), [filter]);
    grads[filter.name].dataSync();
    filter.dispose();
  });
}

describe('backend ladder', () => {
  // The optional packages are not installed on this machine, which is the situation the ladder must explain.
  it('auto picks wasm here and says why each faster backend was skipped', async () => {
    const lines: string[] = [];
    const report = await selectBackend('auto', { log: (m) => lines.push(m), probe: convGradientProbe });
    assert.equal(report.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(
      report.skipped.map((s) => s.name),
      ['tensorflow-gpu', 'webgpu', 'tensorflow'],
    );
    assert.deepEqual(
      report.skipped.map((s) => s.reason),
      [
        'package @tensorflow/tfjs-node-gpu is not installed',
        // The tests' WebGPU adapter is SwiftShader (test/support/softwareGpu.ts): real, but not worth picking.
        'only a software WebGPU adapter was found (google swiftshader swiftshader-device-subzero- SwiftShader driver 5.0.0): it emulates a GPU on the CPU and trains slower than wasm',
        'package @tensorflow/tfjs-node is not installed',
      ],
    );
    assert.match(
      report.reason,
      /^wasm \(SIMD, 1 thread\): first available; skipped tensorflow-gpu: package @tensorflow\/tfjs-node-gpu is not installed; webgpu: /,
    );
    assert.equal(lines.length, 3, lines.join('\n'));
  });

  it('gives cpu when cpu is requested', async () => {
    const report = await selectBackend('cpu', { probe: convGradientProbe });
    assert.equal(report.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.deepEqual(report.skipped, []);
    assert.match(report.reason, /^cpu \(pure JavaScript, tfjs 4\.\d+\.\d+\): requested by engine\.backend$/);
  });

  it('fails clearly when an explicit backend cannot load', async () => {
    await assert.rejects(selectBackend('tensorflow'), (e: unknown) => {
      assert.ok(isDistillError(e));
      assert.equal(e.kind, 'runtime');
      assert.deepEqual(e.location.path, ['engine', 'backend']);
      assert.match(
        e.message,
        /engine\.backend is "tensorflow", but it cannot be used here: package @tensorflow\/tfjs-node is not installed\. Install @tensorflow\/tfjs-node in the workspace, or with `npm install --prefix <folder>` and the setting distill\.engine\.optionalModules .*, or set engine\.backend to "auto"\./,
      );
      return true;
    });
  });

  it('moves past a backend whose probe hits a missing kernel, naming the kernel', async () => {
    const probe = () => {
      // The kernel is really absent on wasm: only the probe's choice of op is contrived.
      if (tf.getBackend() === 'wasm') tf.engine().runKernel('Dilation2DBackpropFilter', {}, {});
      convGradientProbe();
    };
    const unregistered = () => tf.engine().runKernel('NoSuchKernelAnywhere', {}, {});
    assert.equal(missingKernel(captureError(unregistered)), 'NoSuchKernelAnywhere');
    const wasmLacks = tf.getKernel('Dilation2DBackpropFilter', 'wasm');
    // Keep the test honest: if a future wasm package adds the kernel, make another one missing.
    if (wasmLacks) tf.unregisterKernel('Dilation2DBackpropFilter', 'wasm');
    try {
      const report = await selectBackend('auto', { probe });
      assert.equal(report.name, 'cpu');
      assert.deepEqual(report.skipped.at(-1), { name: 'wasm', reason: 'kernel Dilation2DBackpropFilter is not implemented on wasm' });
      assert.match(
        report.reason,
        /^cpu \(pure JavaScript, tfjs [\d.]+\): first available; skipped .*wasm: kernel Dilation2DBackpropFilter is not implemented on wasm$/,
      );
    } finally {
      if (wasmLacks) tf.registerKernel(wasmLacks);
    }
  });

  it('an explicit backend whose probe hits a missing kernel is an error naming it', async () => {
    const probe = () => {
      if (tf.getBackend() === 'wasm') tf.engine().runKernel('NoSuchKernelAnywhere', {}, {});
    };
    await assert.rejects(
      selectBackend('wasm', { probe }),
      /engine\.backend is "wasm", but it cannot be used here: kernel NoSuchKernelAnywhere is not implemented on wasm/,
    );
  });

  it('lets model errors from the probe through unchanged', async () => {
    const boom = new Error('Input 0 is incompatible with layer dense: expected axis -1 to have 784, got 10');
    await assert.rejects(
      selectBackend('auto', {
        probe: () => {
          throw boom;
        },
      }),
      (e) => e === boom,
    );
  });

  it('tells software WebGPU adapters from GPUs by their adapter info', () => {
    // As Dawn reports them: SwiftShader (chromium's), Mesa's llvmpipe/lavapipe, Windows' WARP, and real GPUs.
    assert.equal(
      isSoftwareAdapter({
        vendor: 'google',
        architecture: 'swiftshader',
        device: 'swiftshader-device-subzero-',
        description: 'SwiftShader driver 5.0.0',
        isFallbackAdapter: true,
      }),
      true,
    );
    assert.equal(isSoftwareAdapter({ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' }), false);
    assert.equal(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', description: 'Apple M2' }), false);
    assert.equal(isSoftwareAdapter({}), false);
  });

  it('lists the ladder fastest first', () => {
    assert.deepEqual([...LADDER], ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
  });
});

/** Writes package `name` with `files` (path → text) into `nodeModules`, with a package.json unless one is given. */
function writePackage(nodeModules: string, name: string, files: Record<string, string>, packageJson: Record<string, unknown> = {}): void {
  const dir = path.join(nodeModules, ...name.split('/'));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '0.0.0-fake', main: 'index.js', ...packageJson }));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
}

/**
 * What Node throws when a native addon's library dependency is missing: the dlopen text, code ERR_DLOPEN_FAILED.
 * tfjs-node-gpu throws exactly this from its binding when CUDA 11 is not installed.
 */
function dlopenFailure(library: string): string {
  return `const e = new Error('${library}: cannot open shared object file: No such file or directory'); e.code = 'ERR_DLOPEN_FAILED'; throw e;\n`;
}

/** A node-gpu package that fails like the real one on a machine without `library`. */
const fakeNodeGpu = (nodeModules: string, library: string) => writePackage(nodeModules, '@tensorflow/tfjs-node-gpu', { 'index.js': dlopenFailure(library) });

describe('backend ladder: optional packages', () => {
  const savedEnv = process.env[OPTIONAL_MODULES_ENV];
  const savedCwd = process.cwd();
  let tmp: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-ladder-'));
    delete process.env[OPTIONAL_MODULES_ENV];
  });
  afterEach(() => {
    process.chdir(savedCwd);
    if (savedEnv === undefined) delete process.env[OPTIONAL_MODULES_ENV];
    else process.env[OPTIONAL_MODULES_ENV] = savedEnv;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const workspace = () => {
    const dir = path.join(tmp, 'workspace');
    fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
    process.chdir(dir);
    return path.join(dir, 'node_modules');
  };
  const explicitFolder = () => {
    const dir = path.join(tmp, 'gpu-engine', 'node_modules');
    fs.mkdirSync(dir, { recursive: true });
    process.env[OPTIONAL_MODULES_ENV] = dir;
    return dir;
  };
  const reasonFor = (report: Awaited<ReturnType<typeof selectBackend>>, name: string) => report.skipped.find((s) => s.name === name)?.reason;

  it('skips webgpu when Dawn finds no adapter, leaves the globals alone, and falls to wasm', async () => {
    const modules = explicitFolder();
    // An ES module like the real `webgpu`, whose navigator.gpu finds no adapter, as Dawn does without a Vulkan loader.
    writePackage(
      modules,
      'webgpu',
      {
        'index.js': 'export const globals = { GPUBufferUsage: { MAP_READ: 1 } };\nexport function create() { return { requestAdapter: async () => null }; }\n',
      },
      { type: 'module' },
    );
    // Importing the tfjs backend without an adapter would be a bug: this one says so if it happens.
    writePackage(modules, '@tensorflow/tfjs-backend-webgpu', { 'index.js': "throw new Error('imported without an adapter');\n" });
    // As they were: unset in a fresh process, or the real Dawn's if another test file loaded it first.
    const g = globalThis as { navigator?: { gpu?: unknown }; GPUBufferUsage?: unknown };
    const before = { gpu: g.navigator?.gpu, usage: g.GPUBufferUsage };
    const report = await selectBackend('auto', { probe: convGradientProbe });
    assert.equal(report.name, 'wasm');
    assert.equal(reasonFor(report, 'webgpu'), 'no WebGPU adapter was found (no Vulkan, Metal or D3D12 GPU, or its driver is missing)');
    assert.equal(g.navigator?.gpu, before.gpu);
    assert.equal(g.GPUBufferUsage, before.usage);
  });

  it('names the missing CUDA library when tfjs-node-gpu is installed but cannot load', async () => {
    fakeNodeGpu(explicitFolder(), 'libcudart.so.11.0');
    const report = await selectBackend('auto');
    assert.equal(report.name, 'wasm');
    assert.equal(
      reasonFor(report, 'tensorflow-gpu'),
      '@tensorflow/tfjs-node-gpu failed to load: libcudart.so.11.0: cannot open shared object file: No such file or directory',
    );
    await assert.rejects(selectBackend('tensorflow-gpu'), (e: unknown) => {
      assert.ok(isDistillError(e));
      assert.match(
        e.message,
        /^engine\.backend is "tensorflow-gpu", but it cannot be used here: @tensorflow\/tfjs-node-gpu failed to load: libcudart\.so\.11\.0: cannot open shared object file/,
      );
      return true;
    });
  });

  it('finds optional packages in the workspace', async () => {
    fakeNodeGpu(workspace(), 'libcudart.so.11.0');
    const report = await selectBackend('auto');
    assert.match(reasonFor(report, 'tensorflow-gpu') ?? '', /failed to load: libcudart\.so\.11\.0:/);
  });

  it('tries DISTILL_OPTIONAL_MODULES before the workspace, and the workspace when the folder lacks the package', async () => {
    fakeNodeGpu(workspace(), 'libcudart.so.11.0');
    const explicit = explicitFolder();
    assert.match(
      reasonFor(await selectBackend('auto'), 'tensorflow-gpu') ?? '',
      /libcudart\.so\.11\.0/,
      'an explicit folder without the package falls through',
    );
    fakeNodeGpu(explicit, 'libcudnn.so.8');
    assert.match(reasonFor(await selectBackend('auto'), 'tensorflow-gpu') ?? '', /failed to load: libcudnn\.so\.8:/, 'the explicit folder comes first');
  });

  it('accepts a folder that holds node_modules (an npm --prefix) as DISTILL_OPTIONAL_MODULES', async () => {
    const modules = explicitFolder();
    process.env[OPTIONAL_MODULES_ENV] = path.dirname(modules);
    fakeNodeGpu(modules, 'libcudnn.so.8');
    assert.match(reasonFor(await selectBackend('auto'), 'tensorflow-gpu') ?? '', /libcudnn\.so\.8/);
  });

  it('says where it looked when a package is nowhere', async () => {
    const explicit = explicitFolder();
    assert.equal(
      reasonFor(await selectBackend('auto'), 'tensorflow'),
      `package @tensorflow/tfjs-node is not installed (looked in ${OPTIONAL_MODULES_ENV}=${explicit} too)`,
    );
    const missing = path.join(tmp, 'no-such-folder');
    process.env[OPTIONAL_MODULES_ENV] = missing;
    assert.equal(
      reasonFor(await selectBackend('auto'), 'tensorflow'),
      `package @tensorflow/tfjs-node is not installed, and ${OPTIONAL_MODULES_ENV}=${missing} names a folder that does not exist`,
    );
  });
});

function captureError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}
