/**
 * How figures and names read wherever Distill shows them: the CLI, the extension (tree views, tooltips, messages)
 * and the dashboard. Pure; no vscode, no DOM, no Node.
 */
import type { Progress } from './protocol';

/** Bytes in binary units: `812 B`, `37.5 KiB`, `1.25 MiB`, `2.10 GiB`; `—` for a missing value. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** A count in a few characters: `850`, `1.2k`, `210k`, `3.4M`, `12M`. */
export const formatCount = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k` : String(n);

/** What each trained model is called: in running text, and where space is short (status bar, legends). */
export const MODEL_NAMES: Record<Progress['student'], { name: string; short: string }> = {
  teacher: { name: 'teacher', short: 'teacher' },
  kd: { name: 'KD student', short: 'KD' },
  baseline: { name: 'scratch student', short: 'scratch' },
  compress: { name: 'compression fine-tune', short: 'fine-tune' },
};

/** `KD student`, `scratch student`, `teacher`; capitalised for a label or a table's first column. */
export function modelName(kind: Progress['student'], options: { short?: boolean; capital?: boolean } = {}): string {
  const words = MODEL_NAMES[kind][options.short ? 'short' : 'name'];
  return options.capital ? words.charAt(0).toUpperCase() + words.slice(1) : words;
}
