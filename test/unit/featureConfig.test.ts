/** `distillation.features` in the config: defaults, the errors that name the field, and the one-thread rule. */
import { strict as assert } from 'node:assert';
import { FEATURE_DEFAULT_WEIGHT } from '../../src/shared/config';
import { validateConfig } from '../../src/shared/validate';
import { singleThreadReason } from '../../src/engine/train/trainer';
import { checkFeatureTeacher } from '../../src/engine/train/features';

describe('config: distillation.features', () => {
  const base = {
    name: 'x',
    data: { format: 'idx', train: { images: 'tr-i', labels: 'tr-l' }, test: { images: 'te-i', labels: 'te-l' } },
    teacher: { preset: 'cnn-small' },
    student: { preset: 'cnn-small' },
  };
  const validate = (features: unknown) => validateConfig({ ...base, distillation: { features } });
  const issues = (features: unknown) => {
    const r = validate(features);
    return r.ok ? [] : r.issues.map((i) => i.message);
  };

  it('fills loss "mse" and leaves the weight to the loss (1 for mse, 500 = β/2 for attention)', () => {
    const r = validate([
      { teacher: 'teacher_conv2', student: 'student_conv2' },
      { teacher: 'teacher_pool1', student: 'student_pool1', loss: 'attention', weight: 250 },
    ]);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
    assert.deepEqual(r.config.distillation.features, [
      { teacher: 'teacher_conv2', student: 'student_conv2', loss: 'mse' },
      { teacher: 'teacher_pool1', student: 'student_pool1', loss: 'attention', weight: 250 },
    ]);
    assert.deepEqual(FEATURE_DEFAULT_WEIGHT, { mse: 1, attention: 500 });
    assert.ok(validateConfig(base).ok && !Object.hasOwn((validateConfig(base) as { config: { distillation: object } }).config.distillation, 'features'));
  });

  it('names the field: an unknown loss, a negative weight, a missing layer, an unknown key, an empty list', () => {
    assert.match(issues([{ teacher: 'a', student: 'b', loss: 'l1' }])[0], /distillation\.features\[0\]\.loss must be one of "mse", "attention"/);
    assert.match(
      issues([
        { teacher: 'a', student: 'b' },
        { teacher: 'a', student: 'b', weight: -1 },
      ])[0],
      /distillation\.features\[1\]\.weight must be between 0 and 1000000 \(got -1\)/,
    );
    assert.match(issues([{ teacher: 'a' }])[0], /distillation\.features\[0\].*student/);
    assert.match(issues([{ teacher: 'a', student: 'b', adapter: true }])[0], /distillation\.features\[0\]\.adapter is not a known field/);
    assert.match(issues([])[0], /distillation\.features must have at least 1 item/);
  });

  it('trains on one thread, saying why; teachers without layers, and teacherIndex out of the list, are refused naming the fix', () => {
    assert.match(
      singleThreadReason({ data: {}, distillation: { features: [{ teacher: 'a', student: 'b', loss: 'mse' }] } } as never) ?? '',
      /^feature distillation \(distillation\.features\) trains on one thread/,
    );
    const features = [{ teacher: 'a', student: 'b', loss: 'mse' as const }];
    assert.throws(
      () => checkFeatureTeacher({ teacher: { logits: { train: 'a.npy', test: 'b.npy' } }, distillation: { features } } as never),
      /teacher\.logits gives precomputed logits only\. Set teacher\.model/,
    );
    assert.throws(
      () => checkFeatureTeacher({ teacher: { preset: 'mlp' }, distillation: { features: [{ ...features[0], teacherIndex: 1 }] } } as never),
      /distillation\.features\[0\]\.teacherIndex is 1, but there is a single teacher \(index 0\)/,
    );
    const list = [{ preset: 'mlp' }, { logits: { train: 'a.npy', test: 'b.npy' } }];
    assert.doesNotThrow(() => checkFeatureTeacher({ teacher: list, distillation: { features } } as never));
    assert.throws(
      () => checkFeatureTeacher({ teacher: list, distillation: { features: [features[0], { ...features[0], teacherIndex: 1 }] } } as never),
      /distillation\.features\[1\] needs a model teacher .* but teacher\[1\]\.logits gives precomputed logits only\. Set the pair’s teacherIndex to a model teacher/,
    );
    assert.throws(
      () => checkFeatureTeacher({ teacher: list, distillation: { features: [{ ...features[0], teacherIndex: 2 }] } } as never),
      /teacherIndex is 2, but the list has 2 teachers \(0 to 1\)/,
    );
    assert.doesNotThrow(() => checkFeatureTeacher({ teacher: { model: 't.onnx' }, distillation: { features } } as never));
    assert.doesNotThrow(() => checkFeatureTeacher({ teacher: [{ preset: 'mlp' }, { preset: 'mlp' }], distillation: {} } as never));
  });
});
