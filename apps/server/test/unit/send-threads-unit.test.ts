import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import {
  sendThreadsFor as fromBuild,
  ThreadedSender,
  threadShare,
} from '../../dist/delivery/send-threads.js';
import { startServer as startBuilt } from '../../dist/index.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { sendThreadsFor as fromSources } from '../../src/delivery/send-threads.js';

// CALLHOOK_SEND_THREADS=auto, the default: one sending thread where the built server has a
// dispatcher, a second core and no custom resolver; none otherwise. The built module (dist) has
// its thread's script beside it; the sources have none to run.

test('auto is the default, and a number or auto is taken, anything else refused by name', () => {
  expect(loadConfig({}, {}).sendThreads).toBe('auto');
  expect(loadConfig({}, { CALLHOOK_SEND_THREADS: 'auto' }).sendThreads).toBe('auto');
  expect(loadConfig({}, { CALLHOOK_SEND_THREADS: '2' }).sendThreads).toBe(2);
  expect(() => loadConfig({}, { CALLHOOK_SEND_THREADS: 'many' })).toThrow(/CALLHOOK_SEND_THREADS/);
  expect(() => loadConfig({}, { CALLHOOK_SEND_THREADS: '-1' })).toThrow(ConfigError);
});

test('auto: one thread in the built server with a second core, a dispatcher and no resolver', () => {
  expect(fromBuild('auto', false, true, 2)).toBe(1);
  expect(fromBuild('auto', false, true, 8)).toBe(1);
  expect(fromBuild('auto', false, true, 1)).toBe(0);
  expect(fromBuild('auto', false, false, 2)).toBe(0);
  expect(fromBuild('auto', true, true, 2)).toBe(0);
  // From the sources there is no thread script to run: the main thread sends.
  expect(fromSources('auto', false, true, 2)).toBe(0);
});

test('a number asked for is kept, and refused with a custom resolver', () => {
  expect(fromBuild(0, false, true, 8)).toBe(0);
  expect(fromBuild(3, false, false, 1)).toBe(3);
  expect(fromBuild(0, true, true, 2)).toBe(0);
  expect(() => fromBuild(1, true, true, 2)).toThrow(/custom resolver/);
});

// A sending thread loads its own modules in its own heap. Through the store's index it loaded
// Kysely, the SQLite driver, zod and the contract's schemas: 1,200 modules and 18 MB of RSS for
// nothing it runs. What it reaches now, following the imports that stay in JavaScript (not
// `import type`): the delivery modules, two of the store's, the receiver's signature, undici,
// ipaddr.js and denque.
test("a sending thread's modules reach none of the store's queries, drivers or schemas", () => {
  const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
  const seen = new Set<string>();
  const packages = new Set<string>();
  const todo = [join(src, 'delivery', 'send-worker.ts')];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(import|export)\s+(type\s)?[^;]*?from\s+'([^']+)'/gms)) {
      if (m[2]) continue;
      const specifier = m[3]!;
      if (specifier.startsWith('.')) todo.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (!specifier.startsWith('node:')) packages.add(specifier);
    }
  }
  const files = [...seen].map((f) => f.slice(src.length + 1)).sort();
  expect(files).not.toContain('store/index.ts');
  expect(files.filter((f) => f.startsWith('store/'))).toEqual(['store/endpoints.ts', 'store/secrets.ts']);
  expect([...packages].sort()).toEqual(['@callhook/receiver/signature', 'denque', 'ipaddr.js', 'undici']);
});

// A thread's share of the requests in all is never 0: there are no more threads than requests
// may be under way at once (CALLHOOK_SEND_THREADS=4 with CALLHOOK_DELIVERY_CONCURRENCY=2 starts two).
test('no more sending threads than requests at once, and shares that add up to the cap', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'callhook-threads-cap-'));
  const server = await startBuilt({
    port: 0,
    dataDir,
    logLevel: 'silent',
    env: {},
    config: { sendThreads: 4, deliveryConcurrency: 2, simulator: false },
  });
  try {
    expect(server.sendThreads).toBe(2);
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  expect(() => new ThreadedSender(3, { ...threadSettings, concurrency: 2 })).toThrow(/2 requests at once/);
  for (const [concurrency, threads] of [
    [64, 1],
    [64, 2],
    [5, 2],
    [7, 3],
    [3, 3],
  ] as const) {
    const shares = Array.from({ length: threads }, (_, i) => threadShare(concurrency, threads, i));
    expect(shares.reduce((a, b) => a + b, 0)).toBe(concurrency);
    expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
    expect(Math.min(...shares)).toBeGreaterThan(0);
  }
});

const threadSettings = {
  allow: [],
  connectTimeoutMs: 1000,
  timeoutMs: 1000,
  perHostConnections: 1,
  concurrency: 1,
  breakerFailures: 5,
  breakerMaxSeconds: 30,
};
