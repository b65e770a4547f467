/**
 * Several teachers as one (`"teacher": [ {…}, {…} ]`): each member is any kind of teacher (tfjs, ONNX, logits,
 * preset), its logits computed and cached on their own exactly as a single teacher's are (`teachers/index.ts`), then
 * combined row by row with the normalised weights w_i = weight_i / Σ weight:
 *
 * - `logits`: z = Σ w_i z_i. The student sees softmax(z / T) at each step's T, like a single teacher.
 * - `probabilities`: p = Σ w_i softmax(z_i / T₀) at T₀ = `distillation.temperature`, the mixture of the teachers'
 *   soft labels at the run's T. The KD kernels soften logits themselves (softmax(z / T)), so the ensemble's logits
 *   are z = T₀ · log p: softmax(T₀ log p / T₀) = p exactly, and every loss and fused kernel applies unchanged. (Feeding
 *   log p would give softmax(log p / T₀) = p^(1/T₀) renormalised, not p.) A schedule that moves T sees the mixture
 *   sharpened or softened, softmax(T₀ log p / T) ∝ p^(T₀/T); at T = 1 (the report's KL and agreement) the teacher is
 *   p^T₀ renormalised, whose top-1 is the mixture's top-1.
 *
 * The combination runs in float64 with log-sum-exp over classes and over teachers, so that no probability
 * underflows, and is rounded to float32 once at the end.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { DistillConfig, TeacherEnsemble } from '../../shared/config';
import { teacherList } from '../../shared/config';
import { DistillError } from '../../shared/errors';
import type { Summary, TeacherMemberReport } from '../../shared/records';
import { modelReport } from '../eval/report';
import type { SplitName, Teacher, TeacherFacts } from './types';
import type { TeacherContext, TeacherOutputs } from './index';

/** One member's test logits and its open teacher, for its row of the report. */
export interface EnsembleMember {
  describe: string;
  /** Normalised: the members' weights sum to 1. */
  weight: number;
  test: Float32Array;
  /** Its logits on every training row: the probe rows' (the soft-label heatmaps show each teacher) are taken from them. */
  train: Float32Array;
  teacher: Teacher;
}

/**
 * The ensemble's logits from the members' (each row-major `[rows, classes]`), with weights that need not sum to 1.
 * `temperature` is used by `probabilities` only.
 */
export function combineTeacherLogits(members: Float32Array[], weights: number[], classes: number, mode: TeacherEnsemble, temperature: number): Float32Array {
  if (members.length === 0) throw new Error('An ensemble needs at least one teacher.');
  if (members.length !== weights.length) throw new Error('One weight per teacher.');
  const n = members[0].length;
  if (members.some((m) => m.length !== n)) throw new Error(`The teachers' logits differ in size: ${members.map((m) => m.length).join(', ')} values.`);
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0) || weights.some((w) => !(w > 0))) throw new Error(`Teacher weights must be positive: ${weights.join(', ')}.`);
  const w = weights.map((x) => x / total);
  const out = new Float32Array(n);
  if (mode === 'logits') {
    for (let j = 0; j < n; j++) {
      let z = 0;
      for (let i = 0; i < members.length; i++) z += w[i] * members[i][j];
      out[j] = z;
    }
    return out;
  }
  const logW = w.map(Math.log);
  const logP = new Float64Array(members.length * classes);
  for (let r = 0; r < n / classes; r++) {
    // log p_i,c = z_i,c / T − logsumexp_c(z_i / T), per teacher.
    for (let i = 0; i < members.length; i++) {
      const row = members[i].subarray(r * classes, (r + 1) * classes);
      let max = -Infinity;
      for (let c = 0; c < classes; c++) max = Math.max(max, row[c] / temperature);
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += Math.exp(row[c] / temperature - max);
      const lse = max + Math.log(sum);
      for (let c = 0; c < classes; c++) logP[i * classes + c] = row[c] / temperature - lse;
    }
    // log p̄_c = logsumexp_i(log w_i + log p_i,c); the logits are T · log p̄.
    for (let c = 0; c < classes; c++) {
      let max = -Infinity;
      for (let i = 0; i < members.length; i++) max = Math.max(max, logW[i] + logP[i * classes + c]);
      let sum = 0;
      for (let i = 0; i < members.length; i++) sum += Math.exp(logW[i] + logP[i * classes + c] - max);
      out[r * classes + c] = temperature * (max + Math.log(sum));
    }
  }
  return out;
}

