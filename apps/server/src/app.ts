import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { tokenRoutes } from './api/auth.js';
import { callRoutes } from './api/calls.js';
import { type ServerContext, setPrincipal } from './api/context.js';
import { deliveryRoutes } from './api/deliveries.js';
import { docsRoutes } from './api/docs.js';
import { HttpError, toHttpError } from './api/errors.js';
import { intakeRoutes } from './api/intake.js';
import { limitRoutes } from './api/limits.js';
import type { Metrics } from './api/metrics.js';
import { type ApiSpec, matchRoute } from './api/routes.js';
import { subscriptionRoutes } from './api/subscriptions.js';
import { hashSecret, secretMatches } from './auth/secrets.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createApp(ctx: ServerContext, spec: ApiSpec, metrics: Metrics): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(observe(ctx, metrics));
  // HEAD is GET without the body (RFC 9110): health checkers and proxies send it. Node decided
  // when the request arrived that a HEAD response carries no body, so from here on the request
  // is served as the GET it mirrors (auth, validation and handler alike).
  app.use((req, _res, next) => {
    if (req.method === 'HEAD') req.method = 'GET';
    next();
  });

  app.use(authenticate(ctx, spec));
  app.use(express.json({ limit: ctx.config.maxBodyBytes }));
  app.use(express.urlencoded({ extended: false, limit: ctx.config.maxBodyBytes, parameterLimit: 100 }));
  app.use(validate(ctx, spec));

  app.get('/healthz', async (_req, res) => {
    const ok = await ctx.store.ping();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'degraded', store: ok ? 'ok' : 'unavailable' });
  });
  app.use(tokenRoutes(ctx));
  app.use(subscriptionRoutes(ctx));
  app.use(deliveryRoutes(ctx));
  app.use(limitRoutes(ctx));
  app.use(callRoutes(ctx));
  app.use(intakeRoutes(ctx));
  // Pages and metrics after the API: every API request walks the layers before its own, and
  // these paths are none of the spec's, so the layers above let them through untouched.
  app.use(docsRoutes(spec));
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use((req, _res, next) => next(new HttpError(404, `No route ${req.method} ${req.path}`)));
  app.use(errorHandler(ctx));
  return app;
}

/**
 * Request (and, in tests, response) validation against the spec, with one validator per spec
 * path. express-openapi-validator finds a request's operation by compiling every path of its
 * document to a regular expression on every request; with the whole spec that loop was a large
 * share of a request's cost. Here the path is found once (`authenticate` has matched it) and
 * only that path's validator runs, over a document holding that path alone.
 */
function validate(ctx: ServerContext, spec: ApiSpec): RequestHandler {
  const byPath = new Map<string, express.Router>();
  for (const [served, item] of Object.entries(spec.validatorDocument.paths)) {
    const router = express.Router();
    router.use(
      OpenApiValidator.middleware({
        apiSpec: { ...spec.validatorDocument, paths: { [served]: item } } as unknown as string,
        validateApiSpec: false,
        // The trailing-slash mending in `authenticate` rewrites req.url; validate what is served.
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
  return (req, res, next) => {
    // `authenticate` has matched the operation; a known path with another method still goes to
    // its path's validator, which answers 405 with Allow.
    const served = (res.locals.served as string | undefined) ?? findPath(spec, req.path);
    const router = served === undefined ? undefined : byPath.get(served);
    if (!router) return next();
    router(req, res, next);
  };
}

function findPath(spec: ApiSpec, path: string): string | undefined {
  const toggled = path.endsWith('/') ? path.slice(0, -1) : `${path}/`;
  return spec.routes.find((r) => r.regex.test(path) || r.regex.test(toggled))?.served;
}

/** Request id, access log and metrics, labelled by the spec's route. */
function observe(ctx: ServerContext, metrics: Metrics): RequestHandler {
  // prom-client hashes a label object on every inc/observe; the children of each label set are
  // kept instead. Label values are bounded: Node accepts only known methods, routes are the
  // spec's templates or a few fixed names, statuses are numbers.
  type Children = { count: { inc(): void }; seconds: { observe(v: number): void } };
  const children = new Map<string, Children>();
  const logInfo = ctx.logger.isLevelEnabled('info');
  return (req, res, next) => {
    // As received: a HEAD is served as GET below, and is counted as what it was.
    const method = req.method;
    const incoming = req.get('x-request-id');
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route =
        (res.locals.route as string | undefined) ??
        (req.path.startsWith('/docs')
          ? '/docs'
          : req.path === '/metrics' || req.path === '/openapi.yaml' || req.path === '/openapi.json'
            ? req.path
            : 'unmatched');
      const status = String(res.statusCode);
      const key = `${method} ${route} ${status}`;
      let c = children.get(key);
      if (!c) {
        const labels = { method, route, status };
        c = { count: metrics.requests.labels(labels), seconds: metrics.requestSeconds.labels(labels) };
        children.set(key, c);
      }
      c.count.inc();
      c.seconds.observe(seconds);
      // The path only: queries may carry data, and nothing secret is ever logged.
      if (logInfo)
        ctx.logger.info(
          {
            req_id: id,
            method,
            path: req.path,
            route,
            status: res.statusCode,
            ms: Math.round(seconds * 1e4) / 10,
          },
          'request',
        );
    });
    next();
  };
}

/**
 * Finds the spec operation, mends a missing or extra trailing slash, and checks the credentials
 * the operation's security asks for, before any body is read.
 */
function authenticate(ctx: ServerContext, spec: ApiSpec): RequestHandler {
  const pbxKeyHash = hashSecret(ctx.config.pbxKey ?? '');
  return async (req, res, next) => {
    const match = matchRoute(spec.routes, req.method, req.path);
    if (!match) return next();
    res.locals.route = match.route.template;
    res.locals.served = match.route.served;
    res.locals.operationId = match.route.operationId;
    if (match.canonicalPath !== req.path) {
      const q = req.url.indexOf('?');
      req.url = match.canonicalPath + (q === -1 ? '' : req.url.slice(q));
    }
    const schemes = match.route.schemes;
    try {
      if (schemes.includes('pbxKey')) {
        const key = req.get('x-pbx-key');
        if (!key || !secretMatches(key, pbxKeyHash)) {
          throw new HttpError(
            401,
            key ? 'Wrong X-PBX-Key' : 'The PBX intake needs the X-PBX-Key header',
            {},
            {
              'WWW-Authenticate': 'X-PBX-Key',
            },
          );
        }
      } else if (schemes.includes('bearer') || schemes.includes('oauth2')) {
        setPrincipal(req, await ctx.tokens.authenticate(req.get('authorization')));
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}

function errorHandler(ctx: ServerContext): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let e = toHttpError(err);
    if (e.status >= 500)
      ctx.logger.error({ err, req_id: res.locals.requestId, path: req.path }, 'request failed');
    // The token endpoint speaks OAuth2: every error carries an `error` code.
    if (res.locals.operationId === 'createToken' && e.extra.error === undefined && e.status < 500) {
      const grantType = e.extra.errors?.some((f) => f.field === 'grant_type' && f.rule === 'enum');
      const code = grantType ? 'unsupported_grant_type' : 'invalid_request';
      e = new HttpError(
        e.status,
        e.message,
        { ...e.extra, error: code, error_description: e.message },
        e.headers,
      );
    }
    if (res.headersSent) return;
    res
      .status(e.status)
      .set(e.headers)
      .json({ message: e.message, ...e.extra, request_id: res.locals.requestId });
  };
}
