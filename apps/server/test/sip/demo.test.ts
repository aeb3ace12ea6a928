import { createRequire } from 'node:module';
import { expect, test } from 'vitest';
import { runScript } from '../pbx/built.js';
import { pgAdminUrl } from '../pg.js';
import { describeSip } from './world.js';

/** `npm run demo:sip` as a newcomer runs it: the built script, a process of its own, its output. */
const script = createRequire(import.meta.url)
  .resolve('@callhook/kamailio/lab')
  .replace(/index\.js$/, 'demo.js');

const run = (args: string[]) => runScript(script, args, {}, { timeoutMs: 600_000 });

describeSip('npm run demo:sip', () => {
  // The demo keeps its own SQLite store: the PostgreSQL pass would only run it again.
  test.skipIf(pgAdminUrl !== '')(
    "the page's call through Kamailio arrives as the page logs it, signed",
    {
      timeout: 120_000,
    },
    async () => {
      const { code, stdout, stderr } = await run(['--fast']);
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      for (const [type, id] of [
        ['dial-out', 72],
        ['answer', 73],
        ['hangup', 74],
      ] as const) {
        expect(stdout).toMatch(new RegExp(`"method":"GET","event_type":"${type}"\\}  → id ${id}`));
      }
      const lines = stdout
        .split('\n')
        .filter((l) => l.startsWith('['))
        .map((l) => l.replace(/^\[[^\]]+\] {2}/, ''));
      expect(lines.filter((l) => l === '------')).toHaveLength(3);
      expect(lines.filter((l) => l === 'myid => 175')).toHaveLength(3);
      expect(lines.filter((l) => l.startsWith('EventType => '))).toEqual([
        'EventType => dial-out',
        'EventType => answer',
        'EventType => hangup',
      ]);
      expect(lines).toContain('CallerIDName => Iggy Pop');
      expect(lines).toContain('CalledNumber => 00010005');
      expect(lines.filter((l) => l.startsWith('RecID => 175-'))).toHaveLength(1);
      expect(stdout).toContain('3 requests, 3 with good signatures.');
    },
  );
});
