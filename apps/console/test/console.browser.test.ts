import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningServer, startServer } from '@callhook/server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

// The console as a newcomer uses it, in a real Chromium against a real server (demo mode, its
// simulator on) and a real receiver on loopback: sign in, subscribe, place a call, watch it
// live, break the receiver, read the failed attempt, retry it. Screenshots of the main pages are
// kept in apps/console/screenshots/ (the README shows them).

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
const here = dirname(fileURLToPath(import.meta.url));
// The committed screenshots are renewed on request (`pnpm --filter @callhook/console screenshots`);
// an ordinary test run leaves the checkout as it was and writes them to a temporary directory.
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? join(here, '..', 'screenshots')
  : join(tmpdir(), 'callhook-console-screenshots');
const BUILT = existsSync(join(here, '..', 'dist', 'index.html'));

if (!haveBrowser) {
  const line = `*** SKIPPED: the console's browser test needs Chromium at ${CHROMIUM} (apt-get install chromium) ***`;
  console.warn(`\n${'*'.repeat(line.length)}\n${line}\n${'*'.repeat(line.length)}\n`);
  // CI installs Chromium (.ci/run): there, a missing browser is a failure, not a skip.
  if (process.env.CI === 'true') throw new Error(`CI=true and no Chromium at ${CHROMIUM}`);
}

const FAILURE = 'mount the webhook receiver before body parsers';

