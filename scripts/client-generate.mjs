// Writes the typed client's generated files (see client-generator.mjs) from the committed
// openapi.json. Run through `npm run client:generate`, which refreshes openapi.json first.
import { readFileSync, writeFileSync } from 'node:fs';
import { generateClientFiles } from './client-generator.mjs';

const root = new URL('../', import.meta.url);
const spec = JSON.parse(readFileSync(new URL('openapi.json', root), 'utf8'));
for (const [file, text] of Object.entries(await generateClientFiles(spec))) {
  writeFileSync(new URL(file, root), text);
  console.log(`client-generate: wrote ${file}`);
}
