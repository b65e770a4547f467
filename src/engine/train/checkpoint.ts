/**
 * What resume needs: the model (topology + weights), the optimizer's slots, and where in the schedule we were.
 * Shuffling is derived from (seed, epoch), so no RNG state needs saving. Every write to checkpoints/ goes through
 * this file and is atomic: a checkpoint is written into a temp folder and renamed into place, and marking one done
 * rewrites its state.json by tmp + rename, so a crash mid-write leaves the previous checkpoint intact.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { StudentKind } from '../../shared/records';
import { readJson, writeFileAtomic } from '../../shared/runDir';
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
  epochSums: { loss: number; accuracy: number; steps: number };
}

/** Whose checkpoint: a student, or the KD fine-tuning of a compression stage (`compress-prune`, …). */
export type CheckpointName = StudentKind | `compress-${string}`;

export interface CheckpointState {
  student: CheckpointName;
  position: TrainPosition;
  /** Whether this model's training finished (its final model is saved). */
  done: boolean;
  savedAt: string;
}

/** One optimizer slot in optimizer.bin. The dtype matters: the iteration count is int32, the moments float32. */
interface OptimizerSlotSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  length: number;
}

const OPTIMIZER_FILE = 'optimizer.bin';
const OPTIMIZER_SPEC = 'optimizer.json';
const STATE_FILE = 'state.json';

export const checkpointDir = (runDir: string, student: CheckpointName | 'initial') => path.join(runDir, 'checkpoints', student);

export async function writeCheckpoint(runDir: string, model: tfl.LayersModel, optimizer: tf.Optimizer, state: CheckpointState): Promise<void> {
  const dir = checkpointDir(runDir, state.student);
  const tmp = `${dir}.writing`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await saveLayersModel(model, tmp);
  const named = await optimizer.getWeights();
  const specs: OptimizerSlotSpec[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const { name, tensor } of named) {
    const values = (await tensor.data()) as Float32Array | Int32Array;
    const data = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    specs.push({ name, shape: tensor.shape, dtype: tensor.dtype as OptimizerSlotSpec['dtype'], offset, length: data.length });
    chunks.push(data);
    offset += data.length;
  }
  // The slots are the optimizer's live variables; only the iteration count is a fresh tensor.
  for (const { tensor } of named) if (!(tensor instanceof tf.Variable)) tensor.dispose();
  fs.writeFileSync(path.join(tmp, OPTIMIZER_FILE), Buffer.concat(chunks));
  fs.writeFileSync(path.join(tmp, OPTIMIZER_SPEC), JSON.stringify(specs));
  fs.writeFileSync(path.join(tmp, STATE_FILE), JSON.stringify(state, null, 2));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
}

export function readCheckpointState(runDir: string, student: CheckpointName): CheckpointState | undefined {
  return readJson<CheckpointState>(path.join(checkpointDir(runDir, student), STATE_FILE));
}

/** Marks the student's training finished (its final model is saved), atomically: resume then skips it. */
export function markCheckpointDone(runDir: string, student: CheckpointName): void {
  const state = readCheckpointState(runDir, student);
  if (!state) throw new Error(`No checkpoint for the ${student} student in ${checkpointDir(runDir, student)}`);
  writeFileAtomic(path.join(checkpointDir(runDir, student), STATE_FILE), JSON.stringify({ ...state, done: true } satisfies CheckpointState, null, 2));
}

export async function restoreCheckpoint(runDir: string, student: CheckpointName, optimizer: tf.Optimizer): Promise<{ model: tfl.LayersModel; state: CheckpointState }> {
  const dir = checkpointDir(runDir, student);
  const state = readCheckpointState(runDir, student);
  if (!state) throw new Error(`No checkpoint for the ${student} student in ${dir}`);
  const model = await loadStudentModel(path.join(dir, 'model.json'));
  const specs = JSON.parse(fs.readFileSync(path.join(dir, OPTIMIZER_SPEC), 'utf8')) as OptimizerSlotSpec[];
  if (specs.length) {
    const bytes = fs.readFileSync(path.join(dir, OPTIMIZER_FILE));
    const weights = specs.map((s) => {
      const raw = bytes.buffer.slice(bytes.byteOffset + s.offset, bytes.byteOffset + s.offset + s.length);
      return { name: s.name, tensor: tf.tensor(s.dtype === 'int32' ? new Int32Array(raw) : new Float32Array(raw), s.shape, s.dtype) };
    });
    await optimizer.setWeights(weights);
  }
  return { model, state };
}

/** The student's initial weights, so the scratch baseline starts where the KD student started. */
export const saveInitialModel = (runDir: string, model: tfl.LayersModel) => saveLayersModel(model, checkpointDir(runDir, 'initial'));
/** Whether the run got as far as its first checkpoint: the initial student, saved before any training step. */
export const hasInitialModel = (runDir: string) => fs.existsSync(path.join(checkpointDir(runDir, 'initial'), 'model.json'));
export const loadInitialModel = (runDir: string) => loadStudentModel(path.join(checkpointDir(runDir, 'initial'), 'model.json'));
