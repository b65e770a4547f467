/**
 * What the benchmark prints: one JSON line per measurement, a final `ratios` line with the issue's targets, and a
 * table for people. The JSON field names are a contract (`case`, `model`, `backend`, `engine`, `batch`,
 * `samplesPerSec`); everything else is extra detail.
 */

import { GPU_BACKENDS } from '../../shared/config';

export const CASES = ['kd-train', 'kd-composed', 'ce-train', 'teacher-infer', 'epoch'] as const;
export type CaseName = (typeof CASES)[number];
export type ModelName = 'cnn-small' | 'mlp' | 'cnn-large';

export interface Measurement {
  case: CaseName;
  model: ModelName;
  backend: string;
  engine: 'distill' | 'torch';
  batch: number;
  samplesPerSec: number;
  /** Wall-clock seconds of the measured part (after warm-up). */
  seconds?: number;
  samples?: number;
  /** Samples per second of this process's CPU time: steadier than wall clock on a shared machine. */
  samplesPerCpuSec?: number;
  /** kd-train, kd-composed: kernels one training step runs (each a dispatch on a GPU backend). */
  kernelsPerStep?: number;
  /** `tf.memory().numTensors` after the measured part minus before it: 0 when nothing leaks. */
  tensorDelta?: number;
  /** epoch: training rows after the validation split, and where the time went. */
  trainRows?: number;
  loadSeconds?: number;
  trainSeconds?: number;
  evalSeconds?: number;
  /** epoch: the KD student's accuracy on the test split. */
  testAccuracy?: number;
  /** distill: engine.threads (1: the single-thread path); torch: its intra-op threads. */
  threads?: number;
  /** torch: its version. */
  version?: string;
  note?: string;
  /** With `--rounds`: which round (0-based) measured this. */
  round?: number;
  /** A median over rounds (`mediansOf`): how many rounds, and the lowest and highest samples/s among them. */
  rounds?: number;
  range?: [number, number];
}

/** A case that did not run, and why. Kept out of the JSON measurement lines; listed in the ratios line. */
export interface Skipped {
  /** `backend`: the backend did not load, so none of its cases ran. */
  case: CaseName | 'torch' | 'backend';
  model?: ModelName;
  backend?: string;
  reason: string;
}

export interface MachineInfo {
  cores: number;
  cpu: string;
  loadAverage: number;
  node: string;
  tfjs: string;
  /** e.g. "simd, 1 thread"; absent when wasm did not load. */
  wasm?: string;
  /** What the ladder picks for `engine.backend: "auto"` (without a model probe). */
  autoBackend?: string;
  /** What each GPU backend that loaded says of itself, e.g. the WebGPU adapter. */
  gpuBackends?: Record<string, string>;
}

/** The torch measurements' `backend` when PyTorch ran with `--device cuda`. */
export const TORCH_GPU = 'cuda';

interface Target {
  label: string;
  value: number | null;
  /** The same ratio from CPU time, where both sides are single-threaded distill measurements. */
  byCpuTime?: number | null;
  /** `min`: value must be at least `bound`; `max`: at most. */
  kind: 'min' | 'max';
  bound: number;
}

