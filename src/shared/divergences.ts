/**
 * The divergences of the distillation term: the one list that the config enum (and so the JSON schema), the new
 * config's comment, the engine's kernels (src/engine/kd/divergences/, one file each) and the tests' tables are all
 * derived from. Adding a divergence is an entry here plus its file there; the compiler names what is missing.
 *
 * The order is part of the engine: a divergence's position is the code the fused kernels take (see
 * `divergenceCode`). Append, do not reorder.
 */

export interface DivergenceInfo {
  /** What VS Code shows beside the value in completion (markdown). */
  readonly description: string;
  /** A few words for the new config's comment, after the name; none: the name alone. */
  readonly hint?: string;
}

export const DIVERGENCE_INFO = {
  'forward-kl': {
    description: 'KL(p_t ‖ p_s) at temperature T, times T² (Hinton 2015). Mass-covering: the student spreads probability wherever the teacher does.',
    hint: 'Hinton',
  },
  'reverse-kl': {
    description:
      'KL(p_s ‖ p_t) at T, times T². Mode-seeking: the student concentrates on the teacher\u2019s main modes; useful for small students that cannot cover everything.',
    hint: 'mode-seeking, for small students',
  },
  js: {
    description: 'Jensen–Shannon divergence at T, times T². Symmetric and bounded; robust when the teacher is over-confident.',
  },
  'mse-logits': {
    description: 'Mean squared error between raw logits (T is not used). The T → ∞ limit of KD.',
  },
  dkd: {
    hint: 'decoupled KD',
    description:
      'Decoupled KD (Zhao et al., CVPR 2022): α_dkd·TCKD + β·NCKD at T, times T². TCKD is the binary KL on the target class\u2019s probability, NCKD the KL over the other classes renormalised; weights in `dkd`. Needs labels: on unlabelled rows the teacher\u2019s top-1 is the target.',
  },
} as const satisfies Record<string, DivergenceInfo>;

export type Divergence = keyof typeof DIVERGENCE_INFO;

/** Every divergence, in code order. */
export const DIVERGENCES = Object.keys(DIVERGENCE_INFO) as readonly Divergence[];

/** The number the fused kernels take for `divergence` (an attribute, and a uniform in WGSL). */
export function divergenceCode(divergence: Divergence): number {
  const code = DIVERGENCES.indexOf(divergence);
  if (code < 0) throw new RangeError(`Unknown divergence "${String(divergence)}": expected one of ${DIVERGENCES.join(', ')}.`);
  return code;
}

/** The weights of decoupled KD's two parts (`distillation.dkd`); the other divergences ignore them. */
export interface DkdWeights {
  /** Weight of the target-class term TCKD (the paper's α). */
  alpha: number;
  /** Weight of the non-target-class term NCKD (the paper's β). */
  beta: number;
}

/** The paper's weights: the config's defaults, and the engine's when a config names none. */
export const DKD_DEFAULTS: DkdWeights = { alpha: 1, beta: 8 };

/** The divergences as a sentence for a comment: "a (hint), b, or c". */
export function divergencesInWords(): string {
  const words = DIVERGENCES.map((d) => {
    const hint = (DIVERGENCE_INFO[d] as DivergenceInfo).hint;
    return hint ? `${d} (${hint})` : d;
  });
  return words.length > 1 ? `${words.slice(0, -1).join(', ')}, or ${words[words.length - 1]}` : words.join('');
}
