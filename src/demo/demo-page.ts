import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The demo page, read once at start; `nest build` copies it beside this file. */
export const DEMO_PAGE = readFileSync(new URL('./index.html', import.meta.url), 'utf8');

/**
 * CSP sources that admit the page's inline scripts and nothing else inline: the page stays one
 * file, and the policy needs no `'unsafe-inline'` for scripts. A browser hashes the exact text
 * between the tags, so editing the script changes its hash here too.
 */
export const DEMO_SCRIPT_HASHES: string[] = [
  ...DEMO_PAGE.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g),
].map(([, script]) => `'sha256-${createHash('sha256').update(script!).digest('base64')}'`);
