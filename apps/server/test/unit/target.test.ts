import type { LookupAddress } from 'node:dns';
import { beforeAll, describe, expect, test } from 'vitest';
import { bareHost, TargetPolicy, TargetRefusedError } from '../../src/delivery/target.js';

/**
 * README: "Targets must be global addresses, checked at creation and again at every delivery on
 * the very address connected to." The policy's rules, one by one (the server tests show them
 * end to end; these run in milliseconds, for mutation testing).
 */
function rule(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof TargetRefusedError) return err.rule;
    throw err;
  }
}
async function ruleOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof TargetRefusedError) return err.rule;
    throw err;
  }
}

const resolver =
  (table: Record<string, LookupAddress[]>) =>
  async (name: string): Promise<LookupAddress[]> => {
    const a = table[name];
    if (!a) throw Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return a;
  };

describe('checkAddress', () => {
  const p = new TargetPolicy();
  test.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['::a00:1', 'private'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b:1::a00:1', 'private'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['::ffff:0:a00:1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:a00:1::', 'private'],
    ['100::1', 'discard'],
    ['3fff::1', 'reserved'],
    ['4000::1', 'reserved'],
  ])('%s is refused as %s', (address, expected) => {
    expect(rule(() => p.checkAddress(address, address))).toBe(expected);
  });

  test.each([
    '93.184.216.34',
    '8.8.8.8',
    '2606:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:93.184.216.34',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s (global) is accepted', (address) => {
    expect(rule(() => p.checkAddress(address, address))).toBeUndefined();
  });

  test('the message names the host, its address and the way to allow it', () => {
    try {
      p.checkAddress('10.0.0.1', 'db.internal');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe(
        'host db.internal (10.0.0.1) is a private address; callhook sends only to global addresses (an operator can allow it with CALLHOOK_ALLOW_TARGETS)',
      );
    }
    expect(() => p.checkAddress('::1', '::1')).toThrow(/^host ::1 is a loopback address;/);
    expect(() => p.checkAddress('fc00::1', 'fc00::1')).toThrow(/unique local \(private\) address/);
    expect(() => p.checkAddress('100.64.0.1', 'x')).toThrow(/carrier-grade NAT address/);
    expect(() => p.checkAddress('169.254.0.1', 'x')).toThrow(/link-local address/);
    expect(() => p.checkAddress('0.0.0.0', 'x')).toThrow(/unspecified address/);
    expect(() => p.checkAddress('255.255.255.255', 'x')).toThrow(/broadcast address/);
    expect(() => p.checkAddress('224.0.0.1', 'x')).toThrow(/multicast address/);
    expect(() => p.checkAddress('100::1', 'x')).toThrow(/non-global \(discard\) address/);
    expect(() => p.checkAddress('4000::1', 'x')).toThrow(/is a reserved address/);
    expect(() => p.checkAddress('192.0.2.1', 'x')).toThrow(
      /non-global \(reserved\) address|reserved address/,
    );
  });

  test('allowed ranges and single addresses, IPv4 and IPv6, including a mapped address in an allowed IPv4 range', () => {
    const allow = new TargetPolicy(['10.1.0.0/16', 'fd00:1::/32', '192.168.5.5', '::1']);
    for (const a of ['10.1.2.3', '::ffff:10.1.2.3', 'fd00:1::5', '192.168.5.5', '::1'])
      expect(
        rule(() => allow.checkAddress(a, a)),
        a,
      ).toBeUndefined();
    for (const a of ['10.2.0.1', '192.168.5.6', 'fd00:2::1', '127.0.0.1', '::2', '::ffff:192.168.5.6'])
      expect(
        rule(() => allow.checkAddress(a, a)),
        a,
      ).toBeDefined();
  });

  test('a single allowed address allows that address only (IPv4 /32, IPv6 /128); a name is allowed by name', () => {
    const single = new TargetPolicy(['10.0.0.5', 'fd00::5', 'hooks.internal']);
    expect(rule(() => single.checkAddress('10.0.0.5', 'x'))).toBeUndefined();
    expect(rule(() => single.checkAddress('10.0.0.6', 'x'))).toBe('private');
    expect(rule(() => single.checkAddress('fd00::5', 'x'))).toBeUndefined();
    expect(rule(() => single.checkAddress('fd00::6', 'x'))).toBe('uniqueLocal');
    expect(single.allowedHost('HOOKS.internal.')).toBe(true);
    expect(single.allowedHost('hooks.internal..')).toBe(true);
    expect(single.allowedHost('other.internal')).toBe(false);
    expect(new TargetPolicy().allowedHost('Stryker was here')).toBe(false);
  });
});

