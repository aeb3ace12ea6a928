import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, test } from 'vitest';

/** `npm run demo` as a newcomer runs it: the built script, a process of its own, its output. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'dist', 'demo.js');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill(), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// turbo builds a package before its tests (CI, npm test); a bare vitest run needs the build first.
beforeAll(() => {
  if (!existsSync(script))
    throw new Error(`${script} is not built: npx pnpm@12.4.2 turbo run build --filter=@callhook/demo...`);
});

const STAMP = String.raw`\[(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{2} \d{2}:\d{2}:\d{2} \d{4}\]`;

test("the demo reproduces the page's example: three subscriptions, the call, the log, signed", async () => {
  const { code, stdout, stderr } = await run(['--speed', '50']);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  // The page's three subscriptions, ids 72, 73, 74, with GET ?myid=175.
  for (const [type, id] of [
    ['dial-out', 72],
    ['answer', 73],
    ['hangup', 74],
  ] as const) {
    expect(stdout).toContain(`"method":"GET","event_type":"${type}","id":${id}`);
  }
  expect(stdout).toMatch(/fordel\/show\.php\?myid=175/);
  expect(stdout).toContain('"scenario":"outgoing","extension_id":175,"number":"00010005"');
  // The receiver's log, as the page's show.php writes it.
  const log = stdout.split('\n').filter((l) => new RegExp(`^${STAMP}  `).test(l));
  const lines = log.map((l) => l.replace(new RegExp(`^${STAMP}  `), ''));
  expect(lines.filter((l) => l === '------')).toHaveLength(3);
  expect(lines.filter((l) => l === 'myid => 175')).toHaveLength(3);
  expect(lines.filter((l) => l.startsWith('EventType => '))).toEqual([
    'EventType => dial-out',
    'EventType => answer',
    'EventType => hangup',
  ]);
  expect(lines.filter((l) => l.startsWith('CallStatus => '))).toEqual([
    'CallStatus => CALLING',
    'CallStatus => ANSWER',
    'CallStatus => ANSWER',
  ]);
  for (const field of [
    'CallerIDName => Iggy Pop',
    'CalledNumber => 00010005',
    'CallerIDNum => 000*099',
    'CallerExtension => 000*099@sip.domain',
  ]) {
    expect(lines.filter((l) => l === field)).toHaveLength(3);
  }
  expect(lines.filter((l) => /^RecID => 175-[0-9a-f]{32}$/.test(l))).toHaveLength(1);
  expect(lines.filter((l) => /^Duration => \d+$/.test(l))).toHaveLength(1);
  expect(stdout.match(/signature ok/g)).toHaveLength(3);
  expect(stdout).toContain('/docs');
  // The hint is a command that works from the root (the README test runs it as the README has it).
  expect(stdout).toContain('npm run callhook -- listen -e 175');
}, 60_000);

test('--speed is checked', async () => {
  const { code, stderr } = await run(['--speed', 'fast']);
  expect(code).toBe(2);
  expect(stderr).toMatch(/--speed must be a number/);
});
