/**
 * Names people can tell runs apart by. A run is named by `runName` in its config when given; otherwise, when it
 * starts, by the config's name plus what differs from the run before it in the same runs directory ("fashion-kd ·
 * T 8 · α 0.9"), so two runs of one config never share a label. Every view uses `runDisplayName`: the Runs view,
 * dashboard tab titles, compare chips, legends and tables.
 */
import type { DistillConfig } from './config';

/** The knobs people change between runs, each with how it reads in a name. */
const KNOBS: { label: string; value: (c: DistillConfig) => unknown }[] = [
  { label: 'T', value: (c) => c.distillation.temperature },
  { label: 'α', value: (c) => c.distillation.alpha },
  { label: '', value: (c) => c.distillation.divergence },
  { label: 'schedule', value: (c) => c.distillation.schedule.type },
  { label: 'student', value: (c) => modelName(c.student) },
  { label: 'teacher', value: (c) => modelName(c.teacher) },
  { label: 'epochs', value: (c) => c.training.epochs },
  { label: 'lr', value: (c) => c.training.learningRate },
  { label: 'seed', value: (c) => c.seed },
  { label: 'rows', value: (c) => c.data.maxSamples?.train ?? 'all' },
];

function modelName(m: DistillConfig['student'] | DistillConfig['teacher']): string {
  if ('preset' in m) return `${m.preset}${m.hidden ? ` [${m.hidden.join(',')}]` : ''}`;
  if ('model' in m) return m.model.split(/[\\/]/).slice(-2).join('/');
  return 'logits';
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** "T 8 · α 0.9": the knobs whose values differ between `config` and `previous`. */
export function configDifferences(config: DistillConfig, previous: DistillConfig): string[] {
  return KNOBS.filter((k) => show(k.value(config)) !== show(k.value(previous))).map((k) =>
    k.label ? `${k.label} ${show(k.value(config))}` : show(k.value(config)),
  );
}

/**
 * The name a run gets when the config gives none. `previous`: the configs of earlier runs in the same runs directory,
 * newest first. The first run of a config is its name; later ones add what differs from the newest earlier run,
 * or a number when nothing does.
 */
export function defaultRunName(config: DistillConfig, previous: readonly DistillConfig[]): string {
  const sameName = previous.filter((p) => p.name === config.name);
  if (!sameName.length) return config.name;
  const diff = configDifferences(config, sameName[0]);
  return diff.length ? `${config.name} · ${diff.join(' · ')}` : `${config.name} #${sameName.length + 1}`;
}

/** What a run is called everywhere: its run name, else its config's name, else its id. */
export const runDisplayName = (run: { runId: string; config?: Pick<DistillConfig, 'name'> & { runName?: string } }): string =>
  run.config?.runName ?? run.config?.name ?? run.runId.replace(/-\d{8}-\d{6}-[0-9a-f]{4}$/, '');