describe('checkUrl (at creation)', () => {
  // Made in a hook, not at collection: a mutant that breaks the constructor fails tests, not the file.
  let p: TargetPolicy;
  beforeAll(() => {
    p = new TargetPolicy(
      ['printer.internal'],
      resolver({
        'public.example': [{ address: '93.184.216.34', family: 4 }],
        'mixed.example': [
          { address: '93.184.216.34', family: 4 },
          { address: '10.0.0.7', family: 4 },
        ],
        'v6-loop.example': [{ address: '::1', family: 6 }],
        'printer.internal': [{ address: '10.9.9.9', family: 4 }],
      }),
    );
  });

  test('form: absolute http(s) with a host', async () => {
    expect(await ruleOf(p.checkUrl('not a url'))).toBe('format');
    await expect(p.checkUrl('not a url')).rejects.toThrow(/^url must be an absolute http\(s\) URL$/);
    expect(await ruleOf(p.checkUrl('ftp://example.com/'))).toBe('scheme');
    await expect(p.checkUrl('ftp://example.com/')).rejects.toThrow(/^url must use http or https, not ftp$/);
    expect(await ruleOf(p.checkUrl('http:public.example/x'))).toBe('format');
    await expect(p.checkUrl('http:public.example/x')).rejects.toThrow(
      /^url must be an absolute http\(s\) URL: scheme:\/\/host\/...$/,
    );
    // The authority check looks at the start of the URL, not at a URL inside its query.
    expect(await ruleOf(p.checkUrl('http:public.example/?next=http://x'))).toBe('format');
    expect(await ruleOf(p.checkUrl('https:/public.example'))).toBe('format');
    expect(await ruleOf(p.checkUrl('  http://public.example/'))).toBeUndefined();
    expect(await ruleOf(p.checkUrl('HTTPS://public.example/'))).toBeUndefined();
    expect((await p.checkUrl('http://public.example/x?y=1')).href).toBe('http://public.example/x?y=1');
  });

  test('literal addresses, localhost and names are checked; one bad address of several is enough', async () => {
    expect(await ruleOf(p.checkUrl('http://127.0.0.1/'))).toBe('loopback');
    expect(await ruleOf(p.checkUrl('http://[::ffff:127.0.0.1]/'))).toBe('loopback');
    expect(await ruleOf(p.checkUrl('http://93.184.216.34/'))).toBeUndefined();
    expect(await ruleOf(p.checkUrl('http://localhost/'))).toBe('loopback');
    expect(await ruleOf(p.checkUrl('http://api.LOCALHOST./'))).toBe('loopback');
    expect(await ruleOf(p.checkUrl('http://localhost../'))).toBe('loopback');
    await expect(p.checkUrl('http://localhost:3000/')).rejects.toThrow(
      'host localhost is a loopback address',
    );
    expect(await ruleOf(p.checkUrl('http://public.example/'))).toBeUndefined();
    expect(await ruleOf(p.checkUrl('http://mixed.example/'))).toBe('private');
    await expect(p.checkUrl('http://mixed.example/')).rejects.toThrow(
      'host mixed.example (10.0.0.7) is a private',
    );
    expect(await ruleOf(p.checkUrl('http://v6-loop.example/'))).toBe('loopback');
    // Allowed by name, whatever it resolves to; a name that does not resolve yet is accepted.
    expect(await ruleOf(p.checkUrl('http://PRINTER.internal./'))).toBeUndefined();
    expect(await ruleOf(p.checkUrl('http://not-yet.example/'))).toBeUndefined();
    // Without resolving (the sender's form check), names are not looked up.
    expect(await ruleOf(p.checkUrl('http://mixed.example/', false))).toBeUndefined();
  });

  test('localhost is allowed when loopback is', async () => {
    const demo = new TargetPolicy(['127.0.0.0/8'], resolver({}));
    expect(await ruleOf(demo.checkUrl('http://localhost:8080/'))).toBeUndefined();
    expect(await ruleOf(demo.checkUrl('http://127.0.0.1:8080/'))).toBeUndefined();
  });

  test('a resolver that never answers does not hold the request (1.5 s), and counts as unresolved', async () => {
    const slow = new TargetPolicy([], () => new Promise<LookupAddress[]>(() => {}));
    const started = Date.now();
    expect(await ruleOf(slow.checkUrl('http://slow.example/'))).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('bareHost takes the brackets off IPv6 hosts only', () => {
    expect(bareHost('[::1]')).toBe('::1');
    expect(bareHost('example.com')).toBe('example.com');
    expect(bareHost('[x')).toBe('[x');
    expect(bareHost('x]')).toBe('x]');
  });
});

describe('lookup (at delivery, the address connected to)', () => {
  type Result = { err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };
  const call = (p: TargetPolicy, host: string, options: { all?: boolean } | number) =>
    new Promise<Result>((resolve) =>
      p.lookup(host, options as never, (err, address, family) => resolve({ err, address, family })),
    );
  const table = resolver({
    'public.example': [
      { address: '2606:4700::1111', family: 6 },
      { address: '93.184.216.34', family: 4 },
    ],
    'rebound.example': [
      { address: '93.184.216.34', family: 4 },
      { address: '::ffff:127.0.0.1', family: 6 },
    ],
    'printer.internal': [{ address: '10.9.9.9', family: 4 }],
  });
  let p: TargetPolicy;
  beforeAll(() => {
    p = new TargetPolicy(['printer.internal'], table);
  });

  test('a global name yields its first address, or all of them', async () => {
    expect(await call(p, 'public.example', {})).toEqual({ err: null, address: '2606:4700::1111', family: 6 });
    expect(await call(p, 'public.example', 0)).toEqual({ err: null, address: '2606:4700::1111', family: 6 });
    const all = await call(p, 'public.example', { all: true });
    expect(all.err).toBeNull();
    expect(all.address).toEqual([
      { address: '2606:4700::1111', family: 6 },
      { address: '93.184.216.34', family: 4 },
    ]);
  });

  test('any non-global address among the answers refuses the connection with the policy error', async () => {
    const one = await call(p, 'rebound.example', {});
    expect(one.err).toBeInstanceOf(TargetRefusedError);
    expect((one.err as TargetRefusedError).rule).toBe('loopback');
    expect(one.address).toBe('');
    const all = await call(p, 'rebound.example', { all: true });
    expect(all.err).toBeInstanceOf(TargetRefusedError);
    expect(all.address).toEqual([]);
  });

  test('by default the system resolver answers, every address (localhost: loopback, refused)', async () => {
    const system = new TargetPolicy();
    const one = await call(system, 'localhost', { all: true });
    expect(one.err).toBeInstanceOf(TargetRefusedError);
    const allowed = new TargetPolicy(['127.0.0.0/8', '::1/128']);
    const all = await call(allowed, 'localhost', { all: true });
    expect(all.err).toBeNull();
    expect((all.address as LookupAddress[]).length).toBeGreaterThanOrEqual(1);
    for (const a of all.address as LookupAddress[]) expect(['127.0.0.1', '::1']).toContain(a.address);
    expect((await call(system, 'no-such-host.invalid', {})).err?.code).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });

  test('an allowed host connects to what it resolves to; a resolver error is passed on', async () => {
    expect(await call(p, 'printer.internal', {})).toEqual({ err: null, address: '10.9.9.9', family: 4 });
    const missing = await call(p, 'missing.example', { all: true });
    expect(missing.err?.code).toBe('ENOTFOUND');
    expect(missing.err).not.toBeInstanceOf(TargetRefusedError);
    expect(missing.address).toEqual([]);
    expect((await call(p, 'missing.example', {})).address).toBe('');
  });
});
