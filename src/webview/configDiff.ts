/** Which config values differ between runs, for the comparison's diff table. Pure: no DOM. */
import type { DistillConfig } from '../shared/config';

/** `{a: {b: 1}, c: [2, 3]}` → `{'a.b': '1', c: '[2,3]'}`: arrays are compared whole. */
export function flattenConfig(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) if (k !== '$schema') flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = JSON.stringify(value);
  }
  return out;
}

/** Dotted config keys whose values are not the same in every config (missing counts as a value). */
export function differingKeys(configs: readonly (DistillConfig | undefined)[]): { keys: string[]; flat: Record<string, string>[] } {
  const flat = configs.map((c) => flattenConfig(c ?? {}));
  const all = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return { keys: all.filter((k) => new Set(flat.map((f) => f[k])).size > 1), flat };
}
