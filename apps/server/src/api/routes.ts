import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'yaml';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete' | 'patch';
const METHODS: readonly HttpMethod[] = ['get', 'post', 'put', 'delete', 'patch'];

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
  regex: RegExp;
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

function templateRegex(served: string): RegExp {
  const pattern = served
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${pattern}$`);
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
        | { operationId: string; security?: Array<Record<string, string[]>> }
        | undefined;
      if (!op) continue;
      const security = op.security ?? globalSecurity;
      routes.push({
        method,
        template,
        served,
        operationId: op.operationId,
        schemes: security.flatMap((req) => Object.keys(req)),
        regex: templateRegex(served),
      });
    }
  }
  return { document, text, validatorDocument, routes, basePath };
}

export interface RouteMatch {
  route: Route;
  /** The path to serve, when it differed from the request only by a trailing slash. */
  canonicalPath: string;
}

/**
 * Finds the operation for a request. The provider's paths end in a slash and clients write
 * them both ways, so a path that differs only by its trailing slash matches too.
 */
export function matchRoute(routes: Route[], method: string, path: string): RouteMatch | undefined {
  const m = method.toLowerCase();
  const toggled = path.endsWith('/') ? path.slice(0, -1) : `${path}/`;
  for (const candidate of [path, toggled]) {
    for (const route of routes) {
      if (route.method === m && route.regex.test(candidate)) return { route, canonicalPath: candidate };
    }
  }
  return undefined;
}

/** Any route on this path, whatever the method (to tell 405 from 404). */
export function pathExists(routes: Route[], path: string): boolean {
  const toggled = path.endsWith('/') ? path.slice(0, -1) : `${path}/`;
  return routes.some((r) => r.regex.test(path) || r.regex.test(toggled));
}
