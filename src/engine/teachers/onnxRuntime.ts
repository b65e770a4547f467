/**
 * onnxruntime-node, found at run time like the optional GPU backends: never bundled (it is 113 MB packed), looked for
 * in the folder DISTILL_OPTIONAL_MODULES names (where "Distill: Install ONNX Runtime" and `distill install onnx` put
 * it), next to the engine, then in the workspace.
 */
import type * as Ort from 'onnxruntime-node';
import { DistillError, errorMessage } from '../../shared/errors';
import { OPTIONAL_MODULES_ENV } from '../../shared/backends';
import { isModuleNotFound, optionalModuleRequirers } from '../backends/ladder';

export type OnnxRuntime = typeof Ort;

export const ONNX_PACKAGE = 'onnxruntime-node';
export const ONNX_INSTALL_FIX =
  'Run "Distill: Install ONNX Runtime" from the command palette, or `distill install onnx` from a terminal, or `npm install onnxruntime-node` in the workspace';

let cached: OnnxRuntime | undefined;

/** The onnxruntime-node module; a clear error naming the fix when it is not installed or does not load. */
export function loadOnnxRuntime(): OnnxRuntime {
  if (cached) return cached;
  let failure: string | undefined;
  for (const req of optionalModuleRequirers()) {
    try {
      cached = req(ONNX_PACKAGE) as OnnxRuntime;
      return cached;
    } catch (e) {
      if (!isModuleNotFound(e, ONNX_PACKAGE)) failure ??= errorMessage(e).split('\n')[0];
    }
  }
  const where = process.env[OPTIONAL_MODULES_ENV]
    ? ` (looked in ${OPTIONAL_MODULES_ENV}=${process.env[OPTIONAL_MODULES_ENV]}, next to the engine and in the workspace)`
    : '';
  throw new DistillError(
    'runtime',
    failure
      ? `ONNX Runtime (${ONNX_PACKAGE}) is installed but does not load: ${failure}. Reinstall it: ${ONNX_INSTALL_FIX}.`
      : `ONNX teachers and ONNX exports need ONNX Runtime (${ONNX_PACKAGE}), which is not installed${where}. ${ONNX_INSTALL_FIX}.`,
  );
}

/** `onnxruntime-node 1.30.0`, for the report. */
export function onnxRuntimeVersion(ort: OnnxRuntime): string {
  return `${ONNX_PACKAGE} ${ort.env.versions?.node ?? ort.env.versions?.common ?? ''}`.trim();
}
