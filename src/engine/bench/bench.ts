/**
 * `npm run bench`: how fast Distill distils on this machine, every case measured side by side in one run.
 *
 *   kd-train       the engine's KD training loop, cnn-small and mlp students, on each available backend, with the
 *                  kernels (GPU dispatches) one step runs
 *   kd-composed    the same with the KD loss composed from tfjs ops instead of the fused kernels (kd/stepStats.ts)
 *   ce-train       the same students trained CE-only with plain tfjs-layers `fit`: the KD overhead yardstick
 *   teacher-infer  cnn-large forward passes, as when the engine computes teacher logits
 *   epoch          one epoch of real Fashion-MNIST through the whole engine, data loading included
 *   torch          the PyTorch peer script on the same models and batch, when a python with torch exists, on the
 *                  CPU or (--torch-device cuda) on the GPU
 *
 * Prints a table and one JSON line per measurement, then a `ratios` line with the issues' targets (the GPU ones
 * compare each GPU backend with PyTorch on CUDA); `--json` prints the JSON lines only. Not a test: nothing here
 * passes or fails, it reports. `npm run bench:gpu` is the GPU check: webgpu, tensorflow-gpu and wasm beside
 * PyTorch on CUDA, and an epoch of real Fashion-MNIST on each.
 *
 * Usage: node dist/bench.js [--json] [--quick] [--seconds N] [--batch N] [--cpu-batch N]
 *                           [--backends wasm,cpu] [--cases kd-train,kd-composed,ce-train,teacher-infer,epoch,torch]
 *                           [--torch-device cpu|cuda] [--torch-script FILE] [--fashion-mnist DIR] [--epoch-rows N]
 *                           [--threads 1,2] [--rounds N]
 *
 * `--threads` is the engine.threads axis (default: 1 and every core): kd-train and the epoch run once per count on
 * the CPU backends, and the ratios line gives the scaling (N threads ÷ 1) beside PyTorch on all cores.
 *
 * `--rounds N` measures the non-pure-JS backends and PyTorch N times, alternating (the thread counts in reverse order
 * every other round), and the table and targets use each case's median: on a shared machine one round's figures move
 * by a third with the neighbours' load. The JSON lines keep every round's measurement; the pure-JS cpu backend and
 * the epoch run once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { GPU_BACKENDS, LADDER, type ConcreteBackend } from '../../shared/backends';
import { MAX_THREADS } from '../../shared/config';
import { errorMessage } from '../../shared/errors';
import { selectBackend } from '../backends/ladder';
import { memoryCopyScaling } from '../../sweep/memoryCopy';
import { DATA_PARALLEL_BACKENDS } from '../train/threads';
import type { PresetSpec } from '../models/presets';
import { epochUnavailable, FASHION_MNIST, measureEpoch } from './epoch';
import { hasFusedStepStats, withComposedStepStats } from '../kd/stepStats';
import { countKdStepKernels, measureCeFit, measureInference, measureKdTrain, type Budget, type Throughput } from './measure';
import {
  CASES,
  computeRatios,
  formatTable,
  headerLine,
  roundRate as round,
  type CaseName,
  type MachineInfo,
  type Measurement,
  type ModelName,
  type Skipped,
} from './report';
import { findTorchPython, runTorchPeer, TORCH_DEVICES, torchScript, type TorchDevice } from './torch';

const SELECTABLE_CASES = [...CASES, 'torch'] as const;
type SelectableCase = (typeof SELECTABLE_CASES)[number];

const STUDENTS: { name: ModelName; spec: PresetSpec }[] = [
  { name: 'cnn-small', spec: { preset: 'cnn-small' } },
  { name: 'mlp', spec: { preset: 'mlp', hidden: [128] } },
];
const TEACHER: { name: ModelName; spec: PresetSpec } = { name: 'cnn-large', spec: { preset: 'cnn-large' } };

/** The pure-JS backend gets a shorter budget: it is only there to show how much the others gain. */
const CPU_SECONDS_CAP = 3;
const QUICK = { seconds: 1.5, epochTrainRows: 6000, torchSeconds: 2 };
const TORCH_SECONDS = 8;
/** Fashion-MNIST's 60,000 training rows less the 10 % validation split. */
const FULL_EPOCH_TRAIN_ROWS = 54000;

