import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { nextDelayMs, parseRetryAfter } from '../../src/delivery/schedule.js';

/** README: retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (±20 % jitter; Retry-After within 1 s–10 h). */
const DEFAULT_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

describe('the retry policy, as functions', () => {
  test('the defaults: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; ±20 % jitter; disabled after 432000 s', () => {
    const config = loadConfig({}, {});
    expect(config.retrySchedule).toEqual(DEFAULT_SCHEDULE);
    expect(config.retryJitter).toBe(0.2);
    expect(config.disableAfterFailingSeconds).toBe(432_000);
  });

  test('the k-th failure is followed by the k-th delay; after the 7th there is none', () => {
    for (let k = 1; k <= 7; k++)
      expect(nextDelayMs(k, DEFAULT_SCHEDULE, 0, undefined)).toBe(DEFAULT_SCHEDULE[k - 1]! * 1000);
    expect(nextDelayMs(8, DEFAULT_SCHEDULE, 0, undefined)).toBeNull();
    expect(nextDelayMs(8, DEFAULT_SCHEDULE, 0.2, 5)).toBeNull();
    expect(nextDelayMs(1, [], 0.2, undefined)).toBeNull();
  });

  test('jitter spans exactly ±20 % and really varies', () => {
    expect(nextDelayMs(2, DEFAULT_SCHEDULE, 0.2, undefined, () => 0)).toBe(240_000);
    expect(nextDelayMs(2, DEFAULT_SCHEDULE, 0.2, undefined, () => 0.5)).toBe(300_000);
    expect(nextDelayMs(2, DEFAULT_SCHEDULE, 0.2, undefined, () => 0.75)).toBe(330_000);
    expect(nextDelayMs(2, DEFAULT_SCHEDULE, 0.5, undefined, () => 0.25)).toBe(225_000);
    const seen = new Set<number>();
    let below = 0;
    let above = 0;
    for (let i = 0; i < 500; i++) {
      const d = nextDelayMs(3, DEFAULT_SCHEDULE, 0.2, undefined)!;
      expect(d).toBeGreaterThanOrEqual(1_440_000);
      expect(d).toBeLessThanOrEqual(2_160_000);
      seen.add(d);
      if (d < 1_800_000) below++;
      if (d > 1_800_000) above++;
    }
    expect(seen.size).toBeGreaterThan(400);
    expect(below).toBeGreaterThan(150);
    expect(above).toBeGreaterThan(150);
  });

  test('Retry-After replaces the delay, without jitter, clamped to 1 s–10 h', () => {
    const r = () => 0;
    expect(nextDelayMs(1, DEFAULT_SCHEDULE, 0.2, 7, r)).toBe(7_000);
    expect(nextDelayMs(7, DEFAULT_SCHEDULE, 0.2, 7, r)).toBe(7_000);
    expect(nextDelayMs(1, DEFAULT_SCHEDULE, 0.2, 0, r)).toBe(1_000);
    expect(nextDelayMs(1, DEFAULT_SCHEDULE, 0.2, 0.4, r)).toBe(1_000);
    expect(nextDelayMs(1, DEFAULT_SCHEDULE, 0.2, 1.5, r)).toBe(1_500);
    expect(nextDelayMs(1, DEFAULT_SCHEDULE, 0.2, 36_000, r)).toBe(36_000_000);
    expect(nextDelayMs(1, DEFAULT_SCHEDULE, 0.2, 36_001, r)).toBe(36_000_000);
    expect(nextDelayMs(1, DEFAULT_SCHEDULE, 0.2, 10_000_000, r)).toBe(36_000_000);
  });

  test('Retry-After: delta-seconds and HTTP-date forms', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(' 30 ', now)).toBe(30);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(['45', '99'], now)).toBe(45);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('12abc', now)).toBeUndefined();
    expect(parseRetryAfter('abc12', now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
