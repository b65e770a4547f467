/**
 * The deployable models of a run: the KD student (`student/`) and each compression stage that wrote a model
 * (`compressed/<stage>/`). The extension's Export Student offers these. Node only: no DOM.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES } from '../shared/runDir';

export interface ExportableModel {
  /** `student`, or the stage name (`prune`, `uint8`, …). */
  id: string;
  label: string;
  /** The folder holding model.json and its shards. */
  dir: string;
}

const STAGE_LABELS: Record<string, string> = {
  prune: 'pruned (magnitude, KD fine-tuned)',
  'low-rank': 'low-rank (SVD, KD fine-tuned)',
  float16: 'float16 weights',
  uint8: 'uint8 weights (per tensor)',
  'uint8-per-channel': 'uint8 weights (per output channel)',
};

export function exportableModels(runDir: string): ExportableModel[] {
  const out: ExportableModel[] = [];
  const student = path.join(runDir, RUN_FILES.student);
  if (fs.existsSync(path.join(student, 'model.json'))) out.push({ id: 'student', label: 'KD student (float32)', dir: student });
  const compressed = path.join(runDir, 'compressed');
  // In the order the stages run.
  for (const stage of Object.keys(STAGE_LABELS)) {
    const dir = path.join(compressed, stage);
    if (fs.existsSync(path.join(dir, 'model.json'))) out.push({ id: stage, label: `KD student, ${STAGE_LABELS[stage]}`, dir });
  }
  return out;
}
