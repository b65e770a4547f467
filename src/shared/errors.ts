/**
 * One error type for everything a user can fix. `kind` decides the CLI exit code (config and usage: 2; the rest: 1)
 * and how the extension presents it; `file` and `path` point at what to change.
 */
export type DistillErrorKind = 'config' | 'usage' | 'data' | 'model' | 'runtime';

export interface ErrorLocation {
  /** The file that is wrong, absolute. */
  file?: string;
  /** JSON path inside a config file, e.g. `['distillation', 'alpha']`. */
  path?: (string | number)[];
  /** 1-based line and column inside `file`, where known (JSON syntax errors). */
  line?: number;
  column?: number;
}

export class DistillError extends Error {
  constructor(
    readonly kind: DistillErrorKind,
    message: string,
    readonly location: ErrorLocation = {},
  ) {
    super(message);
    this.name = 'DistillError';
  }
}

export const isDistillError = (e: unknown): e is DistillError => e instanceof DistillError;

/** `['data', 'train', 0, 'x']` → `data.train[0].x` */
export function formatJsonPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
