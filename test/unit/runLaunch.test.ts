/** What a run from VS Code is launched with: the settings on the config, the run directory, the engine's environment. */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { engineEnv, planStart, runStateText, type StartPlan } from '../../src/extension/runLaunch';
import { OPTIONAL_MODULES_ENV } from '../../src/shared/backends';
import { parseConfigText } from '../../src/shared/configFile';

const CONFIG = JSON.stringify({
  name: 'fashion-kd',
  data: { format: 'idx', train: { images: 'a', labels: 'b' }, test: { images: 'c', labels: 'd' } },
  teacher: { preset: 'cnn-medium' },
  student: { preset: 'mlp' },
});
const config = () => parseConfigText(CONFIG, '/work/exp/fashion.distill.json');
const at = new Date('2026-11-29T22:49:01Z');

describe('run launch', () => {
  it("starts in the config's runs directory, under a new run id, with the config's backend when no setting overrides", () => {
    const plan = planStart(config(), {}, at) as StartPlan;
    assert.equal(path.dirname(plan.runDir), path.resolve('/work/exp', 'runs'));
    assert.match(path.basename(plan.runDir), /^fashion-kd-\d{8}-\d{6}-[0-9a-f]{4}$/);
    assert.deepEqual(plan.request, { type: 'start', config: plan.request.config, runDir: plan.runDir });
    assert.equal(plan.request.config.engine.backend, 'auto');
  });

  it('lets distill.runsDirectory and distill.engine.backend override the config', () => {
    const plan = planStart(config(), { runsDirectory: '/elsewhere/runs', backend: 'wasm' }, at) as StartPlan;
    assert.equal(path.dirname(plan.runDir), '/elsewhere/runs');
    assert.equal(plan.request.config.output.runsDir, '/elsewhere/runs');
    assert.equal(plan.request.config.engine.backend, 'wasm');
  });

  it('refuses a backend setting that names no backend, and says which setting to fix', () => {
    const refused = planStart(config(), { backend: 'cuda' }, at);
    assert.deepEqual(refused, {
      refused:
        'the setting "distill.engine.backend" is "cuda", which is not a backend. Use one of auto, tensorflow-gpu, webgpu, tensorflow, wasm, cpu, or leave it empty to use the config\'s.',
      setting: 'distill.engine.backend',
    });
  });

  it('hands the optional-modules folder to the engine only when set', () => {
    assert.equal(engineEnv(undefined), undefined);
    assert.deepEqual(engineEnv('/opt/gpu'), { [OPTIONAL_MODULES_ENV]: '/opt/gpu' });
  });

  it("words a run's state: stopping first, then the phase, then the progress", () => {
    const progress = { student: 'kd' as const, epoch: 2, totalEpochs: 5, step: 0, stepsPerEpoch: 0 };
    assert.equal(runStateText({}), 'Starting the engine…');
    assert.equal(runStateText({ progress }), 'KD student · epoch 2/5');
    assert.equal(runStateText({ progress, phase: 'Evaluating…' }), 'Evaluating…');
    assert.equal(runStateText({ progress, phase: 'Evaluating…', stopping: true }), 'Stopping: finishing the step and writing a checkpoint…');
  });
});