interface Options {
  json: boolean;
  quick: boolean;
  seconds: number;
  batch: number;
  cpuBatch: number;
  backends: ConcreteBackend[];
  cases: SelectableCase[];
  torchDevice: TorchDevice;
  /** The PyTorch peer script; undefined: found next to the repository. */
  torchScript?: string;
  /** The folder with Fashion-MNIST's four IDX .gz files. */
  fashionMnist: string;
  /** Training rows the epoch case reads at most; undefined: all of the file's. */
  epochRows?: number;
  /** engine.threads values to measure kd-train and the epoch at, on the CPU backends; ascending, 1 first. */
  threads: number[];
  /** Times the non-pure-JS backends and PyTorch are measured, alternating; the targets use the medians. */
  rounds: number;
}

function parseOptions(argv: string[]): Options {
  const positive = (name: string) => (value: string) => {
    const n = Number(value);
    if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number, got "${value}".`);
    return n;
  };
  const integer = (name: string) => (value: string) => {
    const n = positive(name)(value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number, got "${value}".`);
    return n;
  };
  const listOf =
    <T extends string>(name: string, allowed: readonly T[]) =>
    (value: string) => {
      const items = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = items.filter((s) => !(allowed as readonly string[]).includes(s));
      if (unknown.length || !items.length)
        throw new InvalidArgumentError(`${name}: unknown "${unknown.join(', ')}"; use a comma-separated list of ${allowed.join(', ')}.`);
      return items as T[];
    };
  const opts = new Command('bench')
    .description('Distill training and inference speed on this machine, side by side with PyTorch when it is installed.')
    .option('--json', 'print only JSON lines, one per measurement, then a ratios line', false)
    .option('--quick', `short run: ${QUICK.seconds} s per case, an epoch of ${QUICK.epochTrainRows} rows, PyTorch for ${QUICK.torchSeconds} s`, false)
    .option('--seconds <n>', 'time budget of each case in seconds (default 5, or 1.5 with --quick)', positive('--seconds'))
    .option('--batch <n>', 'batch size', integer('--batch'), 256)
    .option('--cpu-batch <n>', 'batch size of the CNN cases on the slow pure-JS cpu backend', integer('--cpu-batch'), 32)
    .option('--backends <list>', `backends to try (default: each of ${LADDER.join(', ')} that loads)`, listOf('--backends', LADDER))
    .option('--cases <list>', `cases to run (default: all of ${SELECTABLE_CASES.join(', ')})`, listOf('--cases', SELECTABLE_CASES))
    .addOption(new Option('--torch-device <device>', 'where the PyTorch peer runs: its --device').choices(TORCH_DEVICES).default('cpu'))
    .option('--torch-script <file>', 'the PyTorch peer script (default: shared/bench/torch_kd_student.py beside the repository)')
    .option('--fashion-mnist <dir>', 'folder with the four Fashion-MNIST IDX .gz files for the epoch case', FASHION_MNIST)
    .option('--epoch-rows <n>', `training rows the epoch case reads at most (default: all, or ${QUICK.epochTrainRows} with --quick)`, integer('--epoch-rows'))
    .option(
      '--threads <list>',
      `engine.threads values for kd-train and the epoch on wasm and cpu (default: 1,${os.availableParallelism()}, i.e. 1 and every core)`,
      threadList,
    )
    .option('--rounds <n>', 'measure the backends and PyTorch this many times, alternating, and report the medians', integer('--rounds'), 1)
    .parse(argv)
    .opts<{
      json: boolean;
      quick: boolean;
      seconds?: number;
      batch: number;
      cpuBatch: number;
      backends?: ConcreteBackend[];
      cases?: SelectableCase[];
      torchDevice: TorchDevice;
      torchScript?: string;
      fashionMnist: string;
      epochRows?: number;
      threads?: number[];
      rounds: number;
    }>();
  return {
    json: opts.json,
    quick: opts.quick,
    seconds: opts.seconds ?? (opts.quick ? QUICK.seconds : 5),
    batch: opts.batch,
    cpuBatch: opts.cpuBatch,
    backends: opts.backends ?? [...LADDER],
    cases: opts.cases ?? [...SELECTABLE_CASES],
    torchDevice: opts.torchDevice,
    torchScript: opts.torchScript && path.resolve(opts.torchScript),
    fashionMnist: path.resolve(opts.fashionMnist),
    epochRows: opts.epochRows ?? (opts.quick ? QUICK.epochTrainRows : undefined),
    threads: opts.threads ?? [...new Set([1, Math.min(MAX_THREADS, os.availableParallelism())])],
    rounds: opts.rounds,
  };
}

