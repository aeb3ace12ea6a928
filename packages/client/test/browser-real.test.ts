import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, startTestServer, type TestServer } from './support.js';

/**
 * "Runs in browsers", shown in one: the library is bundled for the browser (Vite, no Node
 * polyfills), loaded by a page in Debian's Chromium, and used there against the real server on
 * loopback: a token from client credentials, a subscription made, listed and read back, and an
 * API error as the typed error. Without Chromium this skips loudly, and fails in CI (CI=true).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? undefined : `needs Chromium at ${CHROMIUM} (apt-get install chromium)`;
const WHAT = 'the client in a real browser';
if (missing && process.env.CI === 'true') {
  test(`${WHAT}: its prerequisite is here (CI=true does not skip)`, () => {
    throw new Error(`${WHAT} cannot run in CI: ${missing}`);
  });
} else if (missing) {
  console.log(`\n*** SKIPPED: ${WHAT} (${missing}) ***\n`);
}

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.ts');

describe.skipIf(missing !== undefined)(WHAT, () => {
  let server: TestServer;
  let browser: Browser;
  let bundle: string;
  beforeAll(async () => {
    server = await startTestServer();
    const out = await build({
      configFile: false,
      logLevel: 'silent',
      build: {
        write: false,
        minify: false,
        target: 'es2022',
        lib: { entry, formats: ['es'], fileName: 'client' },
      },
    });
    const result = Array.isArray(out) ? out[0]! : out;
    const chunk = (result as { output: Array<{ type: string; code?: string }> }).output.find(
      (o) => o.type === 'chunk',
    );
    bundle = chunk!.code!;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('the browser bundle has no Node imports', () => {
    expect(bundle).toContain('createCallhookClient');
    expect(bundle).not.toMatch(/from ['"](node:|fs|path|http|crypto)['"]/);
    expect(bundle).not.toMatch(/\brequire\(/);
  });

  test('a page uses the bundled client against the real server: token, create, list, get, typed error', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    try {
      // The page and the bundle are served at the API's own origin (no CORS in the way); every
      // other request from the page goes to the real server.
      await page.route(`${server.url}/__browser-test/**`, (route) => {
        const path = new URL(route.request().url()).pathname;
        if (path.endsWith('/client.js'))
          return route.fulfill({ contentType: 'text/javascript', body: bundle });
        return route.fulfill({
          contentType: 'text/html',
          body: '<!doctype html><title>client</title><script type="module">import * as lib from "./client.js"; window.callhook = lib;</script>',
        });
      });
      await page.goto(`${server.url}/__browser-test/index.html`);
      await page
        .waitForFunction(() => 'callhook' in window, undefined, { timeout: 10_000 })
        .catch((err: Error) => {
          throw new Error(`the bundle did not load in the page: ${pageErrors.join('; ') || err.message}`);
        });
      const result = await page.evaluate(
        async ({ clientId, clientSecret }) => {
          // The bundle's exports, as the page's module script loaded them.
          const lib = (window as unknown as { callhook: typeof import('../src/index.js') }).callhook;
          const client = lib.createCallhookClient({ baseUrl: location.origin, clientId, clientSecret });
          const created = await client.subscriptions.create(175, {
            url: 'http://127.0.0.1:9/from-the-browser?myid=175',
            method: 'GET',
            event_type: 'answer',
          });
          const list = await client.subscriptions.list(175);
          const one = await client.subscriptions.get(175, created.id);
          let error: { name: string; status: number; isApiError: boolean } | undefined;
          try {
            await client.subscriptions.get(175, 999_999);
          } catch (e) {
            const err = e as { name: string; status: number };
            error = { name: err.name, status: err.status, isApiError: e instanceof lib.CallhookApiError };
          }
          return {
            created,
            listed: list.map((s: { id: number }) => s.id),
            one,
            error,
            userAgent: navigator.userAgent,
            nodeGlobals: typeof (globalThis as { process?: unknown }).process,
          };
        },
        { clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET },
      );
      expect(result.userAgent).toContain('HeadlessChrome');
      expect(result.nodeGlobals).toBe('undefined');
      expect(result.created).toMatchObject({
        url: 'http://127.0.0.1:9/from-the-browser?myid=175',
        method: 'GET',
        event_type: 'answer',
        enabled: true,
      });
      expect(result.created.secret).toMatch(/^whsec_/);
      expect(result.listed).toContain(result.created.id);
      expect(result.one).toMatchObject({ id: result.created.id, url: result.created.url });
      expect(result.error).toEqual({ name: 'CallhookApiError', status: 404, isApiError: true });
      // The server saw it: the subscription is in its store.
      const stored = await server.store.subscriptions.get(175, result.created.id);
      expect(stored?.url).toBe('http://127.0.0.1:9/from-the-browser?myid=175');
    } finally {
      await page.close();
    }
  });
});
