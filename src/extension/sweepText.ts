/**
 * What the Runs view says about a sweep: its line (status, trials done, the best point's objective and parameters)
 * and which of its trials are listed under it. No vscode import, so unit tests check the text.
 */
import type { SweepState } from '../shared/sweepDir';
import type { SweepData, SweepTrialRow } from '../shared/sweepProtocol';
import { formatObjective, formatValue, sweepCounts } from '../shared/sweepView';

/** `distillation.temperature` → `temperature`: the last segment names an axis well enough on one line. */
const shortAxis = (axis: string) =>
  axis
    .split('.')
    .filter((s) => !/^\d+$/.test(s))
    .pop() ?? axis;

export const formatParams = (params: Record<string, unknown>): string =>
  Object.entries(params)
    .map(([k, v]) => `${shortAxis(k)} ${formatValue(v)}`)
    .join(', ');

/** `running · 5/10 trials · best 86.20% (temperature 4, alpha 0.9)` */
export function sweepDescription(data: SweepData, best: SweepState['best']): string {
  const c = sweepCounts(data.trials);
  const parts = [data.status, `${c.done}/${c.total} trials${c.running ? `, ${c.running} running` : ''}${c.failed ? `, ${c.failed} failed` : ''}`];
  if (best) parts.push(`best ${formatObjective(best.mean, data.objective.metric)} (${formatParams(best.params)})`);
  return parts.join(' · ');
}

/** The trials shown under a sweep: those that have started (a run folder), scratch baselines first, then by id. */
export function listedTrials(data: SweepData): SweepTrialRow[] {
  return data.trials.filter((t) => t.status !== 'pending').sort((a, b) => (a.kind === b.kind ? a.id.localeCompare(b.id) : a.kind === 'baseline' ? -1 : 1));
}

/** A trial's line under its sweep: its parameters, and its objective once done. */
export function trialDescription(t: SweepTrialRow, metric: string): string {
  const what = t.kind === 'baseline' ? `scratch${Object.keys(t.params).length ? `, ${formatParams(t.params)}` : ''}` : formatParams(t.params);
  const result =
    t.status === 'completed'
      ? formatObjective(t.objective, metric)
      : t.status === 'running' && t.progress !== undefined
        ? `running ${Math.round(t.progress * 100)}%`
        : t.status;
  return `${what} · seed ${t.seed} · ${result}`;
}
