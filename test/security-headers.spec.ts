import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { OrdersService } from '../src/orders/orders.service.js';
import { fetchToken, type RunningApp, startService } from './support/app-harness.js';
import { launchChromium } from './support/chromium.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

/**
 * docs/CONTRACT.md, security headers: every answer, whichever layer gives it, carries
 * `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`; the HTML pages carry a
 * CSP with `frame-ancestors 'none'` under which they still work in a browser, and cannot be framed.
 */
describe('security headers', () => {
  let redis: RedisServerHandle;
  let service: RunningApp;
  let withKeys: RunningApp;

  beforeAll(async () => {
    redis = await startRedis();
    service = await startService({ REDIS_URL: redis.url });
    withKeys = await startService({ REDIS_URL: redis.url, API_KEYS: 'alice:key-a' });
  }, 60_000);
  afterAll(async () => {
    await withKeys?.close();
    await service?.close();
    await redis?.stop();
  });

  const expectEveryAnswerHeaders = (response: request.Response) => {
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
  };

  describe('on every kind of answer', () => {
    const answers: [string, (url: string) => request.Test, number][] = [
      ['the token endpoint', (url) => request(url).get('/tokens'), 200],
      ['a validation problem', (url) => request(url).get('/tokens?ttl='), 400],
      ['HEAD /tokens', (url) => request(url).head('/tokens'), 405],
      ['an unknown route (Nest 404)', (url) => request(url).get('/no-such-page'), 404],
      ['a wrong method (answered from a hook)', (url) => request(url).delete('/tokens'), 405],
      ['a request without a token', (url) => request(url).post('/orders').send({}), 400],
      [
        'a body that is not JSON (answered by Nest middleware)',
        (url) => request(url).post('/orders').type('text/plain').send('x'),
        415,
      ],
      [
        'a malformed JSON body (answered by the parser)',
        (url) => request(url).post('/orders').type('json').send('{'),
        400,
      ],
      [
        'a body over the limit',
        (url) =>
          request(url)
            .post('/orders')
            .type('json')
            .send(JSON.stringify({ item: 'x'.repeat(1024 * 1024) })),
        413,
      ],
      ['/health', (url) => request(url).get('/health'), 200],
      ['/metrics', (url) => request(url).get('/metrics'), 200],
      ['/docs-json', (url) => request(url).get('/docs-json'), 200],
      ["a Swagger UI's script", (url) => request(url).get('/docs/swagger-ui-init.js'), 200],
    ];

    it.each(answers)('%s', async (_name, send, status) => {
      const response = await send(service.url);
      expect(response.status).toBe(status);
      expectEveryAnswerHeaders(response);
    });

    it('a first use and its replay', async () => {
      const token = await fetchToken(service.url, { scope: 'orders.create' });
      const send = () =>
        request(service.url)
          .post('/orders')
          .set('Idempotency-Token', token)
          .send({ item: 'book', quantity: 1 });
      const first = await send();
      const replay = await send();
      expect([first.status, replay.status]).toEqual([201, 201]);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expectEveryAnswerHeaders(first);
      expectEveryAnswerHeaders(replay);
    });

    it('a 401 without an API key', async () => {
      const response = await request(withKeys.url).get('/tokens');
      expect(response.status).toBe(401);
      expectEveryAnswerHeaders(response);
    });
  });

  it.each(['/', '/docs'])('%s is an HTML page that no other site may frame', async (path) => {
    const response = await request(service.url).get(path);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expectEveryAnswerHeaders(response);
    const policy = parsePolicy(response.headers['content-security-policy']);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.get('script-src')).not.toContain("'unsafe-inline'");
    expect(policy.get('object-src')).toEqual(["'none'"]);
    expect(response.headers['x-frame-options']).toBe('DENY');
  });

  describe('in a browser', () => {
    let browser: Browser;
    /** Another origin (another port), whose page frames the service's pages. */
    let framer: Server;
    let framerUrl: string;

    beforeAll(async () => {
      browser = await launchChromium();
      framer = createServer((req, res) => {
        const target = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.end(`<!doctype html><iframe id="framed" src="${encodeURI(target)}"></iframe>`);
      });
      await new Promise<void>((resolve) => framer.listen(0, '127.0.0.1', resolve));
      // `localhost`, not 127.0.0.1: another host as well as another port.
      framerUrl = `http://localhost:${(framer.address() as AddressInfo).port}/`;
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => framer?.close(resolve));
    });

    it('the demo page fetches a token and places an order, with no CSP violation', async () => {
      const { page, violations } = await pageReportingViolations(browser);
      const response = await page.goto(service.url);
      expect(parsePolicy(response!.headers()['content-security-policy']).has('script-src')).toBe(
        true,
      );
      // A locator, not waitForFunction: Playwright evals its predicate on every poll, which the CSP refuses.
      await page.locator('#token').filter({ hasText: '.' }).waitFor();
      const orders = service.app.get(OrdersService);
      const before = orders.count;
      await page.click('#place');
      await page.locator('#log li').first().waitFor();
      await expect(page.textContent('#log li')).resolves.toMatch(/^201 order /);
      expect(orders.count - before).toBe(1);
      expect(await violations()).toEqual([]);
      await page.close();
    }, 30_000);

    it('Swagger UI at /docs lists the operations, with no CSP violation', async () => {
      const { page, violations } = await pageReportingViolations(browser);
      const response = await page.goto(`${service.url}/docs`);
      expect(parsePolicy(response!.headers()['content-security-policy']).has('script-src')).toBe(
        true,
      );
      await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
      const operations = await page.locator('.opblock-summary-path').allTextContents();
      expect(operations).toEqual(expect.arrayContaining(['/tokens', '/orders']));
      // Expanding an operation renders its parameters and answers: more of Swagger UI's code runs.
      await page
        .locator('.opblock-summary-path', { hasText: /^\/tokens$/ })
        .first()
        .click();
      await page.locator('.opblock-body .responses-table').first().waitFor();
      expect(await violations()).toEqual([]);
      await page.close();
    }, 30_000);

    it.each(['/', '/docs'])(
      '%s cannot be framed by another origin',
      async (path) => {
        const page = await browser.newPage();
        const refused = page.waitForEvent('console', {
          predicate: (message) => message.text().includes("frame-ancestors 'none'"),
          timeout: 10_000,
        });
        await page.goto(`${framerUrl}?src=${encodeURIComponent(service.url + path)}`);
        await refused;
        // The frame's navigation was refused: Chromium leaves an error page in it, not the page.
        const frame = page.frames().find((candidate) => candidate !== page.mainFrame())!;
        expect(frame.url()).not.toBe(service.url + path);
        expect(await frame.$('#order-form, #swagger-ui')).toBeNull();
        await page.close();
      },
      30_000,
    );
  });
});

/** A CSP header as directive → sources. */
function parsePolicy(header: string | undefined): Map<string, string[]> {
  return new Map(
    (header ?? '')
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name!, sources]),
  );
}

/** A page that records every CSP violation: its console reports and `securitypolicyviolation` events. */
async function pageReportingViolations(
  browser: Browser,
): Promise<{ page: Page; violations: () => Promise<string[]> }> {
  const page = await browser.newPage();
  const reported: string[] = [];
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) reported.push(message.text());
  });
  // Init scripts are injected by the browser's debugging protocol, which the CSP does not govern.
  await page.addInitScript({
    content: `window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (event) =>
        window.cspViolations.push(event.violatedDirective + ' ' + event.blockedURI));`,
  });
  const violations = async () => [
    ...reported,
    ...(await page.evaluate<string[]>('window.cspViolations')),
  ];
  return { page, violations };
}
