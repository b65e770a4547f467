// The config check's parameter count of a preset (for "student larger than teacher") is the engine's own.
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { presetParams } from '../../src/shared/configDiagnostics';
import { buildPreset } from '../../src/engine/models/presets';

describe('preset parameter counts without tfjs', () => {
  before(() => tf.ready());
  for (const spec of [
    { preset: 'mlp' as const },
    { preset: 'mlp' as const, hidden: [64, 32] },
    { preset: 'cnn-small' as const },
    { preset: 'cnn-medium' as const },
    { preset: 'cnn-large' as const },
  ]) {
    it(`${spec.preset}${'hidden' in spec ? ` [${spec.hidden}]` : ''} on 28×28×1, 10 classes`, () => {
      const model = buildPreset(spec, [28, 28, 1], 10, 1, 'student');
      assert.equal(presetParams(spec, [28, 28, 1], 10), model.countParams());
      model.dispose();
    });
  }
});
