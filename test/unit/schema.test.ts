// The committed schema (used by VS Code for *.distill.json IntelliSense) must be what the TypeBox config generates.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { EDITOR_SCHEMA_FILE, editorSchemaText, SCHEMA_FILE, schemaText, SWEEP_SCHEMA_FILE, sweepSchemaText } from '../../scripts/gen-schema';

describe('schemas/distill.schema.json', () => {
  it('equals the schema generated from src/shared/config.ts (run `npm run schema` after changing the config)', () => {
    assert.equal(fs.readFileSync(SCHEMA_FILE, 'utf8'), schemaText());
    assert.equal(fs.readFileSync(EDITOR_SCHEMA_FILE, 'utf8'), editorSchemaText());
  });

  it("the editor's copy keeps documentation, completion values and snippets, and no constraint (ours report them, once)", () => {
    const editor = JSON.parse(editorSchemaText()) as Record<string, unknown>;
    const text = JSON.stringify(editor);
    for (const keyword of ['"minimum"', '"maximum"', '"exclusiveMinimum"', '"required"', '"additionalProperties"', '"minItems"'])
      assert.ok(!text.includes(keyword), `${keyword} is still in the editor schema`);
    assert.ok(text.includes('"forward-kl"') && text.includes('markdownEnumDescriptions'), 'enum values and their docs for completion');
    assert.ok(text.includes('"defaultSnippets"'));
    assert.equal(
      (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { contributes: { jsonValidation: { url: string }[] } }).contributes.jsonValidation[0].url,
      './schemas/distill.editor.schema.json',
    );
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
