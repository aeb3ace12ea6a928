import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultDataDir, loadConfig } from '../../src/config.js';
import { ensureBuilt, type Ran, root, runScript } from '../pbx/built.js';

const cli = join(root, 'dist', 'cli.js');
const repo = join(root, '..', '..');
let elsewhere: string;

/** The admin CLI as the README shows it, run from `cwd`, with no data settings of its own. */
function admin(args: string[], cwd: string): Promise<Ran> {
  const baseEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['CALLHOOK_DATA_DIR', 'DATABASE_URL', 'CALLHOOK_CONFIG']) delete baseEnv[name];
  return runScript(cli, ['admin', ...args], {}, { cwd, baseEnv });
}

beforeAll(async () => {
  await ensureBuilt(cli);
  elsewhere = mkdtempSync(join(tmpdir(), 'callhook-cwd-'));
}, 120_000);
afterAll(() => rmSync(elsewhere, { recursive: true, force: true }));

describe('one data location, whatever the working directory', () => {
  test('the default is apps/server/.callhook-data in a checkout, the XDG data folder when installed', () => {
    expect(defaultDataDir()).toBe(join(root, '.callhook-data'));
    expect(loadConfig({}, {}).dataDir).toBe(join(root, '.callhook-data'));
    const installed = join('/srv/app/node_modules/@callhook/server');
    expect(defaultDataDir(installed, { XDG_DATA_HOME: '/var/lib/xdg' })).toBe('/var/lib/xdg/callhook');
    expect(defaultDataDir(installed, {})).toMatch(/\/\.local\/share\/callhook$/);
    // A CALLHOOK_DATA_DIR of one's own is taken from the working directory, and shown whole.
    expect(loadConfig({}, { CALLHOOK_DATA_DIR: 'mine' }).dataDir).toBe(join(process.cwd(), 'mine'));
  });

  test('`admin list` from the root (as the README shows) and from elsewhere reads the store npm start uses', async () => {
    const fromRoot = await admin(['list'], repo);
    const fromElsewhere = await admin(['list'], elsewhere);
    const store = `store: sqlite (${join(root, '.callhook-data', 'callhook.db')})\n`;
    expect(fromRoot.stderr).toBe(store);
    expect(fromElsewhere.stderr).toBe(store);
    expect(fromRoot.code).toBe(0);
    expect(fromElsewhere.code).toBe(0);
    expect(fromElsewhere.stdout).toBe(fromRoot.stdout);
    expect(existsSync(join(elsewhere, '.callhook-data'))).toBe(false);
  });

  test('`admin --help` (and `admin client --help`) prints the admin commands and opens no store', async () => {
    for (const args of [['--help'], ['client', '--help'], ['help']]) {
      const r = await admin(args, elsewhere);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('callhook-server admin client add --name NAME');
      expect(r.stdout).toContain('callhook-server admin list');
    }
    const bare = await admin([], elsewhere);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('callhook-server admin list');
  });
});