export interface Ratios {
  case: 'ratios';
  /** kd-train cnn-small: wasm ÷ cpu samples/s (target ≥ 50). */
  kdWasmOverCpu: number | null;
  /** The same from samples per CPU-second (both backends run on one thread), steadier on a shared machine. */
  kdWasmOverCpuByCpuTime: number | null;
  /** kd-train cnn-small: wasm at the most threads measured ÷ PyTorch CPU on every core (target ≥ 1, stretch 1.3). */
  kdWasmOverTorch: number | null;
  /** The same at each thread count measured, keyed by engine.threads. */
  kdWasmOverTorchByThreads: Record<string, number>;
  /** N threads ÷ 1 thread samples/s, keyed `case model/backend/N` (kd-train cnn-small wasm at 2: target ≥ 1.7). */
  threadScaling: Record<string, number>;
  /** CE-only ÷ KD samples/s for cnn-small on wasm (target ≤ 1.10). */
  kdOverhead: number | null;
  /** The same for every model/backend measured, keyed `model/backend`. */
  kdOverheadBy: Record<string, number>;
  /** The same from samples per CPU-second: steadier when other processes share the cores. */
  kdOverheadByCpuTime: Record<string, number>;
  /** teacher-infer cnn-large: wasm ÷ PyTorch CPU (target ≥ 1). */
  teacherInferWasmOverTorch: number | null;
  /** kd-train ÷ kd-composed samples/s: what the fused KD kernels gain, keyed `model/backend`. */
  fusedKdSpeedup: Record<string, number>;
  /** kd-train cnn-small: each GPU backend ÷ PyTorch on CUDA, keyed by backend (target ≥ 0.25). */
  kdGpuOverTorchCuda: Record<string, number>;
  /** teacher-infer cnn-large: each GPU backend ÷ PyTorch on CUDA, keyed by backend (target ≥ 0.5). */
  teacherInferGpuOverTorchCuda: Record<string, number>;
  /** With several rounds, the two headline ratios of each round alone (the same round's 1 and N threads and
   *  PyTorch), so the spread shows beside the medians the targets use. */
  byRound: { round: number; threadScaling: number | null; kdWasmOverTorch: number | null }[];
  /**
   * The most threads' count of processes copying memory at once against one alone (sweep/memoryCopy.ts): the share
   * of the N ÷ 1 threads figure that the machine's memory system, not Distill, decides.
   */
  memoryCopy?: { processes: number; aloneGBps: number; eachGBps: number; together: number };
  peakRssMB: number;
  targetsMet: Record<string, boolean | null>;
  machine: MachineInfo;
  skipped: Skipped[];
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** How measurements are stored: whole numbers from 100 up, one decimal below. */
export const roundRate = (v: number) => (v >= 100 ? Math.round(v) : Math.round(v * 10) / 10);

/** A measurement; of distill's, the one at `threads` (engine.threads). */
function find(
  ms: Measurement[],
  c: CaseName,
  model: ModelName,
  backend: string,
  engine: Measurement['engine'] = 'distill',
  threads = 1,
): Measurement | undefined {
  return ms.find(
    (m) => m.case === c && m.model === model && m.backend === backend && m.engine === engine && (engine === 'torch' || (m.threads ?? 1) === threads),
  );
}

/** Scaling targets: N threads should give at least 85 % of N times one thread's samples/s (1.7× at 2). */
const SCALING_EFFICIENCY = 0.85;

function ratio(a: Measurement | undefined, b: Measurement | undefined): number | null {
  return a && b && b.samplesPerSec > 0 ? round2(a.samplesPerSec / b.samplesPerSec) : null;
}

function cpuTimeRatio(a: Measurement | undefined, b: Measurement | undefined): number | null {
  return a?.samplesPerCpuSec && b?.samplesPerCpuSec ? round2(a.samplesPerCpuSec / b.samplesPerCpuSec) : null;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * One measurement per case, model, backend, engine, threads and batch: with several rounds, the median samples/s (and
 * samples per CPU-second) over them, with the round count and range. The rounds alternate, so a load that comes
 * and goes on a shared machine lands on every case alike, and the median drops the round it hit hardest.
 */
export function mediansOf(ms: Measurement[]): Measurement[] {
  const groups = new Map<string, Measurement[]>();
  for (const m of ms) {
    const key = [m.case, m.model, m.backend, m.engine, m.threads ?? 1, m.batch].join('|');
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups.values()].map((group) => {
    if (group.length === 1) return group[0];
    const rates = group.map((m) => m.samplesPerSec);
    const perCpu = group.map((m) => m.samplesPerCpuSec).filter((v): v is number => v !== undefined);
    const { round: _round, samples: _samples, seconds: _seconds, ...first } = group[0];
    return {
      ...first,
      samplesPerSec: roundRate(median(rates)),
      samplesPerCpuSec: perCpu.length === group.length ? roundRate(median(perCpu)) : undefined,
      rounds: group.length,
      range: [Math.min(...rates), Math.max(...rates)],
    };
  });
}

/** The targets' two CPU ratios in each round alone; empty when the bench ran one round. */
function ratiosByRound(ms: Measurement[]): Ratios['byRound'] {
  const rounds = [...new Set(ms.map((m) => m.round).filter((r): r is number => r !== undefined))].sort((a, b) => a - b);
  if (rounds.length < 2) return [];
  return rounds.map((r) => {
    const mine = ms.filter((m) => m.round === r);
    const wasm = mine.filter((m) => m.case === 'kd-train' && m.model === 'cnn-small' && m.backend === 'wasm' && m.engine === 'distill');
    const most = Math.max(1, ...wasm.map((m) => m.threads ?? 1));
    const at = (n: number) => wasm.find((m) => (m.threads ?? 1) === n);
    return {
      round: r,
      threadScaling: most > 1 ? ratio(at(most), at(1)) : null,
      kdWasmOverTorch: ratio(at(most), find(mine, 'kd-train', 'cnn-small', 'cpu', 'torch')),
    };
  });
}

export function computeRatios(measured: Measurement[], skipped: Skipped[], machine: MachineInfo, peakRssMB: number): Ratios {
  const ms = mediansOf(measured);
  const kdOverheadBy: Record<string, number> = {};
  const kdOverheadByCpuTime: Record<string, number> = {};
  for (const kd of ms.filter((m) => m.case === 'kd-train' && m.engine === 'distill')) {
    const ce = find(ms, 'ce-train', kd.model, kd.backend);
    const key = `${kd.model}/${kd.backend}`;
    const r = ratio(ce, kd);
    if (r !== null) kdOverheadBy[key] = r;
    const byCpu = cpuTimeRatio(ce, kd);
    if (byCpu !== null) kdOverheadByCpuTime[key] = byCpu;
  }
  const fusedKdSpeedup: Record<string, number> = {};
  for (const composed of ms.filter((m) => m.case === 'kd-composed')) {
    const r = ratio(find(ms, 'kd-train', composed.model, composed.backend), composed);
    if (r !== null) fusedKdSpeedup[`${composed.model}/${composed.backend}`] = r;
  }
  const kdGpuOverTorchCuda: Record<string, number> = {};
  const teacherInferGpuOverTorchCuda: Record<string, number> = {};
  for (const backend of GPU_BACKENDS) {
    const kd = ratio(find(ms, 'kd-train', 'cnn-small', backend), find(ms, 'kd-train', 'cnn-small', TORCH_GPU, 'torch'));
    if (kd !== null) kdGpuOverTorchCuda[backend] = kd;
    const infer = ratio(find(ms, 'teacher-infer', 'cnn-large', backend), find(ms, 'teacher-infer', 'cnn-large', TORCH_GPU, 'torch'));
    if (infer !== null) teacherInferGpuOverTorchCuda[backend] = infer;
  }
  const kdWasm = find(ms, 'kd-train', 'cnn-small', 'wasm');
  const kdCpu = find(ms, 'kd-train', 'cnn-small', 'cpu');
  const torchKd = find(ms, 'kd-train', 'cnn-small', 'cpu', 'torch');
  const threadScaling: Record<string, number> = {};
  const kdWasmOverTorchByThreads: Record<string, number> = {};
  for (const m of ms.filter((x) => x.engine === 'distill')) {
    const n = m.threads ?? 1;
    if (m.case === 'kd-train' && m.model === 'cnn-small' && m.backend === 'wasm') {
      const r = ratio(m, torchKd);
      if (r !== null) kdWasmOverTorchByThreads[String(n)] = r;
    }
    if (n === 1) continue;
    const r = ratio(m, find(ms, m.case, m.model, m.backend));
    if (r !== null) threadScaling[`${m.case} ${m.model}/${m.backend}/${n}`] = r;
  }
  const mostThreads = Math.max(
    1,
    ...ms.filter((m) => m.case === 'kd-train' && m.model === 'cnn-small' && m.backend === 'wasm' && m.engine === 'distill').map((m) => m.threads ?? 1),
  );
  const ratios: Omit<Ratios, 'targetsMet'> = {
    case: 'ratios',
    kdWasmOverCpu: ratio(kdWasm, kdCpu),
    kdWasmOverCpuByCpuTime: cpuTimeRatio(kdWasm, kdCpu),
    kdWasmOverTorch: ratio(find(ms, 'kd-train', 'cnn-small', 'wasm', 'distill', mostThreads), torchKd),
    kdWasmOverTorchByThreads,
    threadScaling,
    kdOverhead: kdOverheadBy['cnn-small/wasm'] ?? null,
    kdOverheadBy,
    kdOverheadByCpuTime,
    teacherInferWasmOverTorch: ratio(find(ms, 'teacher-infer', 'cnn-large', 'wasm'), find(ms, 'teacher-infer', 'cnn-large', 'cpu', 'torch')),
    fusedKdSpeedup,
    kdGpuOverTorchCuda,
    teacherInferGpuOverTorchCuda,
    byRound: ratiosByRound(measured),
    peakRssMB,
    machine,
    skipped,
  };
  const targetsMet = Object.fromEntries(targets(ratios).map((t) => [t.label, t.value === null ? null : met(t)]));
  return { ...ratios, targetsMet };
}

/** The issues' targets, in the order the table shows them; the GPU ones only for GPU backends that were measured. */
function targets(r: Omit<Ratios, 'targetsMet'>): Target[] {
  const gpu = (label: string, values: Record<string, number>, bound: number): Target[] =>
    Object.entries(values).map(([backend, value]) => ({ label: label.replace('GPU', backend), value, kind: 'min', bound }));
  return [
    { label: 'kd-train cnn-small wasm ÷ cpu', value: r.kdWasmOverCpu, byCpuTime: r.kdWasmOverCpuByCpuTime, kind: 'min', bound: 50 },
    { label: 'kd-train cnn-small wasm ÷ PyTorch', value: r.kdWasmOverTorch, kind: 'min', bound: 1 },
    ...Object.entries(r.threadScaling)
      .filter(([key]) => key.startsWith('kd-train cnn-small/wasm/'))
      .map(([key, value]): Target => {
        const n = Number(key.split('/').pop());
        return { label: `kd-train cnn-small wasm ${n} ÷ 1 threads`, value, kind: 'min', bound: round2(SCALING_EFFICIENCY * n) };
      }),
    { label: 'KD overhead (CE ÷ KD) cnn-small wasm', value: r.kdOverhead, byCpuTime: r.kdOverheadByCpuTime['cnn-small/wasm'], kind: 'max', bound: 1.1 },
    { label: 'teacher-infer cnn-large wasm ÷ PyTorch', value: r.teacherInferWasmOverTorch, kind: 'min', bound: 1 },
    ...gpu('kd-train cnn-small GPU ÷ PyTorch CUDA', r.kdGpuOverTorchCuda, 0.25),
    ...gpu('teacher-infer cnn-large GPU ÷ PyTorch CUDA', r.teacherInferGpuOverTorchCuda, 0.5),
  ];
}

const met = (t: Target) => (t.kind === 'min' ? t.value! >= t.bound : t.value! <= t.bound);

export function headerLine(machine: MachineInfo, batch: number, secondsPerCase: number): string {
  const wasm = machine.wasm ? ` · wasm ${machine.wasm}` : '';
  const auto = machine.autoBackend ? ` · auto picks ${machine.autoBackend}` : '';
  const gpus = Object.values(machine.gpuBackends ?? {})
    .map((detail) => `\nGPU backend: ${detail}`)
    .join('');
  const header =
    `Distill benchmark · ${machine.cores} cores (${machine.cpu}), load ${machine.loadAverage.toFixed(1)} · node ${machine.node} · ` +
    `tfjs ${machine.tfjs}${wasm}${auto} · batch ${batch} · ~${secondsPerCase} s per case${gpus}`;
  const busy =
    machine.loadAverage > machine.cores
      ? `\nThe machine is busy (load ${machine.loadAverage.toFixed(1)} on ${machine.cores} cores): wall-clock figures will be low and noisy; per CPU-s figures are steadier.`
      : '';
  return header + busy;
}

/** The table keeps a skip reason's first sentence; the JSON line has all of it. */
function firstSentence(text: string): string {
  const end = text.search(/\.\s/);
  return end > 0 ? text.slice(0, end + 1) : text;
}

const formatRate = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));

