import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';

// CALLHOOK_HEAP_GROWTH (README, configuration): the server tells V8 how far the JS heap may grow
// past its live size between full collections. Measured in the built server's own process, as
// users run it: it starts with the setting, then holds a live set and churns through objects that
// live long enough to be promoted (what a busy delivery engine does), and reports the largest heap
// it reached. With V8's own growth the heap climbs to several times the live set; with 20 % it
// stays near it. If startServer did not apply the setting, the two would be alike.
const index = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../../dist/index.js')).href;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const churn = `
const { startServer } = await import(${JSON.stringify(index)});
const server = await startServer({ port: 0, dataDir: process.argv[1], logLevel: 'silent', env: { CALLHOOK_HEAP_GROWTH: process.argv[2] } });
const live = [];
for (let i = 0; i < 300000; i++) live.push({ name: 'live' + i, values: [i, i + 1] });
const ring = new Array(40000);
let peak = 0;
for (let n = 0; n < 3000000; ) {
  for (let i = 0; i < 10000; i++, n++) ring[n % ring.length] = { name: 'churn' + n, values: new Array(8).fill(n) };
  peak = Math.max(peak, process.memoryUsage().heapTotal);
}
await server.close();
console.log(JSON.stringify({ peakMb: peak / 2 ** 20, live: live.length }));
`;

function peakHeapMb(growth: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'callhook-heap-'));
  dirs.push(dir);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', churn, dir, growth],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve((JSON.parse(stdout.trim().split('\n').at(-1)!) as { peakMb: number }).peakMb);
      },
    );
  });
}

test('CALLHOOK_HEAP_GROWTH keeps the heap near its live size; 0 gives V8 its own growth', {
  timeout: 120_000,
}, async () => {
  const v8Own = await peakHeapMb('0');
  const bounded = await peakHeapMb('20');
  expect(bounded).toBeLessThan(v8Own * 0.75);
});

test('the setting defaults to 100 % and refuses what is not a whole percentage', () => {
  expect(loadConfig({}, {}).heapGrowthPercent).toBe(100);
  expect(loadConfig({}, { CALLHOOK_HEAP_GROWTH: '0' }).heapGrowthPercent).toBe(0);
  expect(() => loadConfig({}, { CALLHOOK_HEAP_GROWTH: 'half' })).toThrow(/CALLHOOK_HEAP_GROWTH/);
  expect(() => loadConfig({}, { CALLHOOK_HEAP_GROWTH: '-1' })).toThrow(/CALLHOOK_HEAP_GROWTH/);
});
