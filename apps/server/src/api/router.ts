import { type OperationId, operationSecurity } from '@callhook/contract';
import express, { type Request, type RequestHandler, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { secretMatches } from '../store/secrets.js';
import type { ServerContext } from './context.js';
import { badRequest, HttpError } from './errors.js';
import { type ApiSpec, matchPath, type Route } from './routes.js';
import type { Handlers, PbxCaller } from './typed.js';

const TOKEN_SCHEMES = new Set(['oauth2', 'bearer']);
const PBX: PbxCaller = Object.freeze({ kind: 'pbx' });

export interface RouterOptions {
  handlers: Handlers;
  /** The most bytes a request body of this operation may have. */
  bodyLimit(route: Route): number;
  /** SHA-256 of the PBX key (see `hashSecret`). */
  pbxKeyHash: string;
}

/**
 * The API: the spec's route table is the only thing that dispatches. Each request is matched
 * once (`matchPath`); the credentials the matched operation's security asks for, its body
 * parser, its validator and its handler all run from that one match, in that order, so no
 * request reaches a handler by a path its checks did not see. Paths that are no operation go
 * on to the pages (docs, metrics) and the 404.
 */
export function apiRouter(ctx: ServerContext, spec: ApiSpec, opts: RouterOptions): RequestHandler {
  checkAgainstContract(spec.routes, opts.handlers);
  const validators = validatorsByPath(ctx, spec);
  const pipelines = new Map(spec.routes.map((route) => [route, pipeline(ctx, route, opts, validators)]));
  return (req, res, next) => {
    const match = matchPath(spec.routes, req.method, req.path);
    if (match.kind === 'none') return next();
    if (match.kind === 'method') {
      return next(
        new HttpError(405, `${req.method} is not allowed here`, {}, { Allow: match.allow.join(', ') }),
      );
    }
    const { route, params, canonicalPath } = match;
    res.locals.route = route.template;
    res.locals.operationId = route.operationId;
    // The validator finds its operation in req.url: give it the path as the spec writes it.
    if (canonicalPath !== req.path) {
      const q = req.url.indexOf('?');
      req.url = canonicalPath + (q === -1 ? '' : req.url.slice(q));
    }
    pipelines.get(route)!(req, res, params).catch(next);
  };
}

/**
 * Boot-time agreement of three things read from the spec at different times: the route table
 * (the YAML, now), the contract's types (generated from it at build time) and the handler table.
 * A server whose spec and code disagree about what exists or what is secured does not start.
 */
export function checkAgainstContract(routes: Route[], handlers: Readonly<Record<string, unknown>>): void {
  const problems: string[] = [];
  const inSpec = new Set(routes.map((r) => r.operationId));
  const contract = operationSecurity as Record<string, readonly string[]>;
  for (const route of routes) {
    const id = route.operationId;
    if (!(id in contract)) problems.push(`${id}: in the spec but not in the contract (run pnpm gen)`);
    else if (contract[id]!.join() !== route.schemes.join()) {
      problems.push(`${id}: secured by [${route.schemes}] in the spec, [${contract[id]}] in the contract`);
    }
    if (typeof handlers[id] !== 'function') problems.push(`${id}: no handler`);
    const tokens = route.schemes.filter((s) => TOKEN_SCHEMES.has(s));
    const pbx = route.schemes.filter((s) => s === 'pbxKey');
    if (tokens.length + pbx.length !== route.schemes.length || (tokens.length > 0 && pbx.length > 0)) {
      problems.push(`${id}: security [${route.schemes}] is not one this server checks`);
    }
  }
  for (const id of Object.keys(handlers))
    if (!inSpec.has(id)) problems.push(`${id}: a handler of no operation`);
  for (const id of Object.keys(contract)) if (!inSpec.has(id)) problems.push(`${id}: not in the spec`);
  if (problems.length) throw new Error(`The API does not match its spec:\n  ${problems.join('\n  ')}`);
}

type Pipeline = (req: Request, res: Response, params: Record<string, string | undefined>) => Promise<void>;

function pipeline(
  ctx: ServerContext,
  route: Route,
  opts: RouterOptions,
  validators: Map<string, RequestHandler>,
): Pipeline {
  const handler = opts.handlers[route.operationId as OperationId] as (input: object) => Promise<{
    status: number;
    body: unknown;
    headers?: Record<string, string>;
  }>;
  const parsers = bodyParsers(route, opts.bodyLimit(route));
  const validator = validators.get(route.served)!;
  const secured = route.schemes.length > 0;
  const byPbxKey = route.schemes.includes('pbxKey');

  return async (req, res, params) => {
    // Credentials first, before any body is read: an unauthenticated caller gets nothing else.
    const credentials = !secured
      ? {}
      : byPbxKey
        ? { pbx: checkPbxKey(req, opts.pbxKeyHash) }
        : { principal: await ctx.tokens.authenticate(req.get('authorization')) };
    for (const [name, value] of Object.entries(params)) {
      if (value === undefined) {
        throw badRequest(`${name}: the percent-encoding is malformed`, [
          { field: name, location: 'path', rule: 'encoding', message: 'the percent-encoding is malformed' },
        ]);
      }
    }
    for (const parse of parsers) await call(parse, req, res);
    refuseLoneSurrogates(req.body);
    await call(validator, req, res);
    refuseNonFinite(req.query);
    const reply = await handler({ path: params, query: req.query, body: req.body, req, ...credentials });
    // A handler that streams (Server-Sent Events) has written its response itself.
    if (res.headersSent) return;
    if (reply.headers) res.set(reply.headers);
    res.status(reply.status);
    if (reply.body === undefined) res.end();
    else res.json(reply.body);
  };
}

/**
 * The validator coerces a query parameter to a number as JavaScript reads it: `1e400` becomes
 * Infinity and passed the spec's `integer` and `maximum` as coerced (a 500 from the store that was
 * handed it as a LIMIT). JSON Schema's numbers are finite; such a value is refused here, by name.
 */
function refuseNonFinite(query: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(query)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === 'number' && !Number.isFinite(v))) {
      throw badRequest(`${name}: must be a finite number`, [
        { field: name, location: 'query', rule: 'type', message: 'must be a finite number' },
      ]);
    }
  }
}