function threadList(value: string): number[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const counts = items.map(Number);
  if (!items.length || counts.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_THREADS)) {
    throw new InvalidArgumentError(`--threads: use a comma-separated list of whole numbers from 1 to ${MAX_THREADS}, e.g. 1,2; got "${value}".`);
  }
  return [...new Set(counts)].sort((a, b) => a - b);
}

class Bench {
  readonly measurements: Measurement[] = [];
  readonly skipped: Skipped[] = [];
  /** The round being measured, when there are several. */
  round?: number;

  constructor(private readonly opts: Options) {}

  progress(message: string): void {
    if (!this.opts.json) process.stderr.write(`· ${message}\n`);
  }

  record(measured: Measurement): void {
    const m = this.round === undefined ? measured : { ...measured, round: this.round };
    this.measurements.push(m);
    if (this.opts.json) process.stdout.write(JSON.stringify(m) + '\n');
    // The table comes only at the end: a run cut short (the GPU check's time limit) still logs each figure.
    this.progress(`${m.case} ${m.model} on ${m.backend} (${m.engine}, ${m.threads ?? 1} thread${m.threads === 1 ? '' : 's'}): ${m.samplesPerSec} samples/s`);
  }

  skip(s: Skipped): void {
    // The same skip comes once per round; list it once.
    if (this.skipped.some((k) => k.case === s.case && k.model === s.model && k.backend === s.backend)) return;
    this.skipped.push(s);
    this.progress(`skipped ${[s.case, s.model, s.backend].filter(Boolean).join(' ')}: ${s.reason}`);
  }

  wants(c: SelectableCase): boolean {
    return this.opts.cases.includes(c);
  }

  /** Runs one distill measurement, turning a failure (a missing kernel, say) into a skipped line. */
  async measure(
    c: CaseName,
    model: ModelName,
    backend: ConcreteBackend,
    batch: number,
    run: () => Promise<Throughput>,
    note?: string,
    threads = 1,
  ): Promise<void> {
    this.progress(`${c} ${model} on ${backend}, batch ${batch}${threads > 1 ? `, ${threads} threads` : ''}…`);
    try {
      const t = await run();
      this.record({
        case: c,
        model,
        backend,
        engine: 'distill',
        batch,
        threads,
        samplesPerSec: round(t.samples / t.seconds),
        seconds: round(t.seconds),
        samples: t.samples,
        samplesPerCpuSec: round(t.samples / t.cpuSeconds),
        tensorDelta: t.tensorDelta,
        kernelsPerStep: t.kernelsPerStep,
        note,
      });
    } catch (e) {
      this.skip({ case: c, model, backend, reason: firstLine(errorMessage(e)) });
    }
  }
}

const firstLine = (s: string) => s.split('\n')[0];

/** Makes `backend` the active one through the ladder: what it says of itself, or why it is not available here. */
async function activate(backend: ConcreteBackend): Promise<{ detail: string } | { unavailable: string }> {
  try {
    const report = await selectBackend(backend);
    // Compare ladder names, not tf.getBackend(): tensorflow-gpu registers itself as tfjs's 'tensorflow'.
    if (report.name !== backend) return { unavailable: `not available (the ladder chose ${report.name}: ${report.reason})` };
    return { detail: report.reason.replace(/: requested by engine\.backend$/, '') };
  } catch (e) {
    return { unavailable: `not available: ${firstLine(errorMessage(e))}` };
  }
}

