/**
 * Every divergence's kernels, keyed by the names of src/shared/divergences.ts: a divergence listed there and missing
 * here (or the reverse) does not compile, and `divergenceKernels` throws for a name or code it does not know. A
 * divergence either brings fused row math or says `fused: 'composed-only'`; the fused kernels (and the WGSL below)
 * cover exactly the former, and `fusedKernels` throws for the latter.
 */
import { DIVERGENCES, type Divergence } from '../../../shared/divergences';
import { dkd } from './dkd';
import { forwardKl } from './forwardKl';
import { jensenShannon } from './jensenShannon';
import { mseLogits } from './mseLogits';
import { reverseKl } from './reverseKl';
import type { DivergenceKernels, FusedKernels } from './types';

export type { DivergenceKernels, DivergenceParts, DkdWeights, FusedKernels } from './types';
export { DKD_DEFAULTS } from './types';

export const DIVERGENCE_KERNELS = {
  'forward-kl': forwardKl,
  'reverse-kl': reverseKl,
  js: jensenShannon,
  'mse-logits': mseLogits,
  dkd,
} as const satisfies Record<Divergence, DivergenceKernels>;

/** The divergences with fused kernels: those whose file does not say `fused: 'composed-only'`. */
export type FusedDivergence = {
  [D in Divergence]: (typeof DIVERGENCE_KERNELS)[D]['fused'] extends 'composed-only' ? never : D;
}[Divergence];

/** Whether the fused step kernels compute `divergence` (else kdStepStats composes it from tfjs ops on every backend). */
export function isFusedDivergence(divergence: Divergence): divergence is FusedDivergence {
  return divergenceKernels(divergence).fused !== 'composed-only';
}

/** The fused row math of a divergence, by name or code; throws for a composed-only one (a kernel must never get it). */
export function fusedKernels(divergence: Divergence | number): FusedKernels {
  const { fused } = divergenceKernels(divergence);
  if (fused === 'composed-only') {
    const name = typeof divergence === 'number' ? DIVERGENCES[divergence] : divergence;
    throw new RangeError(`Divergence ${name} has no fused kernels (it is composed-only); kdStepStats composes it from tfjs ops.`);
  }
  return fused;
}

/** The kernels of a divergence, by name or by the code the fused kernels take. */
export function divergenceKernels(divergence: Divergence | number): DivergenceKernels {
  const name = typeof divergence === 'number' ? DIVERGENCES[divergence] : divergence;
  const kernels = name === undefined ? undefined : (DIVERGENCE_KERNELS as Record<string, DivergenceKernels | undefined>)[name];
  if (!kernels) {
    throw new RangeError(`No kernels for divergence ${JSON.stringify(divergence)}: expected one of ${DIVERGENCES.join(', ')} (src/engine/kd/divergences/).`);
  }
  return kernels;
}

/** The WGSL that dispatches on the `divergence` uniform: one function per divergence and part, and a switch each. */
export function wgslDivergences(): string {
  const parts: string[] = [];
  const codes = DIVERGENCES.map((d, code) => ({ code, kernels: divergenceKernels(d) })).flatMap(({ code, kernels }) =>
    kernels.fused === 'composed-only' ? [] : [{ code, kernels, k: kernels.fused }],
  );
  const rowArgs = 'off : i32, classes : i32, invT : f32, label : i32, r : RowStats';
  const gradArgs = 'i : i32, c : i32, invT : f32, label : i32, r : RowStats, prepared : vec4<f32>';
  for (const { code, k } of codes) {
    if (k.wgsl.helpers) parts.push(k.wgsl.helpers);
    parts.push(`  fn divergenceTerm${code}(${rowArgs}) -> f32 {${k.wgsl.term}\n  }`);
    parts.push(`  fn divergencePrepare${code}(${rowArgs}) -> vec4<f32> {${k.wgsl.prepare ?? '\n      return vec4<f32>(0.0);'}\n  }`);
    parts.push(`  fn divergenceGradient${code}(${gradArgs}) -> f32 {${k.wgsl.gradient}\n  }`);
  }
  // WGSL wants a default; the kernels check the code on the JavaScript side (divergenceKernels) before dispatching.
  const zero = '0.0';
  const dispatch = (name: string, args: string, call: string, returns: string, otherwise: string) =>
    `  fn ${name}(divergence : i32, ${args}) -> ${returns} {\n    switch divergence {\n` +
    codes.map(({ code }) => `      case ${code}: { return ${name}${code}(${call}); }\n`).join('') +
    `      default: { return ${otherwise}; }\n    }\n  }`;
  parts.push(dispatch('divergenceTerm', rowArgs, 'off, classes, invT, label, r', 'f32', zero));
  parts.push(dispatch('divergencePrepare', rowArgs, 'off, classes, invT, label, r', 'vec4<f32>', 'vec4<f32>(0.0)'));
  parts.push(dispatch('divergenceGradient', gradArgs, 'i, c, invT, label, r, prepared', 'f32', zero));
  const where = (pick: (k: DivergenceKernels) => boolean) =>
    codes
      .filter(({ kernels }) => pick(kernels))
      .map(({ code }) => `divergence == ${code}`)
      .join(' || ') || 'false';
  parts.push(`  fn divergenceMeanOverElements(divergence : i32) -> bool {\n    return ${where((k) => k.mean === 'elements')};\n  }`);
  parts.push(`  fn divergenceTemperatureSquared(divergence : i32) -> bool {\n    return ${where((k) => k.temperatureSquared)};\n  }`);
  return parts.join('\n\n');
}