function checkPbxKey(req: Request, hash: string): PbxCaller {
  const key = req.get('x-pbx-key');
  if (!key || !secretMatches(key, hash)) {
    throw new HttpError(
      401,
      key ? 'Wrong X-PBX-Key' : 'The PBX intake needs the X-PBX-Key header',
      {},
      { 'WWW-Authenticate': 'X-PBX-Key' },
    );
  }
  return PBX;
}

function call(mw: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    mw(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });
}

function bodyParsers(route: Route, limit: number): RequestHandler[] {
  const parsers: RequestHandler[] = [];
  if (route.bodyTypes.includes('application/json')) parsers.push(express.json({ limit }));
  if (route.bodyTypes.includes('application/x-www-form-urlencoded')) {
    parsers.push(express.urlencoded({ extended: false, limit, parameterLimit: 100 }));
  }
  return parsers;
}

// In Unicode mode a surrogate pair is one code point, so this finds only lone halves.
const LONE_SURROGATES = /\p{Cs}/gu;

/**
 * Text is stored and sent as UTF-8, which cannot hold half of a UTF-16 surrogate pair: such a
 * string would come back changed. JSON's `\ud800` escapes are the only way one gets in (form
 * and path decoding replace or refuse them). Walked without recursion: depth is the sender's. A
 * field's dotted name is only spelled out for the one refused (every key and value of a batch is
 * looked at, and naming each cost more than looking).
 */
function refuseLoneSurrogates(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  const stack: Step[] = [{ value: body, key: '', parent: undefined }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    const { value } = step;
    if (typeof value === 'string') {
      if (!isWellFormed(value)) throw loneSurrogate(fieldOf(step));
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        const child: Step = { value: (value as Record<string, unknown>)[key], key, parent: step };
        if (!isWellFormed(key)) throw loneSurrogate(fieldOf(child).replace(LONE_SURROGATES, '\ufffd'));
        stack.push(child);
      }
    }
  }
}

interface Step {
  value: unknown;
  key: string;
  parent: Step | undefined;
}

/** `events.0.data.Extra`: the keys from the body down to this step. */
function fieldOf(step: Step): string {
  const keys: string[] = [];
  for (let s: Step | undefined = step; s?.parent !== undefined; s = s.parent) keys.push(s.key);
  return keys.reverse().join('.');
}

/** `String.prototype.isWellFormed` (Node 20; TypeScript's ES2023 lib does not declare it yet). */
const isWellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

function loneSurrogate(field: string): HttpError {
  const message = 'must be well-formed Unicode: it holds a lone UTF-16 surrogate';
  return badRequest(`${field}: ${message}`, [{ field, location: 'body', rule: 'unicode', message }]);
}

/**
 * The validator's document for one path: that path, and only the components it reaches through
 * `$ref`s. Each validator instance preprocesses every schema of its document (most of the
 * server's start-up was spent so, once per path over the whole spec); webhooks are left out, the
 * validator never checks them.
 */
