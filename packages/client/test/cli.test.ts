import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeliveryPage, Limits, Subscription, SubscriptionCreated } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallhookClient } from '../src/index.js';
import { callhook } from './cli.js';
import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  demoClient,
  eventually,
  hangupEvent,
  startTarget,
  startTestServer,
  type TestServer,
} from './support.js';

describe('callhook CLI', () => {
  let server: TestServer;
  let client: CallhookClient;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startTestServer({ config: { retrySchedule: [], deliveryPollMs: 20 } });
    client = demoClient(server, { pbxKey: server.pbxKey });
    env = {
      CALLHOOK_URL: server.url,
      CALLHOOK_CLIENT_ID: DEMO_CLIENT_ID,
      CALLHOOK_CLIENT_SECRET: DEMO_CLIENT_SECRET,
    };
  });
  afterAll(async () => {
    await server?.stop();
  });

  const json = async <T>(args: string[]): Promise<T> => {
    const result = await callhook([...args, '--json'], env);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    return JSON.parse(result.stdout) as T;
  };

  it('manages subscriptions: add, list, get, update, rm, clear', async () => {
    const url = 'https://somehost.com/fordel/show.php?myid=175';
    const created = await json<SubscriptionCreated[]>([
      'events',
      'add',
      '-e',
      '175',
      '--url',
      url,
      '--event',
      'dial-out,answer,hangup',
      '--method',
      'GET',
    ]);
    expect(created.map((s) => s.event_type)).toEqual(['dial-out', 'answer', 'hangup']);
    expect(created.every((s) => s.secret.startsWith('whsec_') && s.url === url)).toBe(true);

    const table = await callhook(['events', 'list', '--extension', '175'], env);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+EVENT\s+METHOD\s+URL\s+ENABLED$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(1, 3).join(' '))).toEqual([
      'dial-out GET',
      'answer GET',
      'hangup GET',
    ]);

    const id = String(created[0]!.id);
    expect(await json<Subscription>(['events', 'get', id, '-e', '175'])).toMatchObject({
      id: created[0]!.id,
      event_type: 'dial-out',
    });
    expect(
      await json<Subscription>(['events', 'update', id, '-e', '175', '--method', 'post', '--disable']),
    ).toMatchObject({ method: 'POST', enabled: false });
    const human = await callhook(['events', 'get', id, '-e', '175'], env);
    expect(human.stdout).toMatch(/^enabled\s+no$/m);

    const rm = await callhook(['events', 'rm', id, '-e', '175'], env);
    expect(rm).toMatchObject({ code: 0, stdout: `Deleted subscription ${id}.\n` });
    expect((await json<Subscription[]>(['events', 'list', '-e', '175'])).map((s) => s.id)).toEqual(
      created.slice(1).map((s) => s.id),
    );

    expect(await callhook(['events', 'clear', '-e', '175'], env)).toMatchObject({ code: 0 });
    expect(await client.subscriptions.list(175)).toEqual([]);
    expect((await callhook(['events', 'list', '-e', '175'], env)).stdout).toBe(
      'No subscriptions on extension 175.\n',
    );
  });

  it('rotates a secret and shows the limits', async () => {
    const sub = await client.subscriptions.create(175, {
      url: 'https://example.com/h',
      event_type: 'hangup',
      method: 'POST',
    });
    const rotated = await json<{ secret: string }>([
      'secret',
      'rotate',
      String(sub.id),
      '-e',
      '175',
      '--grace',
      '60',
    ]);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(sub.secret);

    const limits = await json<Limits>(['limits']);
    expect(limits.subscriptions.client_used).toBe(1);
    const human = await callhook(['limits'], env);
    expect(human.stdout).toMatch(/^subscriptions\s+1 of \d+$/m);
    // The client the user signed in as, not only the account's number.
    expect(human.stdout).toMatch(
      new RegExp(`^client\\s+${DEMO_CLIENT_ID} \\(account ${limits.client_id}\\)$`, 'm'),
    );
    const other = await callhook(['limits', '--client', String(limits.client_id)], env);
    expect(other.stdout).toMatch(new RegExp(`^client\\s+account ${limits.client_id}$`, 'm'));
    expect(human.stdout).toMatch(/^175\s+1\s+\d+$/m);
    await client.subscriptions.delete(175, sub.id);
  });

  it('reads the delivery log, retries and recovers', async () => {
    let status = 500;
    const target = await startTarget(() => status);
    try {
      const since = new Date(Date.now() - 1000).toISOString();
      const sub = await client.subscriptions.create(175, {
        url: target.url,
        event_type: 'hangup',
        method: 'POST',
      });
      await client.pbx.ingestBatch([hangupEvent('d'.repeat(32)), hangupEvent('e'.repeat(32))]);
      const s = ['-e', '175', '--subscription', String(sub.id)];
      const failed = await eventually(async () => {
        const page = await json<DeliveryPage>(['deliveries', 'list', ...s, '--status', 'failed']);
        return page.total === 2 ? page : undefined;
      });
      const [first, second] = failed.items;

      const table = await callhook(['deliveries', 'list', ...s], env);
      expect(table.stdout).toMatch(/^ID\s+EVENT\s+STATUS\s+ATTEMPTS\s+LAST\s+CREATED\s+NEXT ATTEMPT$/m);
      expect(table.stdout).toContain(`${first!.id}  hangup  failed`);
      expect(table.stdout).toContain('http_error 500');

      const detail = await callhook(['deliveries', 'get', first!.id, ...s], env);
      expect(detail.stdout).toMatch(/^payload\s+.*EventType=hangup/m);
      expect(detail.stdout).toMatch(/^AT\s+OUTCOME\s+STATUS\s+MS\s+ERROR$/m);

      status = 204;
      expect(await callhook(['deliveries', 'retry', first!.id, ...s], env)).toMatchObject({
        code: 0,
        stdout: expect.stringContaining(`Delivery ${first!.id} queued`),
      });
      await eventually(async () =>
        (await client.deliveries.get(175, sub.id, first!.id)).status === 'succeeded' ? true : undefined,
      );
      expect(await json(['deliveries', 'recover', ...s, '--since', since])).toEqual({ recovered: 1 });
      await eventually(async () =>
        (await client.deliveries.get(175, sub.id, second!.id)).status === 'succeeded' ? true : undefined,
      );
      await client.subscriptions.delete(175, sub.id);
    } finally {
      await target.close();
    }
  });

  it('simulates a call and starts a callback', async () => {
    const sim = await callhook(
      ['simulate', '-e', '175', '--scenario', 'outgoing', '--number', '00010005', '--speed', '100'],
      env,
    );
    expect(sim.code, sim.stderr).toBe(0);
    expect(sim.stdout).toMatch(/^Call [0-9a-f]{32}: \d+ event\(s\) under way \(outgoing\)\.$/m);
    const call = await json<{ call_id: string }>([
      'callback',
      '-e',
      '200',
      '--to',
      '+79817654321',
      '--from',
      '200',
      '--tag',
      'cli',
    ]);
    expect(call.call_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('checks health without credentials and prints a token with them', async () => {
    expect(await callhook(['health', '--server', server.url])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^status\s+ok$/m),
    });
    const token = await callhook(['token'], env);
    expect(token.stdout.trim()).toMatch(/^[A-Za-z0-9]{20,}$/);
  });

  it('reads the connection from a profile file, and flags win over it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callhook-profile-'));
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        profiles: {
          default: { url: 'http://127.0.0.1:9', client_id: 'x', client_secret: 'y' },
          local: { url: server.url, client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET },
        },
      }),
    );
    const viaProfile = await callhook(['limits', '--json', '--profile', 'local'], {
      CALLHOOK_CLI_CONFIG: config,
    });
    expect(viaProfile.code, viaProfile.stderr).toBe(0);
    // XDG location, default profile, then flags over it.
    const xdg = join(dir, 'xdg');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(xdg, 'callhook'), { recursive: true });
    writeFileSync(
      join(xdg, 'callhook', 'config.json'),
      JSON.stringify({
        profiles: {
          default: { url: server.url, client_id: DEMO_CLIENT_ID, client_secret: DEMO_CLIENT_SECRET },
        },
      }),
    );
    expect(await callhook(['events', 'list', '-e', '175', '--json'], { XDG_CONFIG_HOME: xdg })).toMatchObject(
      { code: 0, stdout: '[]\n' },
    );
    const missing = await callhook(['limits', '--profile', 'nope'], { CALLHOOK_CLI_CONFIG: config });
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('no profile "nope"') });
    expect(missing.stderr).toContain('(it has: default, local)');
  });

  it('says the client secret is wrong, and which server cannot be reached', async () => {
    const wrong = await callhook(['events', 'list'], { ...env, CALLHOOK_CLIENT_SECRET: 'not-it' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('wrong client secret');
    expect(wrong.stderr).toContain(server.url);

    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const down = await callhook(['limits', '--server', `http://127.0.0.1:${port}`], env);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(
      `Cannot reach the callhook server at http://127.0.0.1:${port}: ECONNREFUSED`,
    );
  });

  it('explains usage mistakes with exit code 2', async () => {
    expect(await callhook(['frobnicate'], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command "frobnicate"'),
    });
    expect(await callhook(['events', 'add', '--url', 'https://x.example/'], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--event is required'),
    });
    expect(
      await callhook(['events', 'add', '--url', 'https://x.example/', '--event', 'ring'], env),
    ).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown event type "ring"') });
    expect(await callhook(['events', 'list', '--bogus'], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("Unknown option '--bogus'"),
    });
    expect(await callhook([], env)).toMatchObject({
      code: 2,
      stdout: expect.stringContaining('Usage: callhook <command>'),
    });
    const api = await callhook(['events', 'get', '424242', '-e', '175'], env);
    expect(api).toMatchObject({ code: 1, stderr: expect.stringContaining('answered 404: Record not found') });
    expect(api.stderr).toMatch(/request id \S+/);
  });
});
