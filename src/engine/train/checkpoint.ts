/**
 * What resume needs: the model (topology + weights), the optimizer's slots, and where in the schedule we were.
 * Shuffling is derived from (seed, epoch), so no RNG state needs saving. Every write to checkpoints/ goes through
 * this file and is atomic: a checkpoint is written into a temp folder and renamed into place, and marking one done
 * rewrites its state.json by tmp + rename, so a crash mid-write leaves the previous checkpoint intact.
 *
 * Resume is exact, bit for bit: tfjs' Adam (and Adamax) keep β₁ᵗ and β₂ᵗ as running products, multiplied once per
 * step, but `setWeights` recomputes them as `pow(β, t + 1)`, which differs in the last float32 bits. The bias
 * correction then differs by ~1e-7 relative, and over thousands of steps the resumed run drifts away from the
 * uninterrupted one (86.3% vs 86.5% after a stop mid-KD). So those accumulators are saved too and put back after
 * `setWeights`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainedRole } from '../../shared/records';
import { readJson, writeJsonAtomic } from '../../shared/runDir';
import { loadStudentModel, saveLayersModel } from '../models/modelFiles';

/** A point between two optimizer steps. */
export interface TrainPosition {
  /** 0-based epoch in progress. */
  epoch: number;
  /** Steps of `epoch` already done. */
  stepInEpoch: number;
  /** Steps done over the whole training of this model. */
  globalStep: number;
  /** Running sums for the epoch's train record. */
  epochSums: { loss: number; accuracy: number; steps: number; labeled?: number; feature?: number };
}

/** Whose checkpoint: a student, a preset teacher, or the KD fine-tuning of a compression stage (`compress-prune`, …). */
export type CheckpointName = TrainedRole | `compress-${string}`;

export interface CheckpointState {
  student: CheckpointName;
  position: TrainPosition;
  /** Whether this model's training finished (its final model is saved). */
  done: boolean;
  savedAt: string;
  /** For a teacher: the cache key it will be saved under, so a checkpoint of another teacher is never continued. */
  key?: string;
}

/** One optimizer slot in optimizer.bin. The dtype matters: the iteration count is int32, the moments float32. */
interface OptimizerSlotSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  length: number;
  /** An optimizer field that `getWeights` leaves out (Adam's β powers), restored after `setWeights`. */
  field?: string;
}

/** Optimizer fields outside getWeights()/setWeights() that resume must restore exactly. */
const EXACT_FIELDS = ['accBeta1', 'accBeta2'] as const;
type WithFields = Partial<Record<(typeof EXACT_FIELDS)[number], tf.Variable>>;

const OPTIMIZER_FILE = 'optimizer.bin';
const OPTIMIZER_SPEC = 'optimizer.json';
const STATE_FILE = 'state.json';

export const checkpointDir = (runDir: string, student: CheckpointName | 'initial') => path.join(runDir, 'checkpoints', student);

/** Tensors trained beside the model but not part of it (feature-distillation adapters), by name. */
export type ExtraTensors = { name: string; tensor: tf.Tensor }[];
const EXTRA_FILE = 'extra.bin';
const EXTRA_SPEC = 'extra.json';