/** A receiver on loopback that answers 200, or 500 with a body while `failing`. */
async function startReceiver() {
  const state = { failing: false, received: 0 };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.received++;
      if (state.failing) {
        res.writeHead(500, { 'content-type': 'text/plain', 'x-receiver': 'test' });
        res.end(`Error: ${FAILURE}`);
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/calls`,
    state,
    close: () => new Promise((r) => server.close(r)),
  };
}

describe.skipIf(!haveBrowser)('the console, in a real Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dataDir: string;
  const problems: string[] = [];

  beforeAll(async () => {
    expect(BUILT, 'apps/console/dist is built (turbo builds it before the test)').toBe(true);
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'callhook-console-'));
    receiver = await startReceiver();
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      demo: true,
      logLevel: 'silent',
      // No retries: a failed attempt makes a failed delivery at once, for the user to retry.
      config: { retrySchedule: [], deliveryPollMs: 50, simulator: true, validateResponses: true },
      env: {},
    });
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
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await receiver?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Fails the test on any console error, uncaught error, failed request or 4xx/5xx answer. */
  function watch(page: Page): void {
    page.on('console', (m) => {
      // Chromium also logs each 4xx/5xx answer; those are checked below, by request.
      if (m.text().startsWith('Failed to load resource')) return;
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      // The event stream is closed on purpose when the view changes.
      if (r.url().includes('/stream/') && r.failure()?.errorText === 'net::ERR_ABORTED') return;
      problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });
  }

  test('sign in, subscribe, place a call and watch it live, see a failure and retry it', async () => {
    const context = await browser.newContext({
      viewport: { width: 1366, height: 900 },
      colorScheme: 'light',
    });
    const page = await context.newPage();
    watch(page);

    // Sign in with the demo credentials npm start prints.
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('Client id').fill(server.demo!.clientId);
    await page.getByLabel('Client secret').fill(server.demo!.clientSecret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Subscriptions of extension 175' }).waitFor();

    // Subscribe the receiver to dial-out, answer and hangup: one subscription per event type.
    await page.getByLabel('URL').fill(receiver.url);
    await page.getByLabel('Method').selectOption('POST');
    for (const t of ['dial-out', 'answer', 'hangup']) await page.getByRole('checkbox', { name: t }).check();
    await page.getByRole('button', { name: 'Create' }).click();
    // One endpoint, one signing secret: shown once, for the three subscriptions it signs.
    await expect.poll(() => page.getByTestId('secret').count()).toBe(1);
    expect(await page.getByTestId('secret').textContent()).toMatch(/^whsec_/);
    expect(await page.locator('li', { has: page.getByTestId('secret') }).textContent()).toMatch(
      /dial-out, #\d+ answer, #\d+ hangup/,
    );
    await expect.poll(() => page.locator('tbody tr[data-testid^="subscription-"]').count()).toBe(3);
    await expect.poll(() => page.getByTestId('limits').textContent()).toMatch(/This extension: 3 of/);

    // A bad URL: the API's message shows at the field it names.
    await page.getByLabel('URL').fill('ftp://example.com/x');
    await page.getByRole('checkbox', { name: 'voicemail' }).check();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('.field-error').first().waitFor();
    expect(await page.getByLabel('URL').getAttribute('aria-invalid')).toBe('true');
    problems.splice(0); // that 400 was asked for
    await page.screenshot({ path: join(SHOTS, 'subscriptions.png'), fullPage: true });

    // Calls live: place the page's call with the simulator and watch it arrive.
    await page.getByRole('link', { name: 'Calls live' }).click();
    await expect.poll(() => page.getByTestId('stream-state').textContent()).toBe('Live');
    await page.getByText("Place a call (demo mode's simulator)").click();
    await page.getByLabel('Speed').fill('20');
    await page.getByRole('button', { name: 'Place the call' }).click();
    const firstCall = page.getByTestId('call').first();
    await expect.poll(() => firstCall.getByTestId('call-event').count(), { timeout: 15_000 }).toBe(3);
    await expect
      .poll(() => firstCall.locator('[data-testid="event-delivery"][data-status="succeeded"]').count(), {
        timeout: 15_000,
      })
      .toBe(3);
    expect(
      await firstCall
        .getByTestId('call-event')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-event-type'))),
    ).toEqual(['dial-out', 'answer', 'hangup']);
    await expect.poll(() => firstCall.textContent()).toContain('ANSWER');
    expect(receiver.state.received).toBe(3);
    await page.screenshot({ path: join(SHOTS, 'calls-live.png'), fullPage: true });

    // The receiver breaks: the next call's deliveries fail, each with the receiver's answer kept.
    receiver.state.failing = true;
    await page.getByRole('button', { name: 'Place the call' }).click();
    await expect.poll(() => page.getByTestId('call').count(), { timeout: 15_000 }).toBe(2);
    const secondCall = page.getByTestId('call').first();
    await expect
      .poll(() => secondCall.locator('[data-testid="event-delivery"][data-status="failed"]').count(), {
        timeout: 15_000,
      })
      .toBe(3);
    await secondCall.locator('[data-testid="event-delivery"][data-status="failed"]').first().click();
    const detail = secondCall.getByTestId('delivery-detail');
    await detail.getByTestId('attempt').first().waitFor();
    expect(await detail.getByTestId('attempt').first().getAttribute('data-outcome')).toBe('http_error');
    await expect.poll(() => detail.getByTestId('response-body').first().textContent()).toContain(FAILURE);
    expect(await detail.textContent()).toContain('x-receiver');
    expect(await detail.textContent()).toContain('v1,…'); // the signature is redacted
    await detail.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'delivery-failed.png'), fullPage: true });

    // Fixed: retry it, and it succeeds.
    receiver.state.failing = false;
    await detail.getByRole('button', { name: 'Retry now' }).click();
    await expect.poll(() => detail.getByTestId('attempt').count(), { timeout: 15_000 }).toBe(2);
    expect(await detail.getByTestId('attempt').first().getAttribute('data-outcome')).toBe('success');
    await expect
      .poll(() => secondCall.locator('[data-testid="event-delivery"][data-status="succeeded"]').count(), {
        timeout: 15_000,
      })
      .toBe(1);

    // The delivery log of the extension: the other two failed ones, filtered by status.
    await page.getByRole('link', { name: 'Deliveries' }).click();
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect
      .poll(() => page.locator('[data-testid="delivery-row"][data-status="failed"]').count())
      .toBe(2);
    expect(await page.getByTestId('delivery-row').count()).toBe(2);
    await page.getByTestId('delivery-row').first().getByRole('button').click();
    await page.getByTestId('delivery-detail').getByTestId('attempt').first().waitFor();
    await page.screenshot({ path: join(SHOTS, 'deliveries.png'), fullPage: true });

    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  test('dark and narrow: the calls view on a phone in dark mode', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
      deviceScaleFactor: 2,
    });
    const page = await context.newPage();
    watch(page);
    await page.goto(`${server.url}/console/#/calls`);
    await page.getByLabel('Client id').fill(server.demo!.clientId);
    await page.getByLabel('Client secret').fill(server.demo!.clientSecret);
    // Keyboard only: Enter submits the form.
    await page.getByLabel('Client secret').press('Enter');
    await expect.poll(() => page.getByTestId('stream-state').textContent()).toBe('Live');
    // The backlog shows the calls already made.
    await expect.poll(() => page.getByTestId('call').count()).toBe(2);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).not.toBe('rgb(246, 247, 249)');
    // Nothing wider than the phone's screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, 'calls-phone-dark.png'), fullPage: false });
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
