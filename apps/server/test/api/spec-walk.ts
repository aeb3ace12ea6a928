import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { parse } from 'yaml';

// The spec, read at test time, as a list of operations with what they take; valid requests made
// from its schemas; and hostile variants of every part of a request, generated from the same.

type Schema = Record<string, unknown>;
type Doc = {
  servers?: Array<{ url: string }>;
  security?: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
};

export const spec = parse(
  readFileSync(createRequire(import.meta.url).resolve('@callhook/spec/openapi.yaml'), 'utf8'),
) as Doc;

function deref(node: unknown): Schema {
  let n = node as Schema;
  while (n && typeof n.$ref === 'string') {
    const [, section, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(n.$ref)!;
    n = spec.components[section!]![name!] as Schema;
  }
  return n ?? {};
}

export interface Param {
  name: string;
  in: 'path' | 'query';
  schema: Schema;
}

export interface SpecOperation {
  id: string;
  method: string;
  /** The served path template, base path included. */
  served: string;
  /** Which credentials the spec asks for. */
  auth: 'token' | 'pbx' | 'none';
  params: Param[];
  body?: { types: string[]; schema: Schema; example?: unknown };
}

const METHODS = ['get', 'post', 'put', 'delete', 'patch'];

export function operationsOf(): SpecOperation[] {
  const base = (spec.servers?.[0]?.url ?? '').replace(/\/$/, '');
  const ops: SpecOperation[] = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    const own = (item.servers as Array<{ url: string }> | undefined)?.[0]?.url;
    const served = `${own !== undefined ? own.replace(/\/$/, '') : base}${template}`;
    for (const method of METHODS) {
      const op = item[method] as Schema | undefined;
      if (!op) continue;
      const security = (op.security ?? spec.security ?? []) as Array<Record<string, string[]>>;
      const schemes = security.flatMap((r) => Object.keys(r));
      const params = [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])]
        .map(deref)
        .filter((p) => p.in === 'path' || p.in === 'query')
        .map((p) => ({ name: p.name as string, in: p.in as 'path' | 'query', schema: deref(p.schema) }));
      const content = deref(op.requestBody).content as Record<string, Schema> | undefined;
      const first = content ? Object.values(content)[0] : undefined;
      const examples = first?.examples as Record<string, Schema> | undefined;
      ops.push({
        id: op.operationId as string,
        method: method.toUpperCase(),
        served,
        auth: schemes.includes('pbxKey') ? 'pbx' : schemes.length > 0 ? 'token' : 'none',
        params,
        ...(content && first
          ? {
              body: {
                types: Object.keys(content),
                schema: deref(first.schema),
                ...(examples ? { example: deref(Object.values(examples)[0]).value } : {}),
              },
            }
          : {}),
      });
    }
  }
  return ops;
}

/** Values the running server has (its demo extension, a subscription, a delivery). */
export type Known = Record<string, unknown>;

/** The smallest value the schema accepts (or the known value of a field of that name). */
export function sample(node: unknown, known: Known, name?: string): unknown {
  if (name !== undefined && name in known) return known[name];
  const s = deref(node);
  if (Array.isArray(s.allOf)) {
    const parts = s.allOf.map((p) => sample(p, known) as Record<string, unknown>);
    return Object.assign({}, ...parts);
  }
  if (Array.isArray(s.oneOf)) return sample(s.oneOf[0], known);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const key of (s.required as string[] | undefined) ?? []) out[key] = sample(props[key], known, key);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, Number(s.minItems ?? 1)) }, () => sample(s.items, known));
    case 'integer':
    case 'number':
      return Math.max(1, Number(s.minimum ?? 1));
    case 'boolean':
      return true;
    default:
      if (s.format === 'date-time') return new Date().toISOString();
      if (s.format === 'uri') return 'https://93.184.215.14/hook';
      return 'x'.repeat(Math.max(1, Number(s.minLength ?? 1)));
  }
}

