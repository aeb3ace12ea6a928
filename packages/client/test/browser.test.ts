import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Every module src/index.ts reaches, with what it imports at run time (type-only imports are erased). */
function runtimeGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (file: string) => {
    if (graph.has(file)) return;
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/^(?:import|export) (?!type )[^;]*?from '([^']+)';/gms)].map(
      (m) => m[1]!,
    );
    graph.set(file, specifiers);
    for (const s of specifiers)
      if (s.startsWith('.')) visit(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
  };
  visit(entry);
  return graph;
}

describe('the library core', () => {
  it('imports nothing from Node and uses no Node globals, so it runs in browsers', () => {
    const graph = runtimeGraph(join(src, 'index.ts'));
    expect([...graph.keys()].map((f) => f.slice(src.length + 1)).sort()).toEqual([
      'client.ts',
      'errors.ts',
      'index.ts',
      'token.ts',
      'transport.ts',
    ]);
    for (const [file, imports] of graph) {
      const packages = imports.filter((s) => !s.startsWith('.'));
      expect(packages, file).toEqual(
        packages.filter((s) => s === 'openapi-fetch' || s === '@callhook/contract/servers'),
      );
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/\b(process|Buffer|require)\b[.(]/);
    }
    // The contract's servers entry (the spec's base path and root paths) is data, importing nothing.
    const servers = join(src, '../../contract/src/servers.gen.ts');
    expect(runtimeGraph(servers).get(servers)).toEqual([]);
  });
});
