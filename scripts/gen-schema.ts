// Writes schemas/distill.schema.json and schemas/sweep.schema.json from the TypeBox schemas (src/shared/config.ts,
// src/shared/sweepSchema.ts), the single source of truth, and schemas/distill.editor.schema.json: the config schema
// without its constraints, which VS Code uses for IntelliSense in *.distill.json (Distill's own diagnostics check the
// constraints: one message per problem). test/unit/schema.test.ts keeps them in sync.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configJsonSchema } from '../src/shared/config';
import { editorSchema } from '../src/shared/editorSchema';
import { sweepJsonSchema } from '../src/shared/sweepSchema';

export const SCHEMA_FILE = path.join(__dirname, '..', 'schemas', 'distill.schema.json');
export const EDITOR_SCHEMA_FILE = path.join(__dirname, '..', 'schemas', 'distill.editor.schema.json');
export const SWEEP_SCHEMA_FILE = path.join(__dirname, '..', 'schemas', 'sweep.schema.json');

export const schemaText = (): string => JSON.stringify(configJsonSchema(), null, 2) + '\n';
export const editorSchemaText = (): string => JSON.stringify(editorSchema(configJsonSchema() as Record<string, unknown>), null, 2) + '\n';
export const sweepSchemaText = (): string => JSON.stringify(sweepJsonSchema(), null, 2) + '\n';

if (require.main === module) {
  fs.mkdirSync(path.dirname(SCHEMA_FILE), { recursive: true });
  for (const [file, text] of [
    [SCHEMA_FILE, schemaText()],
    [EDITOR_SCHEMA_FILE, editorSchemaText()],
    [SWEEP_SCHEMA_FILE, sweepSchemaText()],
  ]) {
    fs.writeFileSync(file, text);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}
