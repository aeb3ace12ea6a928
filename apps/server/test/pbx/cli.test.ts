import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../harness.js';
import { type Receiver, startReceiver } from '../receivers.js';
import { ensureBuilt, root, runScript } from './built.js';

/** `callhook-server simulate` as an operator runs it, against a server running elsewhere. */
const cli = join(root, 'dist', 'cli.js');
let s: TestServer;
let hook: Receiver;
let creds: Record<string, string>;

beforeAll(async () => {
  await ensureBuilt(cli);
  s = await startTestServer({ config: { simulator: true } });
  hook = await startReceiver();
  for (const type of ['dial-out', 'dial-in', 'answer', 'hangup'])
    await s.subscribe(`${hook.url}/h`, type, 'POST', 175);
  creds = { CALLHOOK_CLIENT_ID: s.demo!.clientId, CALLHOOK_CLIENT_SECRET: s.demo!.clientSecret };
}, 120_000);
afterAll(async () => {
  await s?.stop();
  await hook?.close();
});

const simulate = (args: string[], env: Record<string, string> = creds) =>
  runScript(cli, ['simulate', '--server', s.url, ...args], env);

describe('callhook-server simulate', () => {
  test("one scenario: the page's call, started on the server, its events delivered", async () => {
    const r = await simulate([
      '--scenario',
      'outgoing',
      '--extension',
      '175',
      '--number',
      '00010005',
      '--speed',
      '50',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const callId = /call_id\s+([0-9a-f]{32})/.exec(r.stdout)?.[1];
    expect(r.stdout).toMatch(/^started outgoing\s+175 → 00010005/);
    expect(r.stdout).toMatch(/events\s+3/);
    expect(callId).toBeDefined();
    await hook.waitFor(3);
    const types = hook.received
      .map((q) => new URLSearchParams(q.body))
      .filter((f) => f.get('CallID') === callId)
      .map((f) => f.get('EventType'));
    expect(types).toEqual(['dial-out', 'answer', 'hangup']);
  });

  test('a random mix at a rate, bounded by a count: every call started, a summary', async () => {
    const r = await simulate(['--mix', '--rate', '50', '--count', '25', '--speed', '200', '--seed', '7']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const started = r.stdout.split('\n').filter((l) => /^\s+\d+\s+\S+/.test(l) && l.includes('call '));
    expect(started).toHaveLength(25);
    expect(r.stdout).toMatch(/^25 calls started in \d+\.\d s \(\d+\.\d\/s\), 0 refused, \d+ events$/m);
    expect(r.stdout).toMatch(/by scenario: /);
    expect(r.stdout).toMatch(/by outcome: /);
  });

  test('bounded by a duration, quiet: only the summary', async () => {
    const r = await simulate(['--mix', '--rate', '20', '--duration', '0.5', '--speed', '200', '--quiet']);
    expect(r.code).toBe(0);
    // 20/s for half a second: at most 10 starts (the bound holds); a loaded machine's timers may
    // fire late and start fewer, which is no fault of the bound.
    const started = Number(/^(\d+) calls started in 0\.\d s/m.exec(r.stdout)?.[1]);
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThanOrEqual(10);
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(5);
  });

  test('refusals and mistakes: exit 1 with the reason, exit 2 for usage', async () => {
    const refused = await simulate(['--scenario', 'ivr', '--extension', '175']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused the scenario: extension_id: is a phone extension/);
    const unbounded = await simulate(['--mix', '--rate', '5']);
    expect(unbounded.code).toBe(2);
    expect(unbounded.stderr).toMatch(/needs a bound/);
    const anonymous = await simulate(['--extension', '175'], {});
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toMatch(/--client-id and --client-secret/);
    const wrong = await simulate(['--extension', '175'], { ...creds, CALLHOOK_CLIENT_SECRET: 'nope' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused the credentials \(401\)/);
  });
});