/** Every field path of an object schema (through allOf, oneOf's first, nested objects). */
export function fieldPaths(node: unknown, prefix: string[] = [], depth = 0): string[][] {
  const s = deref(node);
  if (depth > 3) return [];
  const branches = [
    ...((s.allOf as unknown[]) ?? []),
    ...(Array.isArray(s.oneOf) ? [s.oneOf[0]] : []),
    ...(s.properties ? [{ properties: s.properties }] : []),
  ];
  if (s.type === 'array' && s.items) return [prefix, ...fieldPaths(s.items, [...prefix, '0'], depth + 1)];
  const out: string[][] = [];
  for (const b of branches) {
    const props = (deref(b).properties ?? {}) as Record<string, unknown>;
    for (const [key, child] of Object.entries(props)) {
      out.push([...prefix, key], ...fieldPaths(child, [...prefix, key], depth + 1));
    }
    if (!deref(b).properties) out.push(...fieldPaths(b, prefix, depth + 1));
  }
  return out;
}

/** A JSON value, or text spliced into the JSON as is (what JSON.stringify cannot make). */
export type Hostile = { json: unknown } | { raw: string };

const text = (raw: string): Hostile => ({ raw });
const json = (value: unknown): Hostile => ({ json: value });

export const hostileValue: fc.Arbitrary<Hostile> = fc.oneof(
  // wrong types
  fc.constantFrom(json(null), json(true), json([]), json({}), json([1, 'x']), json({ a: { b: 1 } })),
  // deep nesting, as text (JSON.stringify of it would overflow the stack)
  fc.constantFrom(
    text(`${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`),
    text(`${'['.repeat(5000)}${']'.repeat(5000)}`),
  ),
  // oversize, control characters, lone surrogates, odd Unicode
  fc.constantFrom(
    json('x'.repeat(70 * 1024)),
    json('x'.repeat(3000)),
    json(''),
    json('a\u0000b'),
    json('\u0007\u001b[31m\r\n'),
    json('\ud800'),
    json('x\udc00'),
    json('\u202e\ufeff'),
    json('\u{1F4DE}'),
    json('@me'),
    json('../../etc/passwd'),
  ),
  // huge, negative and odd numbers
  fc.constantFrom(
    json(-1),
    json(0),
    json(-0),
    json(1.5),
    json(1e308),
    json(-1e308),
    json(2 ** 53 + 2),
    text('99999999999999999999'),
    text('1e400'),
    text('-46116860184273880'),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }).map(json),
  fc.integer().map(json),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(json),
);

/** Whole bodies that are not what any operation takes. */
export const hostileBody: fc.Arbitrary<string> = fc.constantFrom(
  '',
  'null',
  '[]',
  '"text"',
  '42',
  '{',
  '{"a":1,}',
  `${'['.repeat(5000)}${']'.repeat(5000)}`,
  `{"pad":"${'x'.repeat(70 * 1024)}"}`,
  `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`,
  '\ufeff{}',
  '{"a":"\\ud800"}',
);

export type Mutation =
  | { kind: 'set'; path: string[]; value: Hostile }
  | { kind: 'drop'; path: string[] }
  | { kind: 'extra'; path: string[]; key: string; value: Hostile };

export function mutations(paths: string[][]): fc.Arbitrary<Mutation[]> {
  const path = paths.length > 0 ? fc.constantFrom(...paths) : fc.constant<string[]>([]);
  const key = fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'Extra', 'x\ud800'),
    fc.string({ maxLength: 8 }),
  );
  return fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('set' as const), path, value: hostileValue }),
      fc.record({ kind: fc.constant('drop' as const), path }),
      fc.record({ kind: fc.constant('extra' as const), path, key, value: hostileValue }),
    ),
    { minLength: 1, maxLength: 3 },
  );
}

