// Writes openapi.json from the same document builder the app serves at /docs-json.
// Run through `npm run openapi:export` (which builds first); the test suite fails when the
// committed file differs from what the code produces.
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { AppModule } from '../dist/app.module.js';
import { createApp } from '../dist/app.setup.js';
import { loadConfig } from '../dist/config/app-config.js';
import { buildOpenApiDocument } from '../dist/openapi.js';

const OUTPUT = new URL('../openapi.json', import.meta.url);

const app = await createApp(AppModule.forRoot(loadConfig({ LOG_LEVEL: 'silent' })), {
  logger: false,
});
writeFileSync(OUTPUT, `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
await app.close();
console.log(`openapi-export: wrote ${OUTPUT.pathname}`);
