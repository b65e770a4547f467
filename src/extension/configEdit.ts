/**
 * Editing a `*.distill.json` as text: the teacher or student is replaced through jsonc-parser's `modify`, so the
 * rest of the file keeps its comments, order and formatting. The result is one minimal text edit, which the
 * extension applies as a `WorkspaceEdit` (so it can be undone). Pure; no vscode, no fs.
 */
import * as path from 'node:path';
import { applyEdits, modify, parseTree, findNodeAtLocation, type FormattingOptions, type Node, type ParseError } from 'jsonc-parser';
import { DistillError } from '../shared/errors';

export type ModelRole = 'teacher' | 'student';

/** What the user picked. Paths are as they should be written into the file (usually relative to the config). */
export type ModelChoice = { model: string } | { logits: { train: string; test: string } } | { preset: string };

/** One replacement in the original text. */
export interface TextEdit {
  offset: number;
  length: number;
  content: string;
}

/** Indentation as the file already uses it (first indented line), so inserted text matches. */
export function detectFormatting(text: string): FormattingOptions {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const indent = /^([ \t]+)\S/m.exec(text)?.[1];
  if (indent?.startsWith('\t')) return { insertSpaces: false, tabSize: 1, eol };
  return { insertSpaces: true, tabSize: indent ? indent.length : 2, eol };
}

/** A path as it should appear in the config: relative to its folder, with forward slashes; absolute on another drive. */
export function configRelativePath(configFile: string, target: string): string {
  const rel = path.relative(path.dirname(configFile), target);
  if (!rel || path.isAbsolute(rel)) return target;
  const posix = rel.split(path.sep).join('/');
  return posix.startsWith('.') ? posix : `./${posix}`;
}

function rootObject(text: string, file: string): Node {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (!root || root.type !== 'object' || errors.length) {
    throw new DistillError(
      'config',
      `${file}: the config is not a valid JSON object. Fix the syntax errors shown in the Problems panel, then pick the model again.`,
      { file },
    );
  }
  return root;
}

/** The single replacement that turns `before` into `after` (common prefix and suffix kept). */
export function minimalEdit(before: string, after: string): TextEdit {
  let start = 0;
  const max = Math.min(before.length, after.length);
  while (start < max && before[start] === after[start]) start++;
  let end = 0;
  while (end < max - start && before[before.length - 1 - end] === after[after.length - 1 - end]) end++;
  return { offset: start, length: before.length - start - end, content: after.slice(start, after.length - end) };
}

/**
 * Set `role` to `choice` in the config text. Keys the new choice shares with the current object are updated in
 * place (a comment beside `"model"` survives a new model path); keys that belong to another kind of teacher or
 * student (`preset`, `train`, `logits`, …) are removed. Throws a `DistillError` when the text is not a JSON object.
 */
export function setModelInConfig(text: string, role: ModelRole, choice: ModelChoice, file = 'config'): { text: string; edit: TextEdit } {
  if (role === 'student' && 'logits' in choice) {
    throw new DistillError('usage', 'A student cannot be a logits file: it must be a trainable model (a tfjs LayersModel model.json) or a preset.');
  }
  const formattingOptions = detectFormatting(text);
  const root = rootObject(text, file);
  const current = findNodeAtLocation(root, [role]);
  let next = text;
  if (current?.type === 'object') {
    const existing = (current.children ?? []).map((p) => p.children?.[0]?.value as string);
    // Remove the other kind's keys first, then set ours one by one, re-parsing between edits.
    for (const key of existing.filter((k) => !(k in choice))) {
      next = applyEdits(next, modify(next, [role, key], undefined, { formattingOptions }));
    }
    for (const [key, value] of Object.entries(choice)) {
      next = applyEdits(next, modify(next, [role, key], value, { formattingOptions }));
    }
  } else {
    next = applyEdits(next, modify(next, [role], choice, { formattingOptions }));
  }
  return { text: next, edit: minimalEdit(text, next) };
}

/** The data an image dataset gives a config: folders per split, paths as they should be written. */
export interface ImageDataChoice {
  train: string;
  test: string;
}

/**
 * Point the config's data at image folders. The keys that mean the same in every format (validationSplit,
 * maxSamples, inputShape, normalize, …) stay; the old format's own keys (files, CSV columns, transfer set) go, and
 * `classNames` goes too, since the folder names now give the classes.
 */
export function setImageDataInConfig(text: string, choice: ImageDataChoice, file = 'config'): { text: string; edit: TextEdit } {
  const formattingOptions = detectFormatting(text);
  const root = rootObject(text, file);
  const current = findNodeAtLocation(root, ['data']);
  const wanted: Record<string, unknown> = { format: 'images', train: { dir: choice.train }, test: { dir: choice.test } };
  let next = text;
  if (current?.type === 'object') {
    const formatOwn = ['header', 'labelColumn', 'unlabeled', 'classNames'];
    const existing = (current.children ?? []).map((p) => p.children?.[0]?.value as string);
    for (const key of existing.filter((k) => formatOwn.includes(k))) next = applyEdits(next, modify(next, ['data', key], undefined, { formattingOptions }));
    for (const [key, value] of Object.entries(wanted)) next = applyEdits(next, modify(next, ['data', key], value, { formattingOptions }));
  } else {
    next = applyEdits(next, modify(next, ['data'], wanted, { formattingOptions }));
  }
  return { text: next, edit: minimalEdit(text, next) };
}