/** How `config` combines its teachers, for the log. */
export function ensembleDescription(config: DistillConfig): string {
  const mode = config.distillation.teacherEnsemble ?? 'logits';
  return mode === 'logits' ? 'mean of the logits' : `mean of the probabilities at T = ${config.distillation.temperature}`;
}

/**
 * Every member's logits (each through `single`, so each is cached as a single teacher's would be), combined. Member
 * i sees the config with `teacher` set to it; a preset member trains from the seed raised by i (its data split stays
 * the run's): two identical presets are two independently initialised teachers, and the first member is the same
 * teacher a single-teacher config trains.
 */
export async function ensembleTeacherLogits(ctx: TeacherContext, single: (ctx: TeacherContext) => Promise<TeacherOutputs>): Promise<TeacherOutputs> {
  const { config, dataset } = ctx;
  const list = teacherList(config.teacher);
  if (list.length === 0)
    throw new DistillError('config', 'teacher is an empty list. Give at least one teacher, or a single teacher object.', { path: ['teacher'] });
  const bad = list.findIndex((m) => !(m.weight > 0 && Number.isFinite(m.weight)));
  if (bad >= 0)
    throw new DistillError('config', `teacher[${bad}].weight is ${list[bad].weight}; weights must be positive. Give it a weight > 0, or remove that teacher.`, {
      path: ['teacher', bad, 'weight'],
    });
  const mode = config.distillation.teacherEnsemble ?? 'logits';
  const outputs: TeacherOutputs[] = [];
  try {
    for (const [i, member] of list.entries()) {
      const memberConfig: DistillConfig = { ...config, teacher: member.teacher };
      ctx.log(`Teacher ${i + 1} of ${list.length}…`);
      try {
        outputs.push(await single({ ...ctx, config: memberConfig, presetSeedOffset: i }));
      } catch (e) {
        throw e instanceof DistillError ? memberError(e, i, list.length) : e;
      }
    }
    const classes = dataset.numClasses;
    const total = list.reduce((a, m) => a + m.weight, 0);
    const weights = list.map((m) => m.weight);
    const combine = (split: 'train' | 'test' | 'unlabeled') => {
      const parts = outputs.map((o) => o[split]);
      if (parts.some((p) => !p)) return undefined;
      return combineTeacherLogits(parts as Float32Array[], weights, classes, mode, config.distillation.temperature);
    };
    const members: EnsembleMember[] = outputs.map((o, i) => ({
      describe: o.teacher.describe,
      weight: list[i].weight / total,
      test: o.test,
      train: o.train,
      teacher: memoFacts(o.teacher),
    }));
    const teacher = new EnsembleTeacher(members, (parts) => combineTeacherLogits(parts, weights, classes, mode, config.distillation.temperature));
    ctx.log(`Teacher ensemble of ${list.length} (${ensembleDescription(config)}), weights ${members.map((m) => m.weight.toFixed(3)).join(', ')}.`);
    return {
      train: combine('train')!,
      test: combine('test')!,
      unlabeled: combine('unlabeled'),
      teacher,
      source: `ensemble of ${list.length} (${ensembleDescription(config)}): ${outputs.map((o, i) => `[${i}] ${o.source}`).join('; ')}`,
      members,
    };
  } catch (e) {
    for (const o of outputs) o.teacher.dispose();
    throw e;
  }
}

