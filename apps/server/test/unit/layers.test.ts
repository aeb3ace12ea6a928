import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

// The server's rooms and what each may import (the README's package map): arrows only downward,
// no circle. The composition files at the top (index.ts, app.ts, cli.ts, demo.ts) may import
// anything; config.ts, cores.ts, metrics.ts, log.ts, listen.ts and thread-name.ts are the floor.
const src = join(dirname(fileURLToPath(import.meta.url)), '../../src');
const MAY: Record<string, readonly string[]> = {
  api: ['auth', 'delivery', 'store', 'config', 'metrics', 'log'],
  auth: ['store'],
  delivery: ['store', 'config', 'cores', 'metrics', 'thread-name'],
  pbx: ['store', 'config'],
  store: ['thread-name'],
  'config.ts': [],
  'cores.ts': [],
  'metrics.ts': [],
  'log.ts': ['config'],
  'listen.ts': [],
  'thread-name.ts': [],
};

/** What a file imports from the server's own src, by room (`../store/x.js` → `store`). */
function roomsImported(file: string, fromRoom: boolean): Set<string> {
  const text = readFileSync(file, 'utf8');
  const out = new Set<string>();
  for (const m of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
    const spec = m[1]!;
    const parts = spec.split('/');
    if (fromRoom && parts[0] === '.') continue; // its own room
    const target = parts[1]!;
    out.add(target.endsWith('.js') ? target.replace(/\.js$/, '.ts') : target);
  }
  return out;
}

test('each room of the server imports only the rooms below it', () => {
  const found: Record<string, string[]> = {};
  for (const [room, may] of Object.entries(MAY)) {
    const files = room.endsWith('.ts')
      ? [join(src, room)]
      : readdirSync(join(src, room))
          .filter((f) => f.endsWith('.ts'))
          .map((f) => join(src, room, f));
    const imported = new Set<string>();
    for (const f of files) for (const r of roomsImported(f, !room.endsWith('.ts'))) imported.add(r);
    const rooms = [...imported].map((r) => r.replace(/\.ts$/, ''));
    found[room] = rooms.filter((r) => !may.includes(r)).sort();
  }
  expect(found).toEqual(Object.fromEntries(Object.keys(MAY).map((r) => [r, []])));
  // Every room of src/ is in the table, so a new one cannot go unchecked.
  const rooms = readdirSync(src, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  expect(rooms.filter((r) => !(r in MAY))).toEqual([]);
});
