// Runs people can tell apart (src/shared/runName.ts).
import { strict as assert } from 'node:assert';
import { parseConfigText } from '../../src/shared/configFile';
import { defaultRunName, runDisplayName } from '../../src/shared/runName';

const config = (extra: Record<string, unknown> = {}) =>
  parseConfigText(
    JSON.stringify({
      name: 'fashion-kd',
      data: { format: 'idx', train: { images: 'a', labels: 'b' }, test: { images: 'c', labels: 'd' } },
      teacher: { preset: 'mlp', hidden: [256] },
      student: { preset: 'mlp', hidden: [32] },
      ...extra,
    }),
    '/w/fashion-kd.distill.json',
  );

describe('run names', () => {
  it("the first run of a config is the config's name; a later one adds what differs from the newest earlier run", () => {
    assert.equal(defaultRunName(config(), []), 'fashion-kd');
    const first = config();
    const hotter = config({ distillation: { temperature: 8, alpha: 0.9 } });
    assert.equal(defaultRunName(hotter, [first]), 'fashion-kd · T 8 · α 0.9');
    assert.equal(
      defaultRunName(config({ distillation: { divergence: 'reverse-kl' }, student: { preset: 'mlp', hidden: [16] } }), [hotter, first]),
      'fashion-kd · T 4 · α 0.7 · reverse-kl · student mlp [16]',
    );
  });

  it('numbers a run that differs in nothing, and ignores runs of other configs', () => {
    assert.equal(defaultRunName(config(), [config(), config()]), 'fashion-kd #3');
    assert.equal(defaultRunName(config(), [config({ name: 'other' })]), 'fashion-kd');
  });

  it('shows the run name, else the config name, else the id without its timestamp', () => {
    assert.equal(runDisplayName({ runId: 'x-20261201-091343-7361', config: { name: 'x', runName: 'x · T 8' } }), 'x · T 8');
    assert.equal(runDisplayName({ runId: 'x-20261201-091343-7361', config: { name: 'x' } }), 'x');
    assert.equal(runDisplayName({ runId: 'my-first-kd-20261201-091343-7361' }), 'my-first-kd');
  });
});
