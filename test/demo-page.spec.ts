import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { OrdersService } from '../src/orders/orders.service.js';
import { type RunningApp, startService } from './support/app-harness.js';
import { launchChromium } from './support/chromium.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

const SCREENSHOTS = new URL('../test-output/', import.meta.url);

/**
 * The demo page in Debian's Chromium (installed by `npm test` through scripts/ensure-chromium.sh):
 * a triple click on "Place order" makes one order, and the page says so.
 */
describe('the demo page in a browser', () => {
  let server: RedisServerHandle;
  let service: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    server = await startRedis();
    service = await startService({ REDIS_URL: server.url });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await service.close();
    await server.stop();
  });

  it("places exactly one order for three quick clicks, shows it, and takes the next order's token from its answer", async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    await page.goto(service.url);
    // Locators, not waitForFunction: Playwright evals its predicate on every poll, which the
    // page's CSP (no 'unsafe-eval') refuses.
    const token = page.locator('#token').filter({ hasText: '.' });
    await token.waitFor();
    const firstToken = await page.textContent('#token');
    const orders = service.app.get(OrdersService);
    const before = orders.count;

    const place = page.locator('#place');
    await Promise.all([
      place.click({ noWaitAfter: true }),
      place.click({ noWaitAfter: true }),
      place.click({ noWaitAfter: true }),
    ]);
    // Three final answers; on a busy machine a click may first be told "still in progress".
    const finalAnswers = page.locator('#log li').filter({ hasText: /^[0-9]{3}/ });
    await finalAnswers.nth(2).waitFor({ timeout: 15_000 });

    expect(orders.count - before).toBe(1);
    const log = (await page.locator('#log li').allTextContents()).filter((line) =>
      /^[0-9]{3}/.test(line),
    );
    const ids = new Set(log.map((line) => /order ([0-9a-f-]{36})/.exec(line)?.[1]));
    expect(ids.size).toBe(1);
    expect(log.filter((line) => line.startsWith('201 order'))).toHaveLength(1);
    expect(log.filter((line) => line.includes('(replayed)'))).toHaveLength(2);
    await expect(page.textContent('#result-title')).resolves.toContain('Order placed');
    await expect(page.textContent('#result-body')).resolves.toContain([...ids][0]!);

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: new URL('demo-page.png', SCREENSHOTS).pathname, fullPage: true });

    // Token rotation: the first answer handed on the next order's token, so no GET /tokens.
    const tokenFetches: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/tokens') tokenFetches.push(request.url());
    });
    await page.click('#new-order');
    await token.filter({ hasNotText: firstToken! }).waitFor();
    await expect(page.textContent('#token')).resolves.toContain('handed on by the last answer');
    await place.click();
    await page.locator('#log li').first().waitFor();
    expect(orders.count - before).toBe(2);
    expect(tokenFetches).toEqual([]);
  }, 60_000);

  it("runs the client package's token layer in the page, with a base URL relative to the page", async () => {
    const page = await browser.newPage();
    // The built ES modules of @idempotency-tokens/client, served from the service's own origin
    // as a bundler would ship them; the token layer imports nothing outside its package.
    const dist = new URL('../packages/client/dist/', import.meta.url);
    await page.route('**/test-client/*.js', (route) =>
      route.fulfill({
        contentType: 'text/javascript',
        body: readFileSync(
          new URL(new URL(route.request().url()).pathname.split('/').pop()!, dist),
        ),
      }),
    );
    await page.goto(service.url);
    const orders = service.app.get(OrdersService);
    const before = orders.count;
    const answer = await page.evaluate(async (moduleUrl) => {
      const { withIdempotency } = await import(moduleUrl);
      const idempotentFetch = withIdempotency({
        baseUrl: '',
        operations: { 'POST /orders': { scope: 'orders.create', replay: true } },
      });
      const response = await idempotentFetch('/orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item: 'from the browser', quantity: 1 }),
      });
      return { status: response.status, body: await response.json() };
    }, `${service.url}/test-client/token-layer.js`);
    expect(answer).toMatchObject({ status: 201, body: { item: 'from the browser', quantity: 1 } });
    expect(orders.count - before).toBe(1);
  }, 30_000);
});
