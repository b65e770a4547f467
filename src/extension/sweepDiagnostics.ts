/**
 * Problems in a `*.sweep.json`, positioned like those of a config (see configDiagnostics.ts): JSON syntax, the
 * sweep's own fields, axes that are not config paths, axis values the config schema rejects (naming the axis and
 * the trial), and files the base config names that do not exist. Pure apart from `fileExists` and reading the base
 * config file; no vscode.
 */
import { parseTree } from 'jsonc-parser';
import { locateJsonPath, referencedFiles, type ConfigProblem } from '../shared/configDiagnostics';
import { parseJsonc } from '../shared/configFile';
import { formatJsonPath } from '../shared/errors';
import { planSweep } from '../shared/sweepPlan';

export const SWEEP_SUFFIX = '.sweep.json';

export function diagnoseSweepText(text: string, file: string, fileExists: (absolutePath: string) => boolean): ConfigProblem[] {
  const { value, problems: syntax } = parseJsonc(text);
  if (syntax.length) {
    return syntax.map((p) => ({ message: `Invalid JSON: ${p.message}.`, severity: 'error', path: [], offset: p.offset, length: Math.max(p.length, 1) }));
  }
  const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
  const result = planSweep(value, file);
  if (!result.ok) {
    return result.issues.map((issue) => ({
      message: issue.message,
      severity: 'error',
      path: issue.path,
      ...locateJsonPath(root, issue.path, issue.message.includes('is not a known field') || issue.message.includes('is not a config path')),
    }));
  }
  const inline = typeof result.plan.sweep.base !== 'string';
  return referencedFiles(result.plan.base)
    .filter((ref) => !fileExists(ref.file))
    .map((ref) => ({
      message: `${inline ? `base.${formatJsonPath(ref.path)}` : `base config, ${formatJsonPath(ref.path)}`}: the ${ref.what} file ${ref.file} does not exist.`,
      severity: 'error' as const,
      path: inline ? ['base', ...ref.path] : ['base'],
      ...locateJsonPath(root, inline ? ['base', ...ref.path] : ['base']),
    }));
}
