import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { ensureBuilt, root, runScript } from './built.js';

/** `pnpm demo` as a newcomer runs it: the built script, a process of its own, its output. */
const script = join(root, 'dist', 'commands', 'demo.js');
const run = (args: string[]) => runScript(script, args);

beforeAll(() => ensureBuilt(script), 120_000);

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
