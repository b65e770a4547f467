/**
 * Micro-benchmark of the training kernels at the reference student's shapes (batch 256): ours against the stock
 * wasm kernels where those exist. Reports the minimum process CPU time over the repetitions, which is the figure
 * least disturbed by other work on a shared machine.
 * Usage: npx tsx scripts/profile-kernels.ts [reps]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';

type Inputs = Record<string, tf.Tensor>;
const reps = Number(process.argv[2] ?? 10);

function minCpuMs(run: () => void): number {
  run();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = process.cpuUsage();
    run();
    const d = process.cpuUsage(t);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

/** Times one kernel call with our registration, then (if it replaces one) with the stock kernel. */
function bench(label: string, kernelName: string, inputs: Inputs, attrs: Record<string, unknown>): void {
  const call = () =>
    tf.tidy(() => {
      (tf.engine().runKernel(kernelName, inputs, attrs as tf.NamedAttrMap) as tf.Tensor).dataSync();
    });
  const ours = minCpuMs(call);
  let stock = '';
  const original = stockKernels.get(kernelName);
  const current = tf.getKernel(kernelName, 'wasm');
  if (original && original.kernelFunc !== current.kernelFunc) {
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel(original);
    stock = `   stock ${minCpuMs(call).toFixed(2).padStart(7)} ms`;
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel(current);
  }
  console.log(`${label.padEnd(44)} ours ${ours.toFixed(2).padStart(7)} ms${stock}`);
}

const stockKernels = new Map<string, tf.KernelConfig>();

async function main(): Promise<void> {
  // Snapshot the stock kernels, then register ours.
  for (const k of tf.getKernelsForBackend('wasm')) stockKernels.set(k.kernelName, k);
  (await import('../src/engine/backends/kernels')).registerBackendKernels('wasm');
  await tf.setBackend('wasm');
  type Shape4 = [number, number, number, number];
  const conv: { name: string; x: Shape4; f: Shape4 }[] = [
    { name: 'conv1', x: [256, 28, 28, 1], f: [3, 3, 1, 16] },
    { name: 'conv2', x: [256, 14, 14, 16], f: [3, 3, 16, 32] },
  ];
  for (const { name, x: xs, f: fs } of conv) {
    const x = tf.randomNormal(xs) as tf.Tensor4D;
    const filter = tf.randomNormal(fs) as tf.Tensor4D;
    const dy = tf.conv2d(x, filter, 1, 'same');
    bench(`${name} Conv2D (forward)`, 'Conv2D', { x, filter }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 });
    bench(`${name} Conv2DBackpropFilter`, 'Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: fs });
    bench(`${name} Conv2DBackpropInput`, 'Conv2DBackpropInput', { dy, filter }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: xs });
    const relu = tf.relu(dy);
    const pooled = tf.maxPool(relu, 2, 2, 'valid');
    bench(`${name} MaxPoolGrad 2x2`, 'MaxPoolGrad', { dy: pooled, input: relu, output: pooled }, { filterSize: 2, strides: 2, pad: 'valid' });
    bench(`${name} Sum (bias gradient)`, 'Sum', { x: dy }, { axis: [0, 1, 2], keepDims: false });
  }
  const a = tf.randomNormal([256, 1568]);
  const w = tf.randomNormal([1568, 128]);
  const g = tf.randomNormal([256, 128]);
  bench('dense A·W', 'BatchMatMul', { a, b: w }, { transposeA: false, transposeB: false });
  bench('dense dW = Aᵀ·dY', 'BatchMatMul', { a, b: g }, { transposeA: true, transposeB: false });
  bench('dense dA = dY·Wᵀ', 'BatchMatMul', { a: g, b: w }, { transposeA: false, transposeB: true });
  const dx = tf.randomNormal([256, 14, 14, 32]);
  const dwf = tf.randomNormal([3, 3, 32, 1]);
  const ddy = tf.depthwiseConv2d(dx as tf.Tensor4D, dwf as tf.Tensor4D, 1, 'same');
  bench(
    'depthwise 14x14x32 BackpropFilter',
    'DepthwiseConv2dNativeBackpropFilter',
    { x: dx, dy: ddy },
    { strides: 1, pad: 'same', dilations: 1, filterShape: [3, 3, 32, 1] },
  );
  bench(
    'depthwise 14x14x32 BackpropInput',
    'DepthwiseConv2dNativeBackpropInput',
    { dy: ddy, filter: dwf },
    { strides: 1, pad: 'same', dilations: 1, inputShape: [256, 14, 14, 32] },
  );
  bench(
    'depthwise 14x14x32 BackpropInput stride 2',
    'DepthwiseConv2dNativeBackpropInput',
    { dy: tf.depthwiseConv2d(dx as tf.Tensor4D, dwf as tf.Tensor4D, 2, 'same'), filter: dwf },
    { strides: 2, pad: 'same', dilations: 1, inputShape: [256, 14, 14, 32] },
  );
}
void main();
