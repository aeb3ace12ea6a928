import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'yaml';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete' | 'patch';
const METHODS: readonly HttpMethod[] = ['get', 'post', 'put', 'delete', 'patch'];

/** A piece of a served path: fixed text, or a parameter's name. */
export type Segment = { fixed: string } | { param: string };

/** One operation of the spec, where it is served and how it is secured. */
export interface Route {
  method: HttpMethod;
  /** The spec's path template, e.g. `/extension/{extension_id}/event/`. */
  template: string;
  /** Where it is served, with the server's base path, e.g. `/api/ver1.0/extension/{extension_id}/event/`. */
  served: string;
  operationId: string;
  /** Security scheme names that admit the request; empty means none needed. */
  schemes: string[];
  /** `served` between its slashes. */
  segments: Segment[];
  trailingSlash: boolean;
  /** The content types the operation's request body may have; empty when it takes none. */
  bodyTypes: string[];
}

interface SpecDocument {
  servers?: Array<{ url: string }>;
  security?: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, unknown> & { servers?: Array<{ url: string }> }>;
  [key: string]: unknown;
}

export interface ApiSpec {
  /** The spec as written (served at /openapi.yaml and .json, shown at /docs). */
  document: SpecDocument;
  text: string;
  /** The same spec with every path at its served location, for the validator. */
  validatorDocument: SpecDocument;
  routes: Route[];
  basePath: string;
}

function segmentsOf(served: string): Segment[] {
  return served
    .split('/')
    .slice(1)
    .filter((part, i, all) => part !== '' || i < all.length - 1)
    .map((part) => {
      const param = /^\{([^}]+)\}$/.exec(part);
      return param ? { param: param[1]! } : { fixed: part };
    });
}

/** Reads spec/openapi.yaml and derives the route table from it: the spec decides what exists. */
export function loadApiSpec(): ApiSpec {
  const path = createRequire(import.meta.url).resolve('@callhook/spec/openapi.yaml');
  const text = readFileSync(path, 'utf8');
  const document = parse(text) as SpecDocument;
  const basePath = (document.servers?.[0]?.url ?? '').replace(/\/$/, '');
  const globalSecurity = document.security ?? [];
  const validatorDocument: SpecDocument = structuredClone(document);
  validatorDocument.servers = [{ url: '/' }];
  validatorDocument.paths = {};
  const routes: Route[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    const own = item.servers?.[0]?.url;
    const served = own !== undefined ? `${own.replace(/\/$/, '')}${template}` : `${basePath}${template}`;
    const copy = structuredClone(item);
    delete copy.servers;
    validatorDocument.paths[served] = copy;
    for (const method of METHODS) {
      const op = item[method] as
        | {
            operationId: string;
            security?: Array<Record<string, string[]>>;
            requestBody?: { content?: Record<string, unknown> };
          }
        | undefined;
      if (!op) continue;
      const security = op.security ?? globalSecurity;
      routes.push({
        method,
        template,
        served,
        operationId: op.operationId,
        schemes: security.flatMap((req) => Object.keys(req)),
        segments: segmentsOf(served),
        trailingSlash: served.endsWith('/'),
        bodyTypes: Object.keys(op.requestBody?.content ?? {}),
      });
    }
  }
  return { document, text, validatorDocument, routes, basePath };
}

/** What a request's method and path name among the spec's operations. */
export type PathMatch =
  | {
      kind: 'operation';
      route: Route;
      /** Path parameters, percent-decoded; `undefined` where the encoding was malformed. */
      params: Record<string, string | undefined>;
      /** The path as the spec writes it (its trailing slash), parameters as they came. */
      canonicalPath: string;
    }
  /** The path is an operation's, the method is not: the methods it has. */
  | { kind: 'method'; allow: string[] }
  | { kind: 'none' };

function decode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

const isDot = (segment: string) => {
  const d = decode(segment) ?? segment;
  return d === '.' || d === '..';
};

/**
 * The one place that decides which operation a request is, and the server's whole rule for
 * paths (written down in the spec's description):
 * - fixed segments match exactly: letter case counts, and a percent-encoded letter (`%70bx`) is
 *   another path;
 * - a parameter is one whole segment, percent-decoded once; an encoded slash (`%2F`) never
 *   joins or splits segments, so a parameter holding one matches nothing;
 * - an empty segment (`//`) or a dot segment (`.`, `..`, also encoded) matches nothing: paths are
 *   never resolved or normalised;
 * - a trailing slash may be missing or extra: the provider's clients write both (seed-compatible).
 * Anything else is no operation at all, whatever the method or credentials.
 */
export function matchPath(routes: Route[], method: string, path: string): PathMatch {
  if (!path.startsWith('/')) return { kind: 'none' };
  const parts = path.split('/').slice(1);
  const trailingSlash = parts.length > 0 && parts[parts.length - 1] === '';
  if (trailingSlash) parts.pop();
  if (parts.some((p) => p === '' || isDot(p))) return { kind: 'none' };

  const m = method.toLowerCase();
  let best: { route: Route; params: Record<string, string | undefined>; rank: number } | undefined;
  const allow = new Set<string>();
  for (const route of routes) {
    if (route.segments.length !== parts.length) continue;
    const params: Record<string, string | undefined> = {};
    let fixed = 0;
    const fits = route.segments.every((seg, i) => {
      const part = parts[i]!;
      if ('fixed' in seg) {
        fixed++;
        return seg.fixed === part;
      }
      const value = decode(part);
      if (value?.includes('/')) return false;
      params[seg.param] = value;
      return true;
    });
    if (!fits) continue;
    if (route.method !== m) {
      allow.add(route.method.toUpperCase());
      continue;
    }
    // Where two operations fit, the one whose trailing slash agrees, then the one with more
    // fixed segments (`.../delivery/recover/` over `.../delivery/{delivery_id}`).
    const rank = (route.trailingSlash === trailingSlash ? 1000 : 0) + fixed;
    if (!best || rank > best.rank) best = { route, params, rank };
  }
  if (best) {
    const canonicalPath = `/${best.route.segments
      .map((seg, i) => ('fixed' in seg ? seg.fixed : parts[i]!))
      .join('/')}${best.route.trailingSlash ? '/' : ''}`;
    return { kind: 'operation', route: best.route, params: best.params, canonicalPath };
  }
  if (allow.size > 0) return { kind: 'method', allow: [...allow].sort() };
  return { kind: 'none' };
}
