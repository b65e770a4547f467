// Writes schemas/distill.schema.json from the TypeBox config schema (src/shared/config.ts), the single source of
// truth, and schemas/distill.editor.schema.json, the same without its constraints, which VS Code uses for
// IntelliSense in *.distill.json (Distill's own diagnostics check the constraints: one message per problem).
// test/unit/schema.test.ts keeps both in sync.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configJsonSchema } from '../src/shared/config';
import { editorSchema } from '../src/shared/editorSchema';

export const SCHEMA_FILE = path.join(__dirname, '..', 'schemas', 'distill.schema.json');
export const EDITOR_SCHEMA_FILE = path.join(__dirname, '..', 'schemas', 'distill.editor.schema.json');

export const schemaText = (): string => JSON.stringify(configJsonSchema(), null, 2) + '\n';
export const editorSchemaText = (): string => JSON.stringify(editorSchema(configJsonSchema() as Record<string, unknown>), null, 2) + '\n';

if (require.main === module) {
  fs.mkdirSync(path.dirname(SCHEMA_FILE), { recursive: true });
  fs.writeFileSync(SCHEMA_FILE, schemaText());
  fs.writeFileSync(EDITOR_SCHEMA_FILE, editorSchemaText());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)} and ${path.relative(process.cwd(), EDITOR_SCHEMA_FILE)}`);
}
