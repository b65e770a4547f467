/**
 * Problems in a `*.distill.json`, each with the text range it is about: JSON syntax, schema violations (with the
 * readable messages of `validate.ts`), and files the config names that do not exist. The extension turns these into
 * diagnostics in the Problems panel; the offsets come from jsonc-parser's syntax tree. Pure apart from the
 * `fileExists` callback; no vscode.
 */
import * as path from 'node:path';
import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import { CNN_WIDTHS, DEFAULT_MLP_HIDDEN, type DistillConfig } from './config';
import { parseJsonc, resolveConfigPaths } from './configFile';
import { formatJsonPath } from './errors';
import { validateConfig } from './validate';

export interface ConfigProblem {
  message: string;
  severity: 'error' | 'warning';
  /**
   * What kind of problem, for Quick Fixes and filtering: `syntax` (the editor's JSON service reports those itself,
   * so the extension does not repeat them), `missing-file` (with the file and what it is), or `config`.
   */
  code?: 'syntax' | 'missing-file' | 'config' | 'cross-field';
  /** For `missing-file`: the absolute path that does not exist, and what it should be ("train data (images)"). */
  file?: string;
  what?: string;
  /** The JSON path the problem is about (empty for syntax errors and the whole file). */
  path: (string | number)[];
  offset: number;
  length: number;
}

/**
 * The text range for a JSON path. An unknown property is marked at its key, a wrong value at the value; a missing
 * property at the object that should hold it (its opening brace, not the whole object, so the squiggle stays small).
 */
export function locateJsonPath(root: Node | undefined, jsonPath: (string | number)[], markKey = false): { offset: number; length: number } {
  if (!root) return { offset: 0, length: 0 };
  for (let depth = jsonPath.length; depth >= 0; depth--) {
    const node = findNodeAtLocation(root, jsonPath.slice(0, depth));
    if (!node) continue;
    const key = node.parent?.type === 'property' ? node.parent.children?.[0] : undefined;
    if (depth === jsonPath.length) {
      if (markKey && key) return { offset: key.offset, length: key.length };
      if (node.type === 'object' || node.type === 'array') {
        return key ? { offset: key.offset, length: key.length } : { offset: node.offset, length: 1 };
      }
      return { offset: node.offset, length: node.length };
    }
    // The path goes deeper than the file: point at the nearest ancestor that exists.
    return key ? { offset: key.offset, length: key.length } : { offset: node.offset, length: 1 };
  }
  return { offset: 0, length: 0 };
}

/** The files a config reads, with the JSON path that names each. Paths in `config` must already be absolute. */
export function referencedFiles(config: DistillConfig): { path: (string | number)[]; file: string; what: string }[] {
  const refs: { path: (string | number)[]; file: string; what: string }[] = [];
  const data = config.data;
  for (const split of ['train', 'test'] as const) {
    const s = data[split] as unknown as Record<string, string>;
    for (const [key, file] of Object.entries(s)) refs.push({ path: ['data', split, key], file, what: `${split} data (${key})` });
  }
  const list = Array.isArray(config.teacher);
  (list ? (config.teacher as unknown[]) : [config.teacher]).forEach((t, i) => {
    const at = list ? ['teacher', i] : ['teacher'];
    const teacher = t as DistillConfig['teacher'];
    if ('model' in teacher) refs.push({ path: [...at, 'model'], file: teacher.model, what: 'teacher model' });
    if ('logits' in teacher) {
      refs.push({ path: [...at, 'logits', 'train'], file: teacher.logits.train, what: 'teacher logits (train)' });
      refs.push({ path: [...at, 'logits', 'test'], file: teacher.logits.test, what: 'teacher logits (test)' });
    }
  });
  if ('model' in config.student) refs.push({ path: ['student', 'model'], file: config.student.model, what: 'student model' });
  return refs;
}

/**
 * The files a config names, read from the raw parsed value: so that a missing file is reported even while another
 * field is invalid. Only string values at the known places count; relative paths are resolved against `dir`.
 */
export function referencedFilesRaw(value: unknown, dir: string): { path: (string | number)[]; file: string; what: string }[] {
  const at = (p: (string | number)[]): unknown =>
    p.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
  const refs: { path: (string | number)[]; file: string; what: string }[] = [];
  const add = (p: (string | number)[], what: string) => {
    const v = at(p);
    if (typeof v === 'string' && v.trim()) refs.push({ path: p, file: path.resolve(dir, v), what });
  };
  for (const split of ['train', 'test', 'unlabeled'] as const) {
    const s = at(['data', split]);
    if (s && typeof s === 'object') for (const key of Object.keys(s)) add(['data', split, key], `${split} data (${key})`);
  }
  const teachers = at(['teacher']);
  for (const t of Array.isArray(teachers) ? teachers.map((_, i) => ['teacher', i]) : [['teacher']]) {
    add([...t, 'model'], 'teacher model');
    for (const split of ['train', 'test', 'unlabeled'] as const) add([...t, 'logits', split], `teacher logits (${split})`);
  }
  add(['student', 'model'], 'student model');
  return refs;
}

