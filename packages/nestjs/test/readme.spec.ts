import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';

describe('the package README', () => {
  it('shows the e2e test that runs in CI, word for word', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./orders.e2e.spec.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });
});
