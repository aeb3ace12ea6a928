import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { fetchToken } from '../api/helpers.js';
import { freePort } from '../children.js';
import { startTestServer } from '../harness.js';
import { freshDatabase, pgAdminUrl } from '../pg.js';

// Servers and processes start slowly on a loaded 2-core machine: generous limits, same checks.
vi.setConfig({ hookTimeout: 90_000, testTimeout: 90_000 });

/**
 * README: "Environment variables (or a JSON file named by CALLHOOK_CONFIG); a bad value stops the
 * start with a message naming it." and "Operators without the demo manage tenants with
 * `node apps/server/dist/cli.js admin client add|app add|extension add|list`". Both run as the
 * operator runs them: the built command line, as a process.
 */
const cli = join(dirname(fileURLToPath(import.meta.url)), '../../dist/cli.js');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'callhook-cli-'));
  dirs.push(d);
  return d;
}

function run(args: string[], env: NodeJS.ProcessEnv, ms = 15_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const BAD: Array<[Record<string, string>, string]> = [
  [{ PORT: 'eighty' }, 'PORT'],
  [{ HOST: '' }, ''],
  [{ CALLHOOK_RETRY_JITTER: '2' }, 'CALLHOOK_RETRY_JITTER'],
  [{ CALLHOOK_RETRY_SCHEDULE: '5,soon' }, 'CALLHOOK_RETRY_SCHEDULE'],
  [{ CALLHOOK_DISABLE_AFTER: '-1' }, 'CALLHOOK_DISABLE_AFTER'],
  [{ CALLHOOK_TRUST_PROXY: 'true' }, 'CALLHOOK_TRUST_PROXY'],
  [{ CALLHOOK_PUBLIC_URL: 'not a url' }, 'CALLHOOK_PUBLIC_URL'],
  [{ CALLHOOK_DEMO: 'maybe' }, 'CALLHOOK_DEMO'],
  [{ CALLHOOK_DB_PREPARED: 'sometimes' }, 'CALLHOOK_DB_PREPARED'],
  [{ CALLHOOK_RETENTION_DAYS: '0' }, 'CALLHOOK_RETENTION_DAYS'],
  [{ CALLHOOK_DELIVERY_PER_HOST: '0' }, 'CALLHOOK_DELIVERY_PER_HOST'],
  [{ CALLHOOK_PBX_KEY: 'short' }, 'CALLHOOK_PBX_KEY'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
].filter(([, name]) => name !== '') as Array<[Record<string, string>, string]>;

describe('a bad configuration value stops the start, naming it', () => {
  test.each(BAD)('%o is refused, naming it', (bad, name) => {
    let err: unknown;
    try {
      loadConfig({}, bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(new RegExp(`^Invalid configuration:\\n  ${name}: `));
  });

  test('the server process exits 2 before listening, naming every bad variable', {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const env = Object.assign({ CALLHOOK_DATA_DIR: tempDir() }, ...BAD.map(([b]) => b), { PORT: 'eighty' });
    const r = await run(['start'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith('callhook-server: Invalid configuration:\n')).toBe(true);
    for (const [, name] of BAD) expect(r.stderr).toMatch(new RegExp(`^  ${name}: `, 'm'));
    expect(r.stdout).not.toContain('listening');
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  test('a bad value in the CALLHOOK_CONFIG file names its key; an unreadable file names the variable', {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ retryJitter: 5, deliveryConcurrency: 0, dataDir: dir }));
    const [r, missing] = await Promise.all([
      run(['start'], { CALLHOOK_CONFIG: file }),
      run(['start'], { CALLHOOK_CONFIG: join(dir, 'nope.json') }),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ {2}retryJitter: /m);
    expect(r.stderr).toMatch(/^ {2}deliveryConcurrency: /m);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      `callhook-server: CALLHOOK_CONFIG: cannot read ${join(dir, 'nope.json')}`,
    );
  });

  test('the environment wins over the file; good values are taken', () => {
    const dir = tempDir();
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ port: 9001, retryJitter: 0.1, retentionDays: 7 }));
    const c = loadConfig({}, { CALLHOOK_CONFIG: file, PORT: '9002', CALLHOOK_RETRY_SCHEDULE: '1, 2,3' });
    expect(c.port).toBe(9002);
    expect(c.retryJitter).toBe(0.1);
    expect(c.retentionDays).toBe(7);
    expect(c.retrySchedule).toEqual([1, 2, 3]);
    expect(c.publicBaseUrl).toBe('http://127.0.0.1:9002');
    expect(() => loadConfig({}, { CALLHOOK_DELIVERY_PER_HOST: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({}, { CALLHOOK_DELIVERY_PER_HOST: '0' })).toThrow(/CALLHOOK_DELIVERY_PER_HOST/);
  });
});

describe('the admin command line', () => {
  test('client add, app add, extension add and list; the credentials it prints get a token', {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    // The PostgreSQL pass: the command line and the server share a fresh database.
    const database = pgAdminUrl ? await freshDatabase() : undefined;
    const env = { CALLHOOK_DATA_DIR: dir, ...(database ? { DATABASE_URL: database.url } : {}) };
    try {
      const client = await run(['admin', 'client', 'add', '--name', 'Acme', '--limit', '5'], env);
      expect(client).toMatchObject({ code: 0, stdout: 'client 1 created\n' });
      const ext = await run(
        [
          'admin',
          'extension',
          'add',
          '--client',
          '1',
          '--id',
          '321',
          '--name',
          '000*321',
          '--caller-name',
          'Ann',
          '--recording',
        ],
        env,
      );
      expect(ext).toMatchObject({ code: 0, stdout: 'extension 321 created\n' });
      const app = await run(
        ['admin', 'app', 'add', '--client', '1', '--name', 'CRM', '--extension', '321'],
        env,
      );
      expect(app.code).toBe(0);
      const id = /client_id=(\S+)/.exec(app.stdout)?.[1];
      const secret = /client_secret=(\S+)/.exec(app.stdout)?.[1];
      expect(id).toBeDefined();
      expect(secret).toBeDefined();
      const list = await run(['admin', 'list'], env);
      expect(list.code).toBe(0);
      expect(list.stdout).toBe(
        `client 1 Acme (limit 5)\n  application CRM: client_id=${id} @me=321\n  extension 321 000*321@sip.domain phone "Ann" recording\n`,
      );

      // A server on that store (not in demo mode) issues a token to the printed credentials.
      const s = await startTestServer({
        dataDir: dir,
        demo: false,
        ...(database ? { databaseUrl: database.url } : {}),
      });
      try {
        const token = await fetchToken(s.url, id!, secret!);
        const res = await s.api('/extension/@me/event/', { token });
        expect(res.status).toBe(200);
      } finally {
        await s.close();
      }
    } finally {
      await database?.drop();
    }
  });

  test('usage errors name what is wrong and exit 2', { timeout: 120_000 }, async () => {
    const env = { CALLHOOK_DATA_DIR: tempDir() };
    const cases: Array<[string[], string]> = [
      [['admin', 'client', 'add'], '--name is required'],
      [['admin', 'app', 'add', '--client', '99', '--name', 'x'], 'client 99 does not exist'],
      [
        ['admin', 'extension', 'add', '--client', '99', '--id', '5', '--name', 'x'],
        'client 99 does not exist',
      ],
      [
        ['admin', 'extension', 'add', '--client', 'one', '--id', '5', '--name', 'x'],
        '--client must be a positive whole number',
      ],
      [['admin', 'client', 'remove'], 'unknown admin command "client remove"'],
    ];
    // Each in its own data folder: processes opening one new SQLite file at once would race to make it.
    const results = await Promise.all([
      ...cases.map(([args]) => run(args, { CALLHOOK_DATA_DIR: tempDir() })),
      run(['--help'], env),
    ]);
    cases.forEach(([args, message], i) => {
      expect(results[i]?.code, args.join(' ')).toBe(2);
      // The reason is the last line; the store the command would use may be named before it.
      expect(results[i]?.stderr.trimEnd().split('\n').at(-1), args.join(' ')).toBe(
        `callhook-server: ${message}`,
      );
    });
    const help = results.at(-1)!;
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('callhook-server admin client add --name NAME [--limit N]');
  });
});
