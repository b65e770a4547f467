/**
 * What the report card's numbers mean, and which differences are beyond noise: the spread of repeated latency
 * measurements, the sampling noise of accuracies on a finite test split, the "best" mark that only goes to a
 * difference beyond them, and the verdict line (KD vs scratch, a weak teacher, a student no smaller than its
 * teacher). Pure: the engine measures with `latencySpread`, the dashboard draws with the rest.
 */
import type { LatencySpread, ModelReport, Summary } from './records';

/** Median, quartiles and range of per-round values (quantiles interpolated linearly between order statistics). */
export function latencySpread(perRound: readonly number[]): LatencySpread {
  if (!perRound.length) throw new RangeError('latencySpread needs at least one round');
  const v = [...perRound].sort((a, b) => a - b);
  const q = (p: number) => {
    const at = p * (v.length - 1);
    const lo = Math.floor(at);
    return v[lo] + (at - lo) * ((v[Math.min(lo + 1, v.length - 1)] ?? v[lo]) - v[lo]);
  };
  return { rounds: v.length, min: v[0], q1: q(0.25), median: q(0.5), q3: q(0.75), max: v[v.length - 1] };
}

/**
 * Two latencies differ beyond noise when their measured ranges do not overlap. A single mean (a summary written
 * before latencies were repeated) says nothing about its noise, so it never counts as different.
 */
export function latencyDiffers(a: LatencySpread | undefined, b: LatencySpread | undefined): boolean {
  return !!a && !!b && (a.max < b.min || b.max < a.min);
}

/**
 * Half-width of the 95% interval of the difference between two accuracies measured on the same `n` test samples:
 * 1.96 · √((a(1−a) + b(1−b)) / n), the normal approximation for independent samples. On the same samples the
 * errors are positively correlated, so the true interval is narrower: this errs on the side of "within noise".
 */
export function accuracyNoise(a: number, b: number, n: number): number {
  if (!(n > 0)) return Infinity;
  return 1.96 * Math.sqrt((a * (1 - a) + b * (1 - b)) / n);
}

export const accuracyDiffers = (a: number, b: number, n: number): boolean => Math.abs(a - b) > accuracyNoise(a, b, n);

/**
 * The index of the item whose value is best and differs beyond noise from every other item's, or undefined when
 * fewer than two items have a value or the best one is within noise of another.
 */
export function clearlyBest<T>(
  items: readonly T[],
  value: (t: T) => number | undefined,
  differs: (a: T, b: T) => boolean,
  lowerIsBetter = false,
): number | undefined {
  const valid = items.map((t, i) => ({ i, v: value(t) })).filter((x): x is { i: number; v: number } => x.v !== undefined && Number.isFinite(x.v));
  if (valid.length < 2) return undefined;
  const best = valid.reduce((b, x) => ((lowerIsBetter ? x.v < b.v : x.v > b.v) ? x : b));
  return valid.every((x) => x.i === best.i || differs(items[best.i], items[x.i])) ? best.i : undefined;
}

export type VerdictTone = 'good' | 'bad' | 'warn' | 'neutral';
export interface VerdictLine {
  tone: VerdictTone;
  text: string;
}

const pts = (d: number) => `${(100 * Math.abs(d)).toFixed(1)} points`;
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const count = (n: number) => n.toLocaleString('en-US');

/** A few short sentences on what the report card says. */
export function reportVerdict(summary: Pick<Summary, 'teacher' | 'student' | 'baseline' | 'testSamples'>): VerdictLine[] {
  const { teacher, student, baseline, testSamples: n } = summary;
  const lines: VerdictLine[] = [];
  if (baseline) {
    const d = student.accuracy - baseline.accuracy;
    const noise = accuracyNoise(student.accuracy, baseline.accuracy, n);
    const within = `the ±${(100 * noise).toFixed(1)}-point noise of ${count(n)} test samples`;
    if (d > noise) lines.push({ tone: 'good', text: `KD helped: the KD student is ${pts(d)} more accurate than the scratch student, beyond ${within}.` });
    else if (d < -noise)
      lines.push({
        tone: 'bad',
        text: `KD hurt: the KD student is ${pts(d)} less accurate than the scratch student, beyond ${within}. Try another temperature or α, or a stronger teacher.`,
      });
    else lines.push({ tone: 'neutral', text: `KD and scratch are within noise: ${pts(d)} apart, inside ${within}.` });
    if (teacher.accuracy <= baseline.accuracy) {
      const clearly = accuracyDiffers(teacher.accuracy, baseline.accuracy, n);
      lines.push({
        tone: 'warn',
        text: `Weak teacher: the teacher (${pct(teacher.accuracy)}) is ${clearly ? 'less accurate than' : 'no more accurate than'} a student trained from scratch (${pct(baseline.accuracy)}). KD passes on what the teacher knows; train it longer or use a stronger one.`,
      });
    }
  } else {
    lines.push({ tone: 'neutral', text: 'No scratch student to compare with: set compare.baseline to true to see whether KD helps.' });
  }
  const size = sizeComparison(student, teacher);
  if (size && size.ratio <= 1) {
    lines.push({
      tone: 'warn',
      text: `The student is not smaller than its teacher (${size.student} vs ${size.teacher} ${size.unit}): KD compresses nothing here. Pick a smaller student.`,
    });
  } else if (size) {
    const b1 = student.latencyMs?.spread?.batch1;
    const t1 = teacher.latencyMs?.spread?.batch1;
    const faster = latencyDiffers(b1, t1) && b1!.median < t1!.median ? ` and ${(t1!.median / b1!.median).toFixed(1)}× faster at batch 1` : '';
    const kept = student.teacherAccuracyKeptPct !== undefined ? `, keeping ${student.teacherAccuracyKeptPct.toFixed(1)}% of its accuracy` : '';
    lines.push({
      tone: 'neutral',
      text: `The KD student is ${formatRatio(size.ratio)}× smaller than the teacher (${size.student} vs ${size.teacher} ${size.unit})${faster}${kept}.`,
    });
  }
  return lines;
}

/** Teacher size over student size, by parameters (or weight bytes when the teacher's parameters are unknown). */
function sizeComparison(student: ModelReport, teacher: ModelReport): { ratio: number; student: string; teacher: string; unit: string } | undefined {
  if (teacher.params !== null && student.params !== null && student.params > 0) {
    return { ratio: teacher.params / student.params, student: count(student.params), teacher: count(teacher.params), unit: 'parameters' };
  }
  if (teacher.sizeBytes && student.sizeBytes)
    return { ratio: teacher.sizeBytes / student.sizeBytes, student: count(student.sizeBytes), teacher: count(teacher.sizeBytes), unit: 'bytes of weights' };
  return undefined;
}

const formatRatio = (r: number) => (r >= 10 ? r.toFixed(0) : r >= 2 ? r.toFixed(1) : r.toFixed(2));