/** Each member's report on the test rows (KL and agreement to the ensemble), and how they were combined. */
export async function ensembleReports(
  config: DistillConfig,
  members: EnsembleMember[],
  test: { labels: Int32Array; teacher: Float32Array },
  classes: number,
  latency: boolean,
): Promise<Pick<Summary, 'teachers' | 'ensemble'>> {
  const teachers: TeacherMemberReport[] = [];
  for (const m of members) {
    const facts = await m.teacher.facts(latency);
    teachers.push({
      name: m.describe,
      weight: m.weight,
      ...modelReport(m.test, test.labels, classes, { ...facts, teacher: test.teacher }),
      ...(facts.runtime ? { runtime: facts.runtime } : {}),
    });
  }
  const mode = config.distillation.teacherEnsemble ?? 'logits';
  return { teachers, ensemble: mode === 'logits' ? { mode } : { mode, temperature: config.distillation.temperature } };
}

/**
 * The teacher with its facts measured once: the report asks for each member's and for the ensemble's, and every run
 * that reuses a kept preparation (prepare.ts) for its teacher's (gzipping the teacher's files again for each trial:
 * 1.7% of a short sweep trial with a 400 KB teacher, and in proportion to a larger one's size).
 */
export function memoFacts(teacher: Teacher): Teacher {
  const memo = new Map<boolean, Promise<TeacherFacts>>();
  return {
    describe: teacher.describe,
    cacheKey: teacher.cacheKey,
    outputs: (split, x) => teacher.outputs(split, x),
    facts: (latency) => memo.get(latency) ?? memo.set(latency, teacher.facts(latency)).get(latency)!,
    // A member's layers, for feature distillation's pairs that name it (teacherIndex).
    ...(teacher.features ? { features: (names: string[], pairs?: number[]) => teacher.features!(names, pairs) } : {}),
    dispose: () => teacher.dispose(),
  };
}

/** A member's error, pointed at its entry of the list: `teacher[1]: …`, path `teacher.1.…`. */
function memberError(e: DistillError, index: number, count: number): DistillError {
  const rest = e.location.path?.[0] === 'teacher' ? e.location.path.slice(1) : [];
  return new DistillError(e.kind, `teacher[${index}] (teacher ${index + 1} of ${count}): ${e.message}`, { ...e.location, path: ['teacher', index, ...rest] });
}

/** The members as one teacher: outputs combined; params, bytes and latency added up (the members run one after another). */
class EnsembleTeacher implements Teacher {
  readonly describe: string;
  constructor(
    readonly members: EnsembleMember[],
    private readonly combine: (parts: Float32Array[]) => Float32Array,
  ) {
    this.describe = `ensemble of ${members.length}: ${members.map((m) => m.describe).join(', ')}`;
  }

  async outputs(split: SplitName, x: () => tf.Tensor): Promise<Float32Array> {
    const parts: Float32Array[] = [];
    for (const m of this.members) parts.push(await m.teacher.outputs(split, x));
    return this.combine(parts);
  }

  async facts(latency: boolean): Promise<TeacherFacts> {
    const all: TeacherFacts[] = [];
    for (const m of this.members) all.push(await m.teacher.facts(latency));
    const sum = (values: (number | null | undefined)[]) =>
      values.every((v) => typeof v === 'number') ? (values as number[]).reduce((a, b) => a + b, 0) : undefined;
    const lat = all.map((f) => f.latencyMs);
    const runtimes = [...new Set(all.flatMap((f) => (f.runtime ? [f.runtime] : [])))];
    return {
      params: sum(all.map((f) => f.params)) ?? null,
      sizeBytes: sum(all.map((f) => f.sizeBytes)),
      latencyMs: lat.every((l) => l) ? { batch1: sum(lat.map((l) => l!.batch1))!, batch256: sum(lat.map((l) => l!.batch256))! } : undefined,
      ...(runtimes.length ? { runtime: runtimes.join(' + ') } : {}),
    };
  }

  dispose(): void {
    for (const m of this.members) m.teacher.dispose();
  }
}
