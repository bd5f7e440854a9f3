import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateClient } from './generate.js';

const USAGE = `Usage: idempotency-tokens-client generate <openapi.json | http(s)://…/docs-json> --out <dir>

Writes a typed client for the document to <dir>: schema.d.ts (paths and schemas), operations.ts
(the operations marked x-idempotency) and index.ts (createClient). Import it from your code:
  import { createClient } from './<dir>/index.js';
  const api = createClient({ baseUrl: 'https://api.example.com' });`;

async function readDocument(source: string): Promise<object> {
  if (/^https?:\/\//.test(source)) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`${source} answered ${response.status}`);
    return (await response.json()) as object;
  }
  return JSON.parse(await readFile(source, 'utf8')) as object;
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  const [command, source] = positionals;
  if (values.help || command !== 'generate' || !source || !values.out) {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const files = await generateClient(await readDocument(source));
  await mkdir(values.out, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(values.out, name), text);
    console.log(`wrote ${join(values.out, name)}`);
  }
}

main(process.argv.slice(2)).catch((error: Error) => {
  console.error(`idempotency-tokens-client: ${error.message}`);
  process.exitCode = 1;
});
