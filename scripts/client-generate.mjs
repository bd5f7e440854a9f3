// Writes the service's typed client to client/ from the committed openapi.json, with the same
// generator any team runs on its own API (`npx idempotency-tokens-client generate`). Run through
// `npm run client:generate`, which refreshes openapi.json first; the tests fail when client/ drifts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { generateClient } from '@idempotency-tokens/client/generate';

const root = new URL('../', import.meta.url);
const spec = JSON.parse(readFileSync(new URL('openapi.json', root), 'utf8'));
mkdirSync(new URL('client/', root), { recursive: true });
for (const [file, text] of Object.entries(await generateClient(spec))) {
  writeFileSync(new URL(`client/${file}`, root), text);
  console.log(`client-generate: wrote client/${file}`);
}