export async function writeCheckpoint(
  runDir: string,
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  state: CheckpointState,
  extra?: ExtraTensors,
): Promise<void> {
  const dir = checkpointDir(runDir, state.student);
  const tmp = `${dir}.writing`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await saveLayersModel(model, tmp);
  const named = await optimizer.getWeights();
  const specs: OptimizerSlotSpec[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  const fields = EXACT_FIELDS.flatMap((field) => {
    const v = (optimizer as unknown as WithFields)[field];
    return v instanceof tf.Variable ? [{ name: field, tensor: v as tf.Tensor, field }] : [];
  });
  for (const { name, tensor, field } of [...named.map((n) => ({ ...n, field: undefined })), ...fields]) {
    const values = (await tensor.data()) as Float32Array | Int32Array;
    const data = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    specs.push({ name, shape: tensor.shape, dtype: tensor.dtype as OptimizerSlotSpec['dtype'], offset, length: data.length, ...(field ? { field } : {}) });
    chunks.push(data);
    offset += data.length;
  }
  // The slots are the optimizer's live variables; only the iteration count is a fresh tensor.
  for (const { tensor } of named) if (!(tensor instanceof tf.Variable)) tensor.dispose();
  fs.writeFileSync(path.join(tmp, OPTIMIZER_FILE), Buffer.concat(chunks));
  fs.writeFileSync(path.join(tmp, OPTIMIZER_SPEC), JSON.stringify(specs));
  if (extra?.length) {
    const parts: Buffer[] = [];
    const extraSpecs: { name: string; shape: number[]; offset: number; length: number }[] = [];
    let at = 0;
    for (const { name, tensor } of extra) {
      const values = (await tensor.data()) as Float32Array;
      const data = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
      extraSpecs.push({ name, shape: tensor.shape, offset: at, length: data.length });
      parts.push(data);
      at += data.length;
    }
    fs.writeFileSync(path.join(tmp, EXTRA_FILE), Buffer.concat(parts));
    fs.writeFileSync(path.join(tmp, EXTRA_SPEC), JSON.stringify(extraSpecs));
  }
  fs.writeFileSync(path.join(tmp, STATE_FILE), JSON.stringify(state, null, 2));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
}

export function readCheckpointState(runDir: string, student: CheckpointName): CheckpointState | undefined {
  return readJson<CheckpointState>(path.join(checkpointDir(runDir, student), STATE_FILE));
}

export async function restoreCheckpoint(
  runDir: string,
  student: CheckpointName,
  optimizer: tf.Optimizer,
): Promise<{ model: tfl.LayersModel; state: CheckpointState }> {
  const dir = checkpointDir(runDir, student);
  const state = readCheckpointState(runDir, student);
  if (!state) throw new Error(`No checkpoint for the ${student} student in ${dir}`);
  const model = await loadStudentModel(path.join(dir, 'model.json'));
  const specs = JSON.parse(fs.readFileSync(path.join(dir, OPTIMIZER_SPEC), 'utf8')) as OptimizerSlotSpec[];
  if (specs.length) {
    const bytes = fs.readFileSync(path.join(dir, OPTIMIZER_FILE));
    const tensorOf = (s: OptimizerSlotSpec) => {
      const raw = bytes.buffer.slice(bytes.byteOffset + s.offset, bytes.byteOffset + s.offset + s.length);
      return tf.tensor(s.dtype === 'int32' ? new Int32Array(raw) : new Float32Array(raw), s.shape, s.dtype);
    };
    await optimizer.setWeights(specs.filter((s) => !s.field).map((s) => ({ name: s.name, tensor: tensorOf(s) })));
    for (const s of specs.filter((x) => x.field)) {
      const target = (optimizer as unknown as WithFields)[s.field as (typeof EXACT_FIELDS)[number]];
      const value = tensorOf(s);
      target?.assign(value);
      value.dispose();
    }
  }
  return { model, state };
}

/** The extra tensors a checkpoint holds (none: an empty map); the caller disposes them. */
export function readCheckpointExtras(runDir: string, student: CheckpointName): Map<string, tf.Tensor> {
  const dir = checkpointDir(runDir, student);
  const specs = readJson<{ name: string; shape: number[]; offset: number; length: number }[]>(path.join(dir, EXTRA_SPEC));
  const out = new Map<string, tf.Tensor>();
  if (!specs) return out;
  const bytes = fs.readFileSync(path.join(dir, EXTRA_FILE));
  for (const s of specs)
    out.set(s.name, tf.tensor(new Float32Array(bytes.buffer.slice(bytes.byteOffset + s.offset, bytes.byteOffset + s.offset + s.length)), s.shape));
  return out;
}

/** Drop a checkpoint that is no longer needed (the teacher's, once the teacher is cached). */
export const removeCheckpoint = (runDir: string, role: CheckpointName) => fs.rmSync(checkpointDir(runDir, role), { recursive: true, force: true });

/** Mark a model's training as finished, atomically: resume then skips it. */
export function markCheckpointDone(runDir: string, role: CheckpointName): void {
  const state = readCheckpointState(runDir, role);
  if (state) writeJsonAtomic(path.join(checkpointDir(runDir, role), STATE_FILE), { ...state, done: true } satisfies CheckpointState);
}

/** The student's initial weights, so the scratch baseline starts where the KD student started. */
export const saveInitialModel = (runDir: string, model: tfl.LayersModel) => saveLayersModel(model, checkpointDir(runDir, 'initial'));
/** Whether the run got as far as its first checkpoint: the initial student, saved before any training step. */
export const hasInitialModel = (runDir: string) => fs.existsSync(path.join(checkpointDir(runDir, 'initial'), 'model.json'));
export const loadInitialModel = (runDir: string) => loadStudentModel(path.join(checkpointDir(runDir, 'initial'), 'model.json'));
