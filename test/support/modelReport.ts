import type { ModelReport } from '../../src/shared/records';

/** A model's report with only what the text and verdict code read: accuracy (macro-F1 the same), parameters, and `extra`. */
export const report = (accuracy: number, params: number | null, extra: Partial<ModelReport> = {}): ModelReport => ({
  accuracy,
  macroF1: accuracy,
  params,
  perClass: { precision: [], recall: [], f1: [] },
  confusion: [],
  ...extra,
});
