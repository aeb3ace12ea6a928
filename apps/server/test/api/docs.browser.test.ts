import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../harness.js';
import { skipOrFail } from '../prereq.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skipped = skipOrFail(
  'the /docs browser test',
  existsSync(CHROMIUM) ? undefined : `needs Chromium at ${CHROMIUM} (apt-get install chromium)`,
);

describe.skipIf(skipped)('the API browser at /docs, in a real Chromium', () => {
  let s: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    s = await startTestServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    }); // playwright gives each launch a fresh, empty profile
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  test('renders the spec and "Try it out" calls the running server', async () => {
    const page = await browser.newPage();
    await page.goto(`${s.url}/docs`);
    await page.getByText('Add an extension number event').first().waitFor({ timeout: 20_000 });
    expect(await page.title()).toContain('Swagger UI');
    // Every tag of the spec is a section.
    for (const tag of ['auth', 'events', 'deliveries', 'limits', 'calls', 'pbx', 'operations']) {
      await expect(page.locator(`#operations-tag-${tag}`).count()).resolves.toBe(1);
    }
    // The health check needs no token: open it and execute it from the page.
    await page.locator('#operations-operations-getHealth').click();
    await page.getByRole('button', { name: 'Execute' }).click();
    const live = page.locator('#operations-operations-getHealth .live-responses-table');
    await live.locator('tbody .response-col_status').first().waitFor({ timeout: 20_000 });
    expect((await live.locator('tbody .response-col_status').first().textContent())?.trim()).toBe('200');
    await expect(live.textContent()).resolves.toContain('"store": "ok"');
    await page.screenshot({ path: join(tmpdir(), 'callhook-docs.png'), fullPage: false });
  }, 60_000);

  test('"Authorize" with the client credentials, then "Try it out" on a secured operation', async () => {
    const page = await browser.newPage();
    const tokenRequests: Array<{ authorization: string | undefined; body: string | null }> = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/oauth/token'))
        tokenRequests.push({ authorization: r.headers().authorization, body: r.postData() });
    });
    await page.goto(`${s.url}/docs/`);
    await page.getByText('Add an extension number event').first().waitFor({ timeout: 20_000 });

    await page.locator('.auth-wrapper .authorize').click();
    // The oauth2 scheme's form: Swagger UI sends its credentials as HTTP Basic.
    const oauth = page.locator('.auth-container').filter({ hasText: 'clientCredentials' });
    await oauth.locator('input#client_id_clientCredentials').fill(s.demo!.clientId);
    await oauth.locator('input#client_secret_clientCredentials').fill(s.demo!.clientSecret);
    await oauth.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click();
    await oauth.getByRole('button', { name: 'Remove authorization' }).waitFor({ timeout: 20_000 });
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.authorization).toMatch(/^Basic /);
    await page.locator('.modal-ux .close-modal').click();

    const op = page.locator('#operations-events-listSubscriptions');
    // "Try it out" is on from the start (tryItOutEnabled): the parameters are editable at once.
    await op.locator('.opblock-summary').click();
    await op.locator('input[placeholder="extension_id"]').fill('175');
    await op.getByRole('button', { name: 'Execute' }).click();
    const status = op.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: 20_000 });
    expect((await status.textContent())?.trim()).toBe('200');
    await page.screenshot({ path: join(tmpdir(), 'callhook-docs-authorized.png'), fullPage: false });
  }, 60_000);
});
