import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why a target is refused: ipaddr.js's name of the address range, or a URL rule. */
export class TargetRefusedError extends Error {
  constructor(
    message: string,
    readonly rule: string,
  ) {
    super(message);
  }
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Resolves a host name to every address it has (the system resolver unless a test passes one). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

/**
 * Which targets callhook may call: global unicast addresses only, unless the operator allowed a
 * range or a host. The WHATWG URL parser has already turned the usual disguises (decimal, hex and
 * octal IPv4, trailing dots) into a canonical host before anything here looks at it.
 */
export class TargetPolicy {
  private readonly ranges: Array<[Address, number]> = [];
  private readonly hosts = new Set<string>();

  constructor(
    allow: readonly string[] = [],
    private readonly resolveName: Resolver = lookupAll,
  ) {
    for (const entry of allow) {
      if (entry.includes('/')) {
        this.ranges.push(ipaddr.parseCIDR(entry));
      } else if (ipaddr.isValid(entry)) {
        const addr = ipaddr.parse(entry);
        this.ranges.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
      } else {
        this.hosts.add(normalizeHost(entry));
      }
    }
  }

  /** Throws `TargetRefusedError` unless the address is global or allowed. */
  checkAddress(address: string, host: string): void {
    let addr: Address = ipaddr.parse(address);
    if (this.allowedAddress(addr)) return;
    // An IPv4 address wrapped in IPv6 is judged as the IPv4 address it carries.
    const embedded = embeddedIPv4(addr);
    if (embedded) {
      addr = embedded;
      if (this.allowedAddress(addr)) return;
    }
    let range = addr.range();
    // ipaddr.js calls every IPv6 address outside its special ranges "unicast", but only
    // 2000::/3 is global unicast; the rest (::/8 beyond ::1, 64:ff9b:1::/48, 100::/8 ...) is not.
    if (range === 'unicast' && addr.kind() === 'ipv6' && !addr.match(GLOBAL_UNICAST_V6)) range = 'reserved';
    if (range !== 'unicast') {
      const shown = host === address ? address : `${host} (${address})`;
      throw new TargetRefusedError(
        `host ${shown} is a ${describe(range)} address; callhook sends only to global addresses (an operator can allow it with CALLHOOK_ALLOW_TARGETS)`,
        range,
      );
    }
  }

  allowedHost(host: string): boolean {
    return this.hosts.has(normalizeHost(host));
  }

  private allowedAddress(addr: Address): boolean {
    return this.ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
  }

  /**
   * Checks a subscription URL: its form, and its host's address(es) when the host is a literal
   * or resolves now. A name that does not resolve yet is accepted; every delivery checks again.
   */
  async checkUrl(raw: string, resolve = true): Promise<URL> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new TargetRefusedError('url must be an absolute http(s) URL', 'format');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TargetRefusedError(`url must use http or https, not ${url.protocol.slice(0, -1)}`, 'scheme');
    }
    // `http:example.com` and `https:/x` parse (WHATWG is lenient with special schemes) but have no
    // authority: an absolute URL names its host after `//`.
    if (!/^https?:\/\/[^/\\]/i.test(raw.trim())) {
      throw new TargetRefusedError('url must be an absolute http(s) URL: scheme://host/...', 'format');
    }
    if (!url.hostname) throw new TargetRefusedError('url must have a host', 'host');
    const host = bareHost(url.hostname);
    if (this.allowedHost(host)) return url;
    if (isIP(host)) {
      this.checkAddress(host, host);
      return url;
    }
    // RFC 6761: localhost and its subdomains are loopback whatever a resolver says.
    const name = normalizeHost(host);
    if (name === 'localhost' || name.endsWith('.localhost')) {
      if (this.allowedAddress(ipaddr.parse('127.0.0.1'))) return url;
      throw new TargetRefusedError(
        `host ${host} is a loopback address; callhook sends only to global addresses`,
        'loopback',
      );
    }
    if (resolve) {
      // Bounded: a slow or unreachable resolver must not hold the request (nor the libuv pool
      // slot's caller) for the resolver's own timeouts; an unanswered name counts as unresolved.
      const addresses = await withTimeout(this.resolveName(name), CHECK_LOOKUP_TIMEOUT_MS).catch(
        () => [] as LookupAddress[],
      );
      for (const a of addresses) this.checkAddress(a.address, host);
    }
    return url;
  }

  /**
   * A `lookup` for sockets that only ever yields checked addresses: the connection goes to the
   * very address that was checked (no window for DNS rebinding), while Host and SNI keep the name.
   */
  readonly lookup = (
    hostname: string,
    options: LookupOptions | number,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    const all = typeof options === 'object' && options.all === true;
    this.resolveName(hostname).then(
      (addresses) => {
        try {
          if (!this.allowedHost(hostname)) for (const a of addresses) this.checkAddress(a.address, hostname);
        } catch (err) {
          callback(err as NodeJS.ErrnoException, all ? [] : '', 4);
          return;
        }
        if (all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, all ? [] : '', 4),
    );
  };
}

/** How long a subscription create or update waits for its URL's host to resolve. */
const CHECK_LOOKUP_TIMEOUT_MS = 1500;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lookup timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function lookupAll(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );
}

/** `[::1]` → `::1`: URL keeps brackets around IPv6 hosts. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.+$/, '');
}

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

function embeddedIPv4(addr: Address): ipaddr.IPv4 | undefined {
  if (addr.kind() !== 'ipv6') return undefined;
  const v6 = addr as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const p = v6.parts;
  // Deprecated IPv4-compatible form (::a.b.c.d), past :: and ::1.
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1))
    return ipaddr.fromByteArray(v6.toByteArray().slice(12)) as ipaddr.IPv4;
  const range = v6.range();
  // NAT64 (64:ff9b::/96) carries the IPv4 address in its last 32 bits, 6to4 (2002::/16) in bits 16–48.
  if (range === 'rfc6052' || range === 'rfc6145')
    return ipaddr.fromByteArray(v6.toByteArray().slice(12)) as ipaddr.IPv4;
  if (range === '6to4') return new ipaddr.IPv4([p[1]! >> 8, p[1]! & 255, p[2]! >> 8, p[2]! & 255]);
  return undefined;
}

function describe(range: string): string {
  const names: Record<string, string> = {
    loopback: 'loopback',
    private: 'private',
    linkLocal: 'link-local',
    multicast: 'multicast',
    unspecified: 'unspecified',
    broadcast: 'broadcast',
    carrierGradeNat: 'carrier-grade NAT',
    uniqueLocal: 'unique local (private)',
    reserved: 'reserved',
  };
  return names[range] ?? `non-global (${range})`;
}
