// Writes schemas/distill.schema.json and schemas/sweep.schema.json from the TypeBox schemas (src/shared/config.ts,
// src/shared/sweepSchema.ts), the single source of truth. VS Code uses them for IntelliSense in *.distill.json and
// *.sweep.json; test/unit/schema.test.ts keeps them in sync.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configJsonSchema } from '../src/shared/config';
import { sweepJsonSchema } from '../src/shared/sweepSchema';

export const SCHEMA_FILE = path.join(__dirname, '..', 'schemas', 'distill.schema.json');
export const SWEEP_SCHEMA_FILE = path.join(__dirname, '..', 'schemas', 'sweep.schema.json');

export const schemaText = (): string => JSON.stringify(configJsonSchema(), null, 2) + '\n';
export const sweepSchemaText = (): string => JSON.stringify(sweepJsonSchema(), null, 2) + '\n';

if (require.main === module) {
  fs.mkdirSync(path.dirname(SCHEMA_FILE), { recursive: true });
  for (const [file, text] of [[SCHEMA_FILE, schemaText()], [SWEEP_SCHEMA_FILE, sweepSchemaText()]]) {
    fs.writeFileSync(file, text);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}