/**
 * Everything wrong with a config's text, positioned: one problem each. Missing files are reported whatever else is
 * wrong. `fileExists` is injectable so the check can run on an unsaved buffer.
 */
export function diagnoseConfigText(text: string, file: string, fileExists: (absolutePath: string) => boolean): ConfigProblem[] {
  const { value, problems: syntax } = parseJsonc(text);
  if (syntax.length) {
    return syntax.map((p) => ({
      message: `Invalid JSON: ${p.message}.`,
      severity: 'error',
      code: 'syntax',
      path: [],
      offset: p.offset,
      length: Math.max(p.length, 1),
    }));
  }
  const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
  const dir = path.dirname(path.resolve(file));
  const missing: ConfigProblem[] = referencedFilesRaw(value, dir)
    .filter((ref) => !fileExists(ref.file))
    .map((ref) => ({
      message: `${formatJsonPath(ref.path)}: the ${ref.what} file ${ref.file} does not exist. Fix the path (relative paths start at this config's folder), or use a Quick Fix (Ctrl+.).`,
      severity: 'error' as const,
      code: 'missing-file' as const,
      file: ref.file,
      what: ref.what,
      path: ref.path,
      ...locateJsonPath(root, ref.path),
    }));
  const result = validateConfig(value);
  if (!result.ok) {
    const invalid = result.issues.map((issue): ConfigProblem => ({
      message: issue.message,
      severity: 'error',
      code: 'config',
      path: issue.path,
      ...locateJsonPath(root, issue.path, issue.message.includes('is not a known field')),
    }));
    return [...invalid, ...missing];
  }
  const config = resolveConfigPaths(result.config, dir);
  const warnings = crossFieldWarnings(config).map((w): ConfigProblem => ({ ...w, severity: 'warning', code: 'cross-field', ...locateJsonPath(root, w.path) }));
  return [...missing, ...warnings];
}

/** Values that are valid one by one but disagree with each other. */
export function crossFieldWarnings(config: DistillConfig): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const schedule = config.distillation.schedule;
  if (schedule.type === 'stages') {
    const total = schedule.stages.reduce((sum, s) => sum + s.epochs, 0);
    const epochs = config.training.epochs;
    if (total !== epochs) {
      out.push({
        path: ['distillation', 'schedule', 'stages'],
        message:
          total > epochs
            ? `The stages add up to ${total} epochs, but training.epochs is ${epochs}: the stages after epoch ${epochs} never run. Make them add up to ${epochs}, or set training.epochs to ${total}.`
            : `The stages add up to ${total} epochs, but training.epochs is ${epochs}: the last stage continues for the ${epochs - total} epochs left. Make them add up to ${epochs} to say so.`,
      });
    }
  }
  const inputShape = config.data.inputShape ?? (config.data.format === 'idx' ? [28, 28, 1] : undefined);
  const classes = config.data.classNames?.length;
  if (inputShape && classes && 'preset' in config.teacher && 'preset' in config.student) {
    const t = presetParams(config.teacher, inputShape, classes);
    const s = presetParams(config.student, inputShape, classes);
    if (t !== undefined && s !== undefined && s >= t) {
      out.push({
        path: ['student'],
        message: `The student (${s.toLocaleString('en-US')} parameters) is not smaller than the teacher (${t.toLocaleString('en-US')}): distillation compresses a large teacher into a smaller student. Pick a smaller student or a larger teacher.`,
      });
    }
  }
  return out;
}

/** Parameters of a built-in preset for an input shape and class count (as src/engine/models/presets.ts builds it). */
export function presetParams(spec: { preset: string; hidden?: number[] }, inputShape: number[], classes: number): number | undefined {
  const features = inputShape.reduce((a, b) => a * b, 1);
  if (spec.preset === 'mlp') {
    let params = 0;
    let width = features;
    for (const units of spec.hidden ?? DEFAULT_MLP_HIDDEN) [params, width] = [params + width * units + units, units];
    return params + width * classes + classes;
  }
  const w = CNN_WIDTHS[spec.preset as keyof typeof CNN_WIDTHS];
  if (!w || inputShape.length !== 3) return undefined;
  const [h, wd, c] = inputShape;
  const conv1 = 9 * c * w.filters[0] + w.filters[0];
  const conv2 = 9 * w.filters[0] * w.filters[1] + w.filters[1];
  const flat = Math.floor(Math.floor(h / 2) / 2) * Math.floor(Math.floor(wd / 2) / 2) * w.filters[1];
  return conv1 + conv2 + flat * w.dense + w.dense + w.dense * classes + classes;
}
