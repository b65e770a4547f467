import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { LADDER, missingKernel, selectBackend } from '../../src/engine/backends/ladder';
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
    assert.deepEqual(report.skipped.map((s) => s.name), ['tensorflow-gpu', 'webgpu', 'tensorflow']);
    assert.deepEqual(report.skipped.map((s) => s.reason), [
      'package @tensorflow/tfjs-node-gpu is not installed',
      'package webgpu is not installed',
      'package @tensorflow/tfjs-node is not installed',
    ]);
    assert.match(report.reason, /^wasm \(SIMD, 1 thread\): first available; skipped tensorflow-gpu: package @tensorflow\/tfjs-node-gpu is not installed; webgpu: /);
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
      assert.match(e.message, /engine\.backend is "tensorflow", but it cannot be used here: package @tensorflow\/tfjs-node is not installed\. Install @tensorflow\/tfjs-node in the workspace, or set engine\.backend to "auto"\./);
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
      assert.match(report.reason, /^cpu \(pure JavaScript, tfjs [\d.]+\): first available; skipped .*wasm: kernel Dilation2DBackpropFilter is not implemented on wasm$/);
    } finally {
      if (wasmLacks) tf.registerKernel(wasmLacks);
    }
  });

  it('an explicit backend whose probe hits a missing kernel is an error naming it', async () => {
    const probe = () => {
      if (tf.getBackend() === 'wasm') tf.engine().runKernel('NoSuchKernelAnywhere', {}, {});
    };
    await assert.rejects(selectBackend('wasm', { probe }), /engine\.backend is "wasm", but it cannot be used here: kernel NoSuchKernelAnywhere is not implemented on wasm/);
  });

  it('lets model errors from the probe through unchanged', async () => {
    const boom = new Error('Input 0 is incompatible with layer dense: expected axis -1 to have 784, got 10');
    await assert.rejects(selectBackend('auto', { probe: () => { throw boom; } }), (e) => e === boom);
  });

  it('lists the ladder fastest first', () => {
    assert.deepEqual([...LADDER], ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
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
