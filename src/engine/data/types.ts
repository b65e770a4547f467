/** What the data layer hands to the trainer, the evaluator and the teacher-logit cache. */

/** `count` samples; `x` is row-major `[count, ...inputShape]`, `y` holds the class labels `0 … numClasses-1`. */
export interface Samples {
  x: Float32Array;
  y: Int32Array;
  count: number;
}

/** Rows without labels: `x` is row-major `[count, ...inputShape]`. */
export interface UnlabeledSamples {
  x: Float32Array;
  count: number;
}

export type NormalizationMethod = 'none' | 'scale255' | 'minmax' | 'standard';

/**
 * How raw features became `x`: `x = (raw - shift[f]) * scale[f]` per feature `f`. Kept so the deployed student can
 * be fed the same way and so 8-bit thumbnails can be recovered from normalized rows.
 */
export interface Normalization {
  method: NormalizationMethod;
  shift: Float64Array;
  scale: Float64Array;
}

export interface Dataset {
  /** All training rows (after `maxSamples`), BEFORE the validation split. */
  train: Samples;
  test: Samples;
  /** `data.unlabeled`: rows with features only (after `maxSamples.unlabeled`), scaled like the training rows. */
  unlabeled?: UnlabeledSamples;
  /** One sample's shape: IDX images `[rows, cols, 1]`; CSV `[features]`; `.npy` its trailing dims; or `data.inputShape`. */
  inputShape: number[];
  /** `classNames.length` when configured, else the largest label in the train and test files plus one. */
  numClasses: number;
  classNames: string[];
  /** Rows in the files before the `maxSamples` cut: what teacher-logit files must match. */
  sourceRows: { train: number; test: number; unlabeled?: number };
  /** sha256 hex over shape, normalized `x` bytes and labels: the key of the teacher-logit cache. */
  fingerprint: { train: string; test: string; unlabeled?: string };
  normalization: Normalization;
}
