import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) {
  console.warn(
    `\n*** SKIPPED: the /docs browser test needs Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`,
  );
}

describe.skipIf(!haveBrowser)('the API browser at /docs, in a real Chromium', () => {
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
});
