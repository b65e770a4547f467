/**
 * Profiles training steps of the reference student (cnn-small: conv3x3(16)+relu, maxpool2, conv3x3(32)+relu,
 * maxpool2, dense(128)+relu, dense(10); 28×28×1, batch 256, Adam, softmax cross-entropy) on one backend.
 * Prints samples/s by wall clock and by process CPU time (the machine is shared, so CPU time is the steadier
 * figure), and a per-kernel CPU-time breakdown taken by wrapping every registered kernel of the backend.
 * Usage: npx tsx scripts/profile-student.ts [wasm|cpu] [steps] [--stock]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

/**
 * Wraps every kernel of `backend` to add its CPU time to `table` while `enabled()` holds. Kernels called from
 * inside another kernel (our wasm kernels compose stock ones) count towards the outer one only.
 */
function instrumentKernels(backend: string, table: Map<string, { ms: number; calls: number }>, enabled: () => boolean): void {
  let depth = 0;
  for (const config of tf.getKernelsForBackend(backend)) {
    const inner = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, backend);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        if (!enabled() || depth > 0) return inner(args);
        const t = process.cpuUsage();
        depth++;
        let out;
        try {
          out = inner(args);
        } finally {
          depth--;
        }
        const entry = table.get(config.kernelName) ?? { ms: 0, calls: 0 };
        entry.ms += cpuMs(t);
        entry.calls += 1;
        table.set(config.kernelName, entry);
        return out;
      },
    });
  }
}

async function main(): Promise<void> {
  const backend = process.argv[2] ?? 'wasm';
  const steps = Number(process.argv[3] ?? 10);
  if (!process.argv.includes('--stock')) (await import('../src/engine/backends/kernels')).registerBackendKernels(backend);
  const table = new Map<string, { ms: number; calls: number }>();
  let profiling = false;
  instrumentKernels(backend, table, () => profiling);
  await tf.setBackend(backend);
  await tf.ready();
  const batch = 256;
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 128, activation: 'relu' }),
      tfl.layers.dense({ units: 10 }),
    ],
  });
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomUniform([batch, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);
  const step = () =>
    tf.tidy(() => {
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    });
  for (let i = 0; i < 2; i++) step();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) step();
  const wall = (performance.now() - t0) / steps;
  const cpu = cpuMs(c0) / steps;
  console.log(
    `${backend}: wall ${wall.toFixed(1)} ms/step = ${((batch / wall) * 1000).toFixed(0)} samples/s; ` +
      `cpu ${cpu.toFixed(1)} ms/step = ${((batch / cpu) * 1000).toFixed(0)} samples/s; tensors ${tf.memory().numTensors}`,
  );

  profiling = true;
  const p0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) step();
  const stepCpu = cpuMs(p0) / steps;
  profiling = false;
  const kernelTotal = [...table.values()].reduce((s, e) => s + e.ms, 0) / steps;
  console.log(
    `per step: ${stepCpu.toFixed(1)} ms cpu, of which kernels ${kernelTotal.toFixed(1)} ms, rest (tape, JS glue) ${(stepCpu - kernelTotal).toFixed(1)} ms`,
  );
  for (const [name, e] of [...table].sort((p, q) => q[1].ms - p[1].ms).slice(0, 20)) {
    console.log(`  ${name.padEnd(24)} ${(e.ms / steps).toFixed(2).padStart(8)} ms  ${String(e.calls / steps).padStart(4)}×`);
  }
}
void main();
