/** The backend facts of src/shared/backends.ts, and the places outside TypeScript that must repeat them. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AUTO_DESCRIPTION, BACKEND_INFO, BACKENDS, backendDescriptions, LADDER, OPTIONAL_MODULES_SETTING } from '../../src/shared/backends';
import { configJsonSchema } from '../../src/shared/config';

interface SettingSchema {
  enum?: string[];
  markdownEnumDescriptions?: string[];
  markdownDescription?: string;
}

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, SettingSchema> } };
};
const setting = (key: string): SettingSchema => {
  const schema = manifest.contributes.configuration.properties[key];
  assert.ok(schema, `package.json contributes no setting ${key}`);
  return schema;
};

describe('backends: one home for their facts', () => {
  it("package.json's distill.engine.backend lists every backend, in ladder order, with the config's descriptions", () => {
    const backend = setting('distill.engine.backend');
    assert.deepEqual(backend.enum, ['', ...BACKENDS], 'edit package.json to match src/shared/backends.ts BACKENDS');
    assert.deepEqual(
      backend.markdownEnumDescriptions,
      ["Use the config's `engine.backend`.", ...BACKENDS.map((b) => backendDescriptions()[b])],
      'edit package.json to match src/shared/backends.ts (AUTO_DESCRIPTION, BACKEND_INFO descriptions)',
    );
  });

  it('the config schema describes engine.backend with the same words', () => {
    const engine = (configJsonSchema().properties as Record<string, { properties: Record<string, SettingSchema> }>).engine;
    assert.deepEqual(engine.properties.backend.enum, [...BACKENDS]);
    assert.deepEqual(engine.properties.backend.markdownEnumDescriptions, [AUTO_DESCRIPTION, ...LADDER.map((b) => BACKEND_INFO[b].description)]);
  });

  it(`the ${OPTIONAL_MODULES_SETTING} setting names every optional package`, () => {
    const description = setting(OPTIONAL_MODULES_SETTING).markdownDescription ?? '';
    for (const pkg of LADDER.flatMap((b) => BACKEND_INFO[b].optionalPackages)) {
      assert.ok(description.includes(`\`${pkg}\``), `${OPTIONAL_MODULES_SETTING}'s description does not mention ${pkg}`);
    }
  });

  it('auto walks the whole ladder, and the ladder names every backend but auto once', () => {
    assert.equal(new Set(LADDER).size, LADDER.length);
    assert.deepEqual([...BACKENDS], ['auto', ...LADDER]);
    for (const b of LADDER) assert.ok(AUTO_DESCRIPTION.includes(b), b);
  });
});