async function measureBackend(bench: Bench, backend: ConcreteBackend, opts: Options, reverseThreads = false): Promise<void> {
  const slow = backend === 'cpu';
  const budget: Budget = { seconds: slow ? Math.min(opts.seconds, CPU_SECONDS_CAP) : opts.seconds, minSteps: slow ? 1 : 3 };
  const cnnBatch = slow ? opts.cpuBatch : opts.batch;
  // One batch-256 cnn-small step takes ~30 s on the pure-JS backend, whose time per sample hardly depends on batch.
  const cnnNote = cnnBatch !== opts.batch ? `batch ${cnnBatch} on pure-JS cpu (--cpu-batch)` : undefined;
  const batchFor = (model: ModelName) => (model === 'mlp' ? opts.batch : cnnBatch);
  const noteFor = (model: ModelName) => (model === 'mlp' ? undefined : cnnNote);

  // The engine's KD step, and beside it the same step with the loss composed from tfjs ops (what it was before the
  // fused kernels, and what tfjs-node still runs), with the kernels each runs per step.
  const kdTrain = async (spec: PresetSpec, batch: number, threads = 1) => ({
    ...(await measureKdTrain(spec, batch, budget, threads)),
    kernelsPerStep: threads === 1 ? await countKdStepKernels(spec, batch) : undefined,
  });
  // One thread only where the step is not split: tfjs-node and the GPU backends use the machine by themselves.
  const threadCounts = DATA_PARALLEL_BACKENDS.includes(backend) ? (reverseThreads ? [...opts.threads].reverse() : opts.threads) : [1];
  for (const { name, spec } of STUDENTS) {
    for (const threads of threadCounts) {
      if (bench.wants('kd-train'))
        await bench.measure('kd-train', name, backend, batchFor(name), () => kdTrain(spec, batchFor(name), threads), noteFor(name), threads);
    }
    if (bench.wants('kd-composed') && hasFusedStepStats()) {
      await bench.measure(
        'kd-composed',
        name,
        backend,
        batchFor(name),
        () => withComposedStepStats(() => kdTrain(spec, batchFor(name))),
        noteFor(name) ?? 'KD loss composed from tfjs ops',
      );
    }
    if (bench.wants('ce-train'))
      await bench.measure('ce-train', name, backend, batchFor(name), () => measureCeFit(spec, batchFor(name), budget), noteFor(name));
  }
  if (bench.wants('teacher-infer')) {
    await bench.measure('teacher-infer', TEACHER.name, backend, cnnBatch, () => measureInference(TEACHER.spec, cnnBatch, budget), cnnNote);
  }
}

function measureTorch(bench: Bench, opts: Options): void {
  const script = opts.torchScript ?? torchScript(__dirname);
  if (!script) return bench.skip({ case: 'torch', reason: 'shared/bench/torch_kd_student.py not found next to the repository; name it with --torch-script' });
  if (!fs.existsSync(script)) return bench.skip({ case: 'torch', reason: `--torch-script ${script} does not exist` });
  const python = findTorchPython();
  if (!python)
    return bench.skip({ case: 'torch', reason: 'no python3 with torch (tried python3 and /usr/bin/python3); on Debian: apt-get install python3-torch' });
  const seconds = opts.quick ? QUICK.torchSeconds : TORCH_SECONDS;
  // All cores: what a PyTorch user gets on this machine.
  const threads = os.availableParallelism();
  const device = opts.torchDevice;
  bench.progress(`PyTorch ${python.version} (${python.python}) on ${device}, ${threads} threads, ${seconds} s…`);
  try {
    const peer = runTorchPeer(script, python, { batch: opts.batch, seconds, threads, device });
    const common = { backend: device, engine: 'torch', batch: opts.batch, threads, version: peer.version } as const;
    bench.record({ case: 'kd-train', model: 'cnn-small', ...common, samplesPerSec: peer.kdTrainSamplesPerSec });
    bench.record({ case: 'teacher-infer', model: 'cnn-large', ...common, samplesPerSec: peer.teacherInferSamplesPerSec });
  } catch (e) {
    bench.skip({ case: 'torch', reason: firstLine(errorMessage(e)) });
  }
}

async function measureEpochs(bench: Bench, available: ConcreteBackend[], opts: Options, workDir: string): Promise<void> {
  const missing = epochUnavailable(opts.fashionMnist);
  if (missing) return bench.skip({ case: 'epoch', model: 'cnn-small', reason: `${missing}; name the folder with --fashion-mnist` });
  for (const backend of available) {
    if (backend === 'cpu') {
      const cpuKd = bench.measurements.find((m) => m.case === 'kd-train' && m.model === 'cnn-small' && m.backend === 'cpu' && m.engine === 'distill');
      const estimate = cpuKd
        ? `; at the measured ${cpuKd.samplesPerSec} samples/s an epoch takes ~${Math.round(FULL_EPOCH_TRAIN_ROWS / cpuKd.samplesPerSec / 60)} min`
        : '';
      bench.skip({ case: 'epoch', model: 'cnn-small', backend, reason: `too slow on the pure-JS backend${estimate}` });
      continue;
    }
    for (const threads of DATA_PARALLEL_BACKENDS.includes(backend) ? opts.threads : [1]) await measureEpochOn(bench, backend, opts, workDir, threads);
  }
}

