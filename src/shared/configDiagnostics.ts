/**
 * Problems in a `*.distill.json`, each with the text range it is about: JSON syntax, schema violations (with the
 * readable messages of `validate.ts`), and files the config names that do not exist. The extension turns these into
 * diagnostics in the Problems panel; the offsets come from jsonc-parser's syntax tree. Pure apart from the
 * `fileExists` callback; no vscode.
 */
import * as path from 'node:path';
import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import type { DistillConfig } from './config';
import { parseJsonc, resolveConfigPaths } from './configFile';
import { formatJsonPath } from './errors';
import { validateConfig } from './validate';

export interface ConfigProblem {
  message: string;
  severity: 'error' | 'warning';
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
  if ('model' in config.teacher) refs.push({ path: ['teacher', 'model'], file: config.teacher.model, what: 'teacher model' });
  if ('logits' in config.teacher) {
    refs.push({ path: ['teacher', 'logits', 'train'], file: config.teacher.logits.train, what: 'teacher logits (train)' });
    refs.push({ path: ['teacher', 'logits', 'test'], file: config.teacher.logits.test, what: 'teacher logits (test)' });
  }
  if ('model' in config.student) refs.push({ path: ['student', 'model'], file: config.student.model, what: 'student model' });
  return refs;
}

/**
 * Everything wrong with a config's text, positioned. Files are checked only once the config is valid, because
 * until then their paths may be incomplete. `fileExists` is injectable so the check can run on an unsaved buffer.
 */
export function diagnoseConfigText(text: string, file: string, fileExists: (absolutePath: string) => boolean): ConfigProblem[] {
  const { value, problems: syntax } = parseJsonc(text);
  if (syntax.length) {
    return syntax.map((p) => ({ message: `Invalid JSON: ${p.message}.`, severity: 'error', path: [], offset: p.offset, length: Math.max(p.length, 1) }));
  }
  const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
  const result = validateConfig(value);
  if (!result.ok) {
    return result.issues.map((issue) => ({
      message: issue.message,
      severity: 'error',
      path: issue.path,
      ...locateJsonPath(root, issue.path, issue.message.includes('is not a known field')),
    }));
  }
  const config = resolveConfigPaths(result.config, path.dirname(path.resolve(file)));
  return referencedFiles(config)
    .filter((ref) => !fileExists(ref.file))
    .map((ref) => ({
      message: `${formatJsonPath(ref.path)}: the ${ref.what} file ${ref.file} does not exist. Fix the path (relative paths start at this config's folder).`,
      severity: 'error' as const,
      path: ref.path,
      ...locateJsonPath(root, ref.path),
    }));
}
