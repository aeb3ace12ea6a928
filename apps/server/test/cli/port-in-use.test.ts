import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ListenError, startServer } from '../../src/index.js';
import { ensureBuilt, root, runScript } from '../pbx/built.js';

/** A port some other program holds, as a newcomer's 8080 often is. */
let taken: Server;
let port: number;
let dataDir: string;
const cli = join(root, 'dist', 'cli.js');

beforeAll(async () => {
  await ensureBuilt(cli);
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  port = (taken.address() as { port: number }).port;
  dataDir = mkdtempSync(join(tmpdir(), 'callhook-port-'));
}, 120_000);
afterAll(async () => {
  await new Promise((resolve) => taken?.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the port is taken', () => {
  test('`start` (what npm start runs) says so, names the port and how to choose another, exit 2', async () => {
    const r = await runScript(cli, ['start', '--demo'], {
      PORT: String(port),
      CALLHOOK_DATA_DIR: dataDir,
      DATABASE_URL: '',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(r.stderr).toMatch(/PORT=\d+ npm start/);
    expect(r.stderr).toMatch(/--port \d+/);
    expect(r.stderr).not.toMatch(/TypeError| {4}at /);
    expect(r.stdout).not.toContain('listening');
  });

  test('--port names the same port', async () => {
    const r = await runScript(cli, ['start', '--port', String(port)], {
      CALLHOOK_DATA_DIR: dataDir,
      DATABASE_URL: '',
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
  });

  test('startServer() rejects with a ListenError and leaves nothing running', async () => {
    const failed = startServer({ port, dataDir, databaseUrl: '', logLevel: 'silent', env: {} });
    await expect(failed).rejects.toBeInstanceOf(ListenError);
    await expect(failed).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
  });
});
