import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeForm } from '../src/form.js';

// The form parser itself: the constructor alone would also drop a leading `?`, which `&` keeps.
const viaUrlSearchParams = (input: string): string[] => [...new URLSearchParams(`&${input}`)].flat();

describe('decodeForm', () => {
  test('decodes what URLSearchParams encodes, spaces as +, UTF-8 percent escapes', () => {
    expect(
      decodeForm('CallerIDName=Iggy+Pop&CallerExtension=000*099%40sip.domain&text=%D0%BF%D1%80%D0%B8'),
    ).toEqual(['CallerIDName', 'Iggy Pop', 'CallerExtension', '000*099@sip.domain', 'text', 'при']);
  });

  test('a leading ? is part of the first name, on both paths', () => {
    expect(decodeForm('?a=b')).toEqual(['?a', 'b']);
    expect(decodeForm('?a=\uD800')).toEqual(['?a', '\uFFFD']);
  });

  test('keeps empty values, skips empty pairs, splits at the first =', () => {
    expect(decodeForm('a=&&b&c=x=y&')).toEqual(['a', '', 'b', '', 'c', 'x=y']);
  });

  test('stray percent signs and bytes that are not UTF-8 come out as URLSearchParams has them', () => {
    for (const input of ['a=100%', 'a=%zz&b=%4', 'a=%C3%28', 'a=%ED%A0%80', '%=%', 'a=\uD800b']) {
      expect(decodeForm(input), input).toEqual(viaUrlSearchParams(input));
    }
  });

  test('agrees with URLSearchParams on any string', () => {
    const piece = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.constantFrom('%', '+', '&', '=', '?', '%41', '%C3%A9', '%E2%82', '%F0%9F%98%80', '%2B', '%26'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const input = pieces.join('');
        expect(decodeForm(input)).toEqual(viaUrlSearchParams(input));
      }),
      { numRuns: 2000 },
    );
  });

  test('round-trips anything URLSearchParams encodes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }))),
        (pairs) => {
          expect(decodeForm(new URLSearchParams(pairs).toString())).toEqual(pairs.flat());
        },
      ),
    );
  });
});
