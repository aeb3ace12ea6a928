import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { ensureBuilt, root, runScript } from './built.js';

const cli = join(root, 'dist', 'cli.js');

beforeAll(async () => {
  await ensureBuilt(cli);
}, 120_000);

// Calls are played with the client's CLI (`callhook simulate`, `--mix`); the server's own
// `simulate` of earlier versions says where it went instead of "unknown command".
test('callhook-server simulate points to callhook simulate', async () => {
  const r = await runScript(cli, ['simulate', '--mix', '--rate', '5'], {});
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/now the client CLI's "callhook simulate"/);
  const help = await runScript(cli, ['--help'], {});
  expect(help.stdout).toMatch(/callhook simulate --mix/);
});
