import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

// `@callhook/receiver/calls` is what a browser loads (the console assembles calls with it): the
// modules it reaches may import each other and the contract's types, nothing of Node's.
const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!);
    seen.set(file, specifiers);
    for (const s of specifiers) {
      if (s.startsWith('.')) todo.push(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
    }
  }
  return seen;
}

describe('the browser entry @callhook/receiver/calls', () => {
  test('reaches no Node module, only its own files and the contract', () => {
    const graph = reachable(join(src, 'calls', 'index.ts'));
    expect(graph.size).toBeGreaterThanOrEqual(4);
    for (const [file, specifiers] of graph) {
      for (const s of specifiers) {
        expect(s.startsWith('.') || s === '@callhook/contract', `${file} imports ${s}`).toBe(true);
      }
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/\bprocess\.|\bBuffer\b|require\(/);
    }
  });

  test('is exported as a subpath of the package', async () => {
    const pkg = JSON.parse(readFileSync(join(src, '..', 'package.json'), 'utf8')) as {
      exports: Record<string, { default: string }>;
    };
    expect(pkg.exports['./calls']?.default).toBe('./dist/calls/index.js');
    const calls = await import('../src/calls/index.js');
    expect(typeof calls.assembleCall).toBe('function');
    expect(typeof calls.CallAssembler).toBe('function');
  });
});

// `@callhook/receiver/signature` is the signing and its check alone: what callhook's sending
// threads load, without the parser's schemas (zod, the contract).
describe('the signature entry @callhook/receiver/signature', () => {
  test("reaches Node's crypto and its own errors, nothing else", () => {
    const graph = reachable(join(src, 'signature.ts'));
    expect([...graph.keys()].map((f) => f.slice(src.length + 1)).sort()).toEqual([
      'errors.ts',
      'signature.ts',
    ]);
    for (const [file, specifiers] of graph) {
      for (const s of specifiers)
        expect(s.startsWith('.') || s === 'node:crypto', `${file} imports ${s}`).toBe(true);
    }
  });

  test('is exported as a subpath of the package, and signs the Standard Webhooks way', async () => {
    const pkg = JSON.parse(readFileSync(join(src, '..', 'package.json'), 'utf8')) as {
      exports: Record<string, { default: string }>;
    };
    expect(pkg.exports['./signature']?.default).toBe('./dist/signature.js');
    const { signWebhook } = await import('../src/signature.js');
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const expected = createHmac('sha256', key).update('msg_1.1700000000.a=1').digest('base64');
    expect(signWebhook('msg_1', 1_700_000_000, 'a=1', [`whsec_${key.toString('base64')}`])).toBe(
      `v1,${expected}`,
    );
  });
});
