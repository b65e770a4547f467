// Writes schemas/distill.schema.json from the TypeBox config schema (src/shared/config.ts), the single source of
// truth. VS Code uses the file for IntelliSense in *.distill.json; test/unit/schema.test.ts keeps it in sync.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configJsonSchema } from '../src/shared/config';

export const SCHEMA_FILE = path.join(__dirname, '..', 'schemas', 'distill.schema.json');

export const schemaText = (): string => JSON.stringify(configJsonSchema(), null, 2) + '\n';

if (require.main === module) {
  fs.mkdirSync(path.dirname(SCHEMA_FILE), { recursive: true });
  fs.writeFileSync(SCHEMA_FILE, schemaText());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
