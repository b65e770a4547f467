/** Precomputed teacher logits (`.npy` or `.jsonl`), aligned row by row with the data files: a teacher from any framework. */
import type { DistillConfig } from '../../shared/config';
import { loadTeacherLogits, type Dataset } from '../data';
import type { SplitName, Teacher } from './types';

type LogitsConfig = Extract<DistillConfig['teacher'], { logits: unknown }>;

export function openLogitsTeacher(cfg: LogitsConfig, dataset: Pick<Dataset, 'sourceRows' | 'numClasses' | 'train' | 'test'>): Teacher {
  return {
    describe: `precomputed logits (${cfg.logits.train})`,
    outputs: async (split: SplitName) => loadTeacherLogits(cfg.logits[split], dataset.sourceRows[split], dataset.numClasses, split, dataset[split].count),
    facts: async () => ({ params: null }),
    dispose: () => undefined,
  };
}