export function formatTable(measured: Measurement[], skipped: Skipped[], ratios: Ratios): string {
  const ms = mediansOf(measured);
  const head = ['case', 'model', 'backend', 'engine', 'threads', 'batch', 'samples/s', 'per CPU-s', 'note'];
  const rows = ms.map((m) => [
    m.case,
    m.model,
    m.backend,
    m.engine,
    String(m.threads ?? 1),
    String(m.batch),
    formatRate(m.samplesPerSec),
    m.samplesPerCpuSec !== undefined ? formatRate(m.samplesPerCpuSec) : '',
    describe(m),
  ]);
  const engineOf = (s: Skipped) => (s.case === 'torch' ? 'torch' : s.case === 'backend' ? '' : 'distill');
  for (const s of skipped) rows.push([s.case, s.model ?? '', s.backend ?? '', engineOf(s), '', '', '', '', `skipped: ${firstSentence(s.reason)}`]);
  const numeric = new Set([4, 5, 6, 7]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();

  const out = [line(head), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line), ''];
  out.push('Targets');
  const all = targets(ratios);
  const width = Math.max(40, ...all.map((t) => t.label.length));
  for (const t of all) {
    const value = t.value === null ? 'n/a' : `${t.value.toFixed(2)}×`;
    const verdict = t.value === null ? '(not measured)' : met(t) ? 'met' : 'NOT met';
    const target = `target ${t.kind === 'min' ? '≥' : '≤'} ${t.bound}×`;
    const byCpu = typeof t.byCpuTime === 'number' ? `   (by CPU time ${t.byCpuTime.toFixed(2)}×)` : '';
    out.push(`  ${t.label.padEnd(width)} ${value.padStart(8)}   ${target.padEnd(15)} ${verdict}${byCpu}`);
  }
  if (ratios.memoryCopy) {
    const m = ratios.memoryCopy;
    const label = `memory copy, ${m.processes} processes ÷ 1`;
    out.push(`  ${label.padEnd(width)} ${`${m.together.toFixed(2)}×`.padStart(8)}   ${m.aloneGBps.toFixed(1)} GB/s alone, ${m.eachGBps.toFixed(1)} each`);
  }
  for (const [key, v] of Object.entries(ratios.kdOverheadBy)) {
    if (key === 'cnn-small/wasm') continue;
    const byCpu = ratios.kdOverheadByCpuTime[key];
    out.push(
      `  ${`KD overhead (CE ÷ KD) ${key.replace('/', ' ')}`.padEnd(width)} ${`${v.toFixed(2)}×`.padStart(8)}   ` +
        (byCpu !== undefined ? `by CPU time ${byCpu.toFixed(2)}×` : ''),
    );
  }
  for (const [key, v] of Object.entries(ratios.threadScaling)) {
    if (key.startsWith('kd-train cnn-small/wasm/')) continue;
    const [what, backend, n] = key.split('/');
    out.push(`  ${`${what} ${backend} ${n} ÷ 1 threads`.padEnd(width)} ${`${v.toFixed(2)}×`.padStart(8)}`);
  }
  for (const [n, v] of Object.entries(ratios.kdWasmOverTorchByThreads)) {
    out.push(`  ${`kd-train cnn-small wasm ${n} thread${n === '1' ? '' : 's'} ÷ PyTorch`.padEnd(width)} ${`${v.toFixed(2)}×`.padStart(8)}`);
  }
  for (const [key, v] of Object.entries(ratios.fusedKdSpeedup)) {
    out.push(`  ${`fused ÷ composed KD loss ${key.replace('/', ' ')}`.padEnd(width)} ${`${v.toFixed(2)}×`.padStart(8)}`);
  }
  if (ratios.byRound.length) {
    const list = (pick: (r: Ratios['byRound'][number]) => number | null) =>
      ratios.byRound.map((r) => (pick(r) === null ? 'n/a' : `${pick(r)!.toFixed(2)}×`)).join(', ');
    out.push(`  ${'each round: kd-train cnn-small wasm N ÷ 1'.padEnd(width)} ${list((r) => r.threadScaling)}`);
    out.push(`  ${'each round: kd-train cnn-small wasm ÷ PyTorch'.padEnd(width)} ${list((r) => r.kdWasmOverTorch)}`);
  }
  out.push(`  ${'peak RSS'.padEnd(width)} ${`${ratios.peakRssMB} MB`.padStart(8)}`);
  return out.join('\n');
}

