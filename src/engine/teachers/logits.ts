/** Precomputed teacher logits (`.npy` or `.jsonl`), aligned row by row with the data files: a teacher from any framework. */
import type { DistillConfig } from '../../shared/config';
import { DistillError } from '../../shared/errors';
import { loadTeacherLogits, type Dataset } from '../data';
import type { SplitName, Teacher } from './types';

type LogitsConfig = Extract<DistillConfig['teacher'], { logits: unknown }>;

export function openLogitsTeacher(cfg: LogitsConfig, dataset: Pick<Dataset, 'sourceRows' | 'numClasses' | 'train' | 'test' | 'unlabeled'>): Teacher {
  if (dataset.unlabeled && !cfg.logits.unlabeled) {
    throw new DistillError(
      'config',
      `data.unlabeled gives ${dataset.unlabeled.count} rows without labels, but the teacher is precomputed logits without teacher.logits.unlabeled. ` +
        'Add teacher.logits.unlabeled: the teacher\u2019s logits for those rows, in file order.',
      { path: ['teacher', 'logits', 'unlabeled'] },
    );
  }
  return {
    describe: `precomputed logits (${cfg.logits.train})`,
    outputs: async (split: SplitName) => {
      const rows = dataset[split];
      const file = cfg.logits[split];
      const sourceRows = dataset.sourceRows[split];
      if (!rows || !file || sourceRows === undefined) throw new Error(`No precomputed teacher logits for the ${split} rows.`);
      return loadTeacherLogits(file, sourceRows, dataset.numClasses, split, rows.count);
    },
    facts: async () => ({ params: null }),
    dispose: () => undefined,
  };
}
