import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { heapGrowthFor, LARGE_HEAP_LIMIT } from '../../src/heap.js';

// CALLHOOK_HEAP_GROWTH (README, configuration): the server tells V8 how far the old generation may
// grow past what its last full collection kept. Measured in the built server's own process, as
// users run it: it starts with the setting, fills a ring of objects that live long enough to be
// promoted (what a busy delivery engine does), has it collected once, then keeps replacing them
// and reports the largest old generation it reached. Both sides set the flag, with a 4 GiB heap
// limit, so neither depends on V8's own heuristics (which vary with the load and the host's
// memory): 20 % stays near the live set, 400 % climbs to several times it. Were the setting not
// applied, the two would be alike.
const index = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../../dist/index.js')).href;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const churn = `
const { startServer } = await import(${JSON.stringify(index)});
const { getHeapSpaceStatistics } = await import('node:v8');
const server = await startServer({ port: 0, dataDir: process.argv[1], logLevel: 'silent', env: { CALLHOOK_HEAP_GROWTH: process.argv[2] } });
const old = () => getHeapSpaceStatistics().reduce((sum, s) => (s.space_name === 'old_space' ? sum + s.space_used_size : sum), 0);
const ring = new Array(300000);
let n = 0;
const fill = (count) => { for (let i = 0; i < count; i++, n++) ring[n % ring.length] = { name: 'churn' + n, values: new Array(8).fill(n) }; };
fill(ring.length);
globalThis.gc();
let peak = 0;
for (let k = 0; k < 300; k++) {
  fill(10000);
  peak = Math.max(peak, old());
}
await server.close();
console.log(JSON.stringify({ peakMb: peak / 2 ** 20 }));
`;

/** The largest old generation, in MB, of the built server's process with this setting. */
function peakOldMb(growth: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'callhook-heap-'));
  dirs.push(dir);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=4096', '--input-type=module', '-e', churn, dir, growth],
      { timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve((JSON.parse(stdout.trim().split('\n').at(-1)!) as { peakMb: number }).peakMb);
      },
    );
  });
}

test('CALLHOOK_HEAP_GROWTH sets how far the heap grows past its live size', {
  timeout: 120_000,
}, async () => {
  const loose = await peakOldMb('400');
  const bounded = await peakOldMb('20');
  expect(bounded).toBeLessThan(loose * 0.6);
});

describe('when the setting replaces V8 own growth', () => {
  test('with a large heap limit, unless it is 0 or the node command line sets it', () => {
    expect(heapGrowthFor(100, LARGE_HEAP_LIMIT, [])).toEqual({ applied: true, percent: 100 });
    expect(heapGrowthFor(0, LARGE_HEAP_LIMIT, [])).toEqual({ applied: false, reason: 'off' });
    for (const flag of ['--heap-growing-percent=30', '--heap_growing_percent=30']) {
      expect(heapGrowthFor(100, LARGE_HEAP_LIMIT, ['--expose-gc', flag])).toEqual({
        applied: false,
        reason: 'set on the command line',
      });
    }
  });

  test('not under a 2 GiB heap limit, where V8 own growth is at most 2x already', () => {
    expect(heapGrowthFor(100, LARGE_HEAP_LIMIT - 1, [])).toEqual({
      applied: false,
      reason: 'small heap limit',
    });
  });

  test('the setting defaults to 100 % and refuses what is not a whole percentage', () => {
    expect(loadConfig({}, {}).heapGrowthPercent).toBe(100);
    expect(loadConfig({}, { CALLHOOK_HEAP_GROWTH: '0' }).heapGrowthPercent).toBe(0);
    expect(() => loadConfig({}, { CALLHOOK_HEAP_GROWTH: 'half' })).toThrow(/CALLHOOK_HEAP_GROWTH/);
    expect(() => loadConfig({}, { CALLHOOK_HEAP_GROWTH: '-1' })).toThrow(/CALLHOOK_HEAP_GROWTH/);
  });
});
