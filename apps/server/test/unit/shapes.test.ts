import fc from 'fast-check';
import { expect, test } from 'vitest';
import { OutboxSql, shapedChunks, shapedList } from '../../src/store/outbox-sql.js';

// Batched statements come in power-of-two shapes, so SQLite keeps a few prepared statements per
// kind instead of one per batch size (hundreds of megabytes: bench/statements.mjs).
test('shapedChunks: every item once, in order; multiples of the step up to the maximum, then one remainder', () => {
  fc.assert(
    fc.property(fc.array(fc.integer(), { maxLength: 1200 }), fc.constantFrom(16, 128, 256), (items, max) => {
      const chunks = shapedChunks(items, max);
      expect(chunks.flat()).toEqual(items);
      for (const [k, c] of chunks.entries()) {
        expect(c.length).toBeGreaterThan(0);
        expect(c.length).toBeLessThanOrEqual(max);
        // Only the last chunk may be a remainder below the step.
        if (k < chunks.length - 1) expect(c.length % 16).toBe(0);
      }
      if (items.length <= max) expect(chunks.length).toBeLessThanOrEqual(2);
    }),
  );
  expect(shapedChunks(Array(37).fill(0), 256).map((c) => c.length)).toEqual([32, 5]);
  expect(shapedChunks(Array(600).fill(0), 256).map((c) => c.length)).toEqual([256, 256, 80, 8]);
});

test('shapedList: the same set at the next power of two, padded with its last item (never null)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer(), { minLength: 1, maxLength: 600 }), (items) => {
      const list = shapedList(items);
      expect(list.length & (list.length - 1)).toBe(0);
      expect(list.length).toBeLessThan(2 * items.length);
      expect(list.slice(0, items.length)).toEqual(items);
      expect(new Set(list)).toEqual(new Set(items));
    }),
  );
  expect(shapedList([7, 8, 9])).toEqual([7, 8, 9, 9]);
});

test('intakes of every size from 1 to 500 use a few dozen statement texts, not one per size', () => {
  const q = new OutboxSql('sqlite');
  const texts = new Set<string>();
  for (let n = 1; n <= 500; n++) {
    for (const chunk of shapedChunks(Array(n).fill(0), 256)) texts.add(q.insertDeliveries(chunk.length));
    texts.add(q.lease(shapedList(Array.from({ length: n }, (_, i) => i)).length));
  }
  // Deliveries: 16 multiples of 16 and 15 remainders; lease lists: 10 powers of two.
  expect(texts.size).toBeLessThanOrEqual(41);
});

test('the statement builders refuse a count that is not a shape, so no caller can bring one text per size back', () => {
  const q = new OutboxSql('postgres');
  expect(() => q.insertDeliveries(100)).toThrow(/100 rows is not a statement shape/);
  expect(() => q.insertEvents(300)).toThrow(/not a statement shape/);
  expect(() => q.recordResults(0)).toThrow(/not a statement shape/);
  expect(() => q.lease(3)).toThrow(/3 items is not a statement shape/);
  expect(() => q.claimDue(5)).toThrow(/not a statement shape/);
  expect(q.insertDeliveries(96)).toContain('insert into deliveries');
  expect(q.insertAttempts(15)).toContain('insert into attempts');
  expect(q.claimDue(0)).toContain('limit $3');
  expect(q.markFailing(4)).toContain('$5');
});