/** The valid body with the mutations applied, as JSON text. */
export function mutate(valid: unknown, muts: Mutation[]): string {
  const body = structuredClone(valid) as Record<string, unknown>;
  const raws: string[] = [];
  const put = (v: Hostile) => {
    // A copy: the hostile values are shared constants, and a later mutation of this body may add a
    // key inside the value it put (the same `{}` put twice, then one given a key holding the
    // other, was a circle JSON.stringify refused; and the constant itself was changed for good).
    if ('json' in v) return structuredClone(v.json);
    raws.push(v.raw);
    return `\u0001raw${raws.length - 1}\u0001`;
  };
  for (const m of muts) {
    const parentPath = m.kind === 'extra' ? m.path : m.path.slice(0, -1);
    let parent: unknown = body;
    for (const k of parentPath) parent = (parent as Record<string, unknown> | undefined)?.[k];
    if (typeof parent !== 'object' || parent === null) continue;
    const target = parent as Record<string, unknown>;
    if (m.kind === 'extra') {
      // An array's own keys do not reach its JSON, and `length` cannot be redefined: extra keys go
      // into objects only.
      if (Array.isArray(target)) continue;
      Object.defineProperty(target, m.key, {
        value: put(m.value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else if (m.path.length > 0) {
      const last = m.path[m.path.length - 1]!;
      if (m.kind === 'drop') delete target[last];
      else target[last] = put(m.value);
    }
  }
  return JSON.stringify(body).replace(/"\\u0001raw(\d+)\\u0001"/g, (_, i: string) => raws[Number(i)]!);
}

/** Query and path values a client may send, already percent-encoded where they would be. */
export const hostileParam: fc.Arbitrary<string> = fc.constantFrom(
  '0',
  '-1',
  '1.5',
  '1e400',
  '99999999999999999999',
  '46116860184273880',
  '9007199254740993',
  '',
  'x',
  '%00',
  '%ZZ',
  '%ED%A0%80',
  '%2F',
  '%40me',
  '@you',
  '..',
  '%2e%2e',
  'a'.repeat(3000),
  'msg_%00',
  `msg_${'a'.repeat(70)}`,
);

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The spec's rule for paths (see its description), stated again here as the test's oracle:
 * fixed segments exactly; a parameter one non-empty segment that decodes to no `/` and is no
 * dot segment; the trailing slash optional.
 */
export function isPathOf(served: string, path: string): boolean {
  const strip = (p: string) => (p.endsWith('/') ? p.slice(0, -1) : p);
  const want = strip(served).split('/');
  const got = strip(path).split('/');
  if (want.length !== got.length) return false;
  return want.every((seg, i) => {
    const part = got[i]!;
    if (i === 0) return part === '';
    const d = decoded(part) ?? part;
    if (part === '' || d === '.' || d === '..') return false;
    return seg.startsWith('{') ? !d.includes('/') : seg === part;
  });
}

/** The served template with its parameters filled in (values already percent-encoded). */
export function fill(served: string, values: Record<string, string>): string {
  return served.replace(/\{([^}]+)\}/g, (_, name: string) => values[name] ?? 'x');
}

/**
 * Variants of a served path that are not it: letter case and percent-encoded letters of its
 * fixed segments, doubled slashes, dot segments, encoded slashes. Each must be a 404, whatever
 * else the request has.
 */
export function pathVariants(served: string, values: Record<string, string>): string[] {
  const template = served.split('/');
  const segments = fill(served, values).split('/');
  const path = segments.join('/');
  const out = new Set<string>();
  template.forEach((seg, i) => {
    if (seg.startsWith('{') || !/[a-z]/i.test(seg)) return;
    const at = seg.search(/[a-z]/i);
    const letter = seg[at]!;
    const flipped = letter === letter.toLowerCase() ? letter.toUpperCase() : letter.toLowerCase();
    const swap = (v: string) => [...segments.slice(0, i), v, ...segments.slice(i + 1)].join('/');
    out.add(swap(seg.slice(0, at) + flipped + seg.slice(at + 1)));
    out.add(swap(seg.toUpperCase()));
    out.add(swap(`${seg.slice(0, at)}%${letter.charCodeAt(0).toString(16)}${seg.slice(at + 1)}`));
    out.add(swap(`${seg}%2F`));
    out.add(swap(`.%2F${seg}`));
  });
  const at = path.indexOf('/', 1);
  if (at > 0) {
    out.add(`${path.slice(0, at)}/${path.slice(at)}`);
    out.add(`${path.slice(0, at)}/.${path.slice(at)}`);
    out.add(`${path.slice(0, at)}/x/..${path.slice(at)}`);
    out.add(`${path.slice(0, at)}/%2e${path.slice(at)}`);
  }
  out.add(`/${path}`);
  out.add(path.endsWith('/') ? `${path}/` : `${path}//`);
  out.add(`${path.endsWith('/') ? path : `${path}/`}.`);
  out.delete(path);
  return [...out];
}