function describe(m: Measurement): string {
  const parts: string[] = [];
  if (m.case === 'epoch' && m.trainRows !== undefined) {
    parts.push(
      `${m.trainRows} rows in ${m.seconds?.toFixed(1)} s (load ${m.loadSeconds?.toFixed(1)}, train ${m.trainSeconds?.toFixed(1)}, eval ${m.evalSeconds?.toFixed(1)})`,
    );
    if (m.testAccuracy !== undefined) parts.push(`test accuracy ${(100 * m.testAccuracy).toFixed(1)} %`);
  } else if (m.samples !== undefined && m.seconds !== undefined) {
    parts.push(`${m.samples} samples in ${m.seconds.toFixed(1)} s`);
  }
  if (m.rounds !== undefined && m.range) parts.push(`median of ${m.rounds} rounds, ${formatRate(m.range[0])}–${formatRate(m.range[1])}`);
  if (m.kernelsPerStep !== undefined) parts.push(`${m.kernelsPerStep} kernels per step`);
  if (m.tensorDelta) parts.push(`${m.tensorDelta} tensors leaked`);
  if (m.engine === 'torch') parts.push(`PyTorch ${m.version ?? ''}, ${m.threads} threads`.replace('  ', ' '));
  if (m.note) parts.push(m.note);
  return parts.join('; ');
}
