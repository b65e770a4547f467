// The committed schema (used by VS Code for *.distill.json IntelliSense) must be what the TypeBox config generates.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { SCHEMA_FILE, schemaText, SWEEP_SCHEMA_FILE, sweepSchemaText } from '../../scripts/gen-schema';

describe('schemas/distill.schema.json', () => {
  it('equals the schema generated from src/shared/config.ts (run `npm run schema` after changing the config)', () => {
    assert.equal(fs.readFileSync(SCHEMA_FILE, 'utf8'), schemaText());
  });

  it('schemas/sweep.schema.json equals the schema generated from src/shared/sweepSchema.ts', () => {
    assert.equal(fs.readFileSync(SWEEP_SCHEMA_FILE, 'utf8'), sweepSchemaText());
  });

  it('documents every field, as VS Code shows on hover', () => {
    const undocumented: string[] = [];
    const walk = (node: Record<string, unknown>, at: string) => {
      for (const [key, child] of Object.entries((node.properties as Record<string, Record<string, unknown>>) ?? {})) {
        if (typeof child.markdownDescription !== 'string') undocumented.push(`${at}${key}`);
        walk(child, `${at}${key}.`);
      }
      for (const branch of (node.anyOf as Record<string, unknown>[]) ?? []) walk(branch, at);
      if (node.items) walk(node.items as Record<string, unknown>, `${at}[].`);
    };
    walk(JSON.parse(schemaText()), '');
    walk(JSON.parse(sweepSchemaText()), 'sweep:');
    assert.deepEqual(undocumented, []);
  });
});