async function measureEpochOn(bench: Bench, backend: ConcreteBackend, opts: Options, workDir: string, threads: number): Promise<void> {
  const rows = opts.epochRows;
  bench.progress(
    `epoch of Fashion-MNIST (${rows ?? 'all'} train rows), cnn-small on ${backend}, ${threads} thread${threads === 1 ? '' : 's'}, the whole engine…`,
  );
  try {
    const r = await measureEpoch(backend, opts.batch, workDir, rows, opts.fashionMnist, threads);
    bench.record({
      case: 'epoch',
      model: 'cnn-small',
      backend,
      engine: 'distill',
      batch: opts.batch,
      threads,
      samplesPerSec: round(r.trainRows / r.seconds),
      seconds: round(r.seconds),
      samplesPerCpuSec: round(r.trainRows / r.cpuSeconds),
      trainRows: r.trainRows,
      loadSeconds: round(r.loadSeconds),
      trainSeconds: round(r.trainSeconds),
      evalSeconds: round(r.evalSeconds),
      tensorDelta: r.tensorDelta,
      testAccuracy: r.testAccuracy,
      note: rows ? `at most ${rows} rows of the training file` : undefined,
    });
  } catch (e) {
    bench.skip({ case: 'epoch', model: 'cnn-small', backend, reason: firstLine(errorMessage(e)) });
  }
}

async function machineInfo(wasmLoaded: boolean): Promise<MachineInfo> {
  const cpus = os.cpus();
  let wasm: string | undefined;
  if (wasmLoaded) {
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'simd' : 'no simd';
    const threads = getThreadsCount();
    wasm = `${simd}, ${threads} thread${threads === 1 ? '' : 's'}`;
  }
  return {
    cores: os.availableParallelism(),
    cpu: cpus[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU',
    loadAverage: Math.round(os.loadavg()[0] * 10) / 10,
    node: process.version,
    tfjs: tf.version_core,
    wasm,
  };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv);
  const bench = new Bench(opts);
  const workDir = path.join(os.tmpdir(), 'distill-bench');
  fs.mkdirSync(workDir, { recursive: true });

  const autoChoice = await selectBackend('auto').then(
    (r) => r.name,
    (e: unknown) => `none (${firstLine(errorMessage(e))})`,
  );
  const available: ConcreteBackend[] = [];
  const gpuBackends: Record<string, string> = {};
  for (const backend of opts.backends) {
    const result = await activate(backend);
    if ('unavailable' in result) bench.skip({ case: 'backend', backend, reason: result.unavailable });
    else available.push(backend);
    if ('detail' in result && GPU_BACKENDS.includes(backend)) gpuBackends[backend] = result.detail;
  }
  // Header facts are read once the backends are up (wasm's SIMD and thread count are known only then).
  const machine: MachineInfo = {
    ...(await machineInfo(available.includes('wasm'))),
    autoBackend: autoChoice,
    ...(Object.keys(gpuBackends).length ? { gpuBackends } : {}),
  };
  if (!opts.json) process.stderr.write(headerLine(machine, opts.batch, opts.seconds) + '\n');

  // Fastest backends first; PyTorch right after them, while this process is idle, and the long epoch last.
  for (let round = 0; round < opts.rounds; round++) {
    if (opts.rounds > 1) {
      bench.round = round;
      bench.progress(`round ${round + 1} of ${opts.rounds}`);
    }
    for (const backend of available.filter((b) => b !== 'cpu')) {
      await activate(backend);
      await measureBackend(bench, backend, opts, round % 2 === 1);
    }
    if (bench.wants('torch')) measureTorch(bench, opts);
  }
  bench.round = undefined;
  if (available.includes('cpu')) {
    await activate('cpu');
    await measureBackend(bench, 'cpu', opts);
  }
  if (bench.wants('epoch')) await measureEpochs(bench, available, opts, workDir);

  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  // After the cases, so as not to disturb them: what the memory system gives as many processes as the most threads.
  const most = Math.max(...opts.threads);
  const memoryCopy = most > 1 && bench.wants('kd-train') ? await memoryCopyScaling(most, 1.5) : undefined;
  const ratios = { ...computeRatios(bench.measurements, bench.skipped, machine, peakRssMB), ...(memoryCopy ? { memoryCopy } : {}) };
  if (opts.json) {
    process.stdout.write(JSON.stringify(ratios) + '\n');
    return;
  }
  process.stdout.write(`\n${headerLine(machine, opts.batch, opts.seconds)}\n\n${formatTable(bench.measurements, bench.skipped, ratios)}\n\n`);
  for (const m of bench.measurements) process.stdout.write(JSON.stringify(m) + '\n');
  process.stdout.write(JSON.stringify(ratios) + '\n');
}

main().then(
  // Exit explicitly: a Dawn (webgpu) instance may keep the event loop alive after the last measurement.
  () => process.exit(),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