function documentFor(doc: ApiSpec['validatorDocument'], served: string, item: unknown): object {
  const all = (doc.components ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const kept: Record<string, Record<string, unknown>> = {};
  const seen = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) for (const x of node) visit(x);
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/') && !seen.has(v)) {
          seen.add(v);
          const [kind, name] = v.slice('#/components/'.length).split('/') as [string, string];
          const target = all[kind]?.[name];
          if (target !== undefined) {
            kept[kind] ??= {};
            kept[kind][name] = target;
            visit(target);
          }
        } else visit(v);
      }
    }
  };
  visit(item);
  if (all.securitySchemes) kept.securitySchemes = all.securitySchemes;
  const { webhooks: _webhooks, ...rest } = doc as typeof doc & { webhooks?: unknown };
  return { ...rest, paths: { [served]: item }, components: kept };
}

type Schema = Record<string, unknown> & {
  oneOf?: unknown[];
  discriminator?: { propertyName: string; mapping?: Record<string, string> };
};

/**
 * The validator's copy of a document with each discriminated `oneOf` (the intake's event) written
 * as the choice it is: the tag must be one of the mapping's values, and the branch that value
 * names must hold (`if` tag is X `then` X's schema). A `oneOf` is checked against every branch
 * (all seven, for every event: most of what validating a batch cost), and reported every failing
 * branch's errors (22 for one unknown event type); this checks one branch and reports its errors,
 * or the tag's. The same values, from the spec's own mapping. The document is unchanged when it
 * has no discriminator.
 */
function discriminatedByTag(doc: object): object {
  const schemas = (doc as { components?: { schemas?: Record<string, Schema> } }).components?.schemas ?? {};
  if (!Object.values(schemas).some((s) => s.discriminator?.mapping && s.oneOf)) return doc;
  const copy = structuredClone(doc) as { components: { schemas: Record<string, Schema> } };
  for (const [name, schema] of Object.entries(copy.components.schemas)) {
    if (!schema.discriminator?.mapping || !schema.oneOf) continue;
    const { propertyName: tag, mapping } = schema.discriminator;
    // Every branch must be one the tag can name, or the rewrite would drop it.
    const mapped = new Set(Object.values(mapping));
    for (const branch of schema.oneOf as Array<{ $ref?: string }>) {
      if (!branch.$ref || !mapped.has(branch.$ref))
        throw new Error(`${name}: every oneOf branch needs a discriminator mapping entry`);
    }
    const { oneOf: _oneOf, discriminator: _discriminator, allOf = [], ...rest } = schema;
    copy.components.schemas[name] = {
      ...rest,
      // Added beside whatever the schema already says, not over it.
      allOf: [
        ...(allOf as unknown[]),
        // An enum of strings refuses a tag of any other type too: one error, not two.
        { type: 'object', required: [tag], properties: { [tag]: { enum: Object.keys(mapping) } } },
        ...Object.entries(mapping).map(([value, $ref]) => ({
          if: { type: 'object', properties: { [tag]: { const: value } }, required: [tag] },
          // biome-ignore lint/suspicious/noThenProperty: JSON Schema's then, an object (no thenable)
          then: { $ref },
        })),
      ],
    };
  }
  return copy;
}

/**
 * express-openapi-validator, one instance per spec path, each over a document holding that path
 * alone: the router has found the operation, so the validator need not look for it among all.
 */
function validatorsByPath(ctx: ServerContext, spec: ApiSpec): Map<string, RequestHandler> {
  const byPath = new Map<string, RequestHandler>();
  for (const [served, item] of Object.entries(spec.validatorDocument.paths)) {
    const router = express.Router();
    router.use(
      OpenApiValidator.middleware({
        apiSpec: discriminatedByTag(documentFor(spec.validatorDocument, served, item)) as unknown as string,
        validateApiSpec: false,
        // The router rewrote req.url to the spec's form of the path; validate what is served.
        useRequestUrl: true,
        // Parameters (path, query, header) are always coerced by the validator; this switch only
        // governs bodies. JSON bodies carry real types, and the one form body (the token request)
        // is all strings, so nothing needs coercing: with it on, `"enabled": "false"` or `null`
        // quietly became `false` and `"grace_seconds": null` became 0.
        validateRequests: { allErrors: true, coerceTypes: false },
        validateResponses: ctx.config.validateResponses
          ? {
              onError: (err, body, req) => {
                ctx.logger.error({ err, body, path: req.path }, 'response does not match the spec');
                throw new HttpError(500, `Response does not match the spec: ${err.message}`);
              },
            }
          : false,
        validateSecurity: false,
        validateFormats: true,
      }),
    );
    byPath.set(served, router);
  }
  return byPath;
}
