import { describe, expect, test } from 'vitest';
import { newDeliveryId, randomAlphanumeric } from '../../src/store/secrets.js';

describe('delivery ids', () => {
  test('match the spec pattern and carry the time as 8 sortable base62 digits', () => {
    const id = newDeliveryId(Date.UTC(2026, 11, 2));
    expect(id).toMatch(/^msg_[0-9A-Za-z]{26}$/);
    // 1796169600000 ms in base62 (digits, upper, lower case).
    let t = 1796169600000;
    let digits = '';
    const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let i = 0; i < 8; i++, t = Math.floor(t / 62)) digits = base62[t % 62] + digits;
    expect(id.slice(4, 12)).toBe(digits);
  });

  test('made later sort later as text, whatever the random part', () => {
    const times = [0, 61, 62, 3843, 3844, Date.UTC(2001, 0, 1), Date.UTC(2026, 11, 2), Date.UTC(2100, 0, 1)];
    const ids = times.map((t) => newDeliveryId(t));
    // Plain code-unit comparison, as SQLite's BINARY collation and PostgreSQL's "C" collation do.
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(sorted).toEqual(ids);
  });

  test('are unique within one millisecond', () => {
    const ids = new Set(Array.from({ length: 20_000 }, () => newDeliveryId(1_800_000_000_000)));
    expect(ids.size).toBe(20_000);
  });
});

describe('random alphanumeric strings', () => {
  test('have the asked length and use every letter and digit about equally', () => {
    const counts = new Map<string, number>();
    const s = randomAlphanumeric(62 * 2000);
    expect(s).toHaveLength(62 * 2000);
    for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Expected 2000 each; a modulo bias (bytes 248..255 kept) would push 8 letters to ~2060.
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(1750);
      expect(n).toBeLessThan(2250);
    }
  });
});
