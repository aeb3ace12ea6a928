/**
 * `application/x-www-form-urlencoded` decoding with exactly the results of `URLSearchParams`, at
 * about three times its speed: most values need no decoding at all, and those that do are
 * well-formed UTF-8 that `decodeURIComponent` handles. Anything else (a stray `%`, bytes that are
 * not UTF-8, lone surrogates) goes to `URLSearchParams` itself, so the output never differs. It is
 * the form parser's, not the `URLSearchParams` constructor's: a leading `?` is part of the first
 * name (callers pass what follows the `?`).
 */

const PLUS = /\+/g;
const LONE_SURROGATE = /\p{Cs}/u;
const isWellFormed = (input: string): boolean =>
  (input as { isWellFormed?: () => boolean }).isWellFormed?.() ?? !LONE_SURROGATE.test(input);

function decodeComponent(raw: string): string {
  const spaced = raw.indexOf('+') === -1 ? raw : raw.replace(PLUS, ' ');
  if (spaced.indexOf('%') === -1) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return new URLSearchParams(`_=${raw}`).get('_') ?? '';
  }
}

/**
 * The name/value pairs of a form-encoded string, in order, flattened: `[name0, value0, name1, …]`.
 * Most components have neither `+` nor `%`: the next of each is found once for the whole input and
 * a component is only decoded when one falls inside it, so the rest are plain slices.
 */
export function decodeForm(input: string): string[] {
  const out: string[] = [];
  if (!isWellFormed(input)) {
    // The `&` keeps a leading `?`, which the URLSearchParams constructor alone would drop.
    for (const [name, value] of new URLSearchParams(`&${input}`)) out.push(name, value);
    return out;
  }
  const end = input.length;
  let plus = input.indexOf('+');
  let percent = input.indexOf('%');
  /** `input[from, to)`, decoded when a `+` or `%` lies inside it. */
  const component = (from: number, to: number): string => {
    if ((plus === -1 || plus >= to) && (percent === -1 || percent >= to)) return input.slice(from, to);
    const decoded = decodeComponent(input.slice(from, to));
    if (plus !== -1 && plus < to) plus = input.indexOf('+', to);
    if (percent !== -1 && percent < to) percent = input.indexOf('%', to);
    return decoded;
  };
  let start = 0;
  while (start < end) {
    let amp = input.indexOf('&', start);
    if (amp === -1) amp = end;
    if (amp > start) {
      const eq = input.indexOf('=', start);
      if (eq === -1 || eq > amp) out.push(component(start, amp), '');
      else out.push(component(start, eq), component(eq + 1, amp));
    }
    start = amp + 1;
  }
  return out;
}
