import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { tokenHandlers } from './api/auth.js';
import { callHandlers } from './api/calls.js';
import { consoleRoutes } from './api/console.js';
import type { ServerContext } from './api/context.js';
import { deliveryHandlers } from './api/deliveries.js';
import { docsRoutes } from './api/docs.js';
import { HttpError, toHttpError } from './api/errors.js';
import { intakeHandlers } from './api/intake.js';
import { limitHandlers } from './api/limits.js';
import { apiRouter } from './api/router.js';
import type { ApiSpec, Route } from './api/routes.js';
import { streamHandlers } from './api/stream.js';
import { subscriptionHandlers } from './api/subscriptions.js';
import type { Handlers } from './api/typed.js';
import type { Metrics } from './metrics.js';
import { hashSecret } from './store/secrets.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createApp(ctx: ServerContext, spec: ApiSpec, metrics: Metrics): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // What is left to Express (the pages) is matched as exactly as the API is.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  if (ctx.config.trustProxy !== undefined) app.set('trust proxy', ctx.config.trustProxy);

  app.use(observe(ctx, metrics));
  // HEAD is GET without the body (RFC 9110): health checkers and proxies send it. Node decided
  // when the request arrived that a HEAD response carries no body, so from here on the request
  // is served as the GET it mirrors (auth, validation and handler alike).
  app.use((req, _res, next) => {
    if (req.method === 'HEAD') req.method = 'GET';
    next();
  });

  const handlers: Handlers = {
    ...tokenHandlers(ctx),
    ...subscriptionHandlers(ctx),
    ...deliveryHandlers(ctx),
    ...limitHandlers(ctx),
    ...callHandlers(ctx),
    ...intakeHandlers(ctx),
    ...streamHandlers(ctx),
    async getHealth() {
      const ok = await ctx.store.ping();
      return {
        status: ok ? 200 : 503,
        body: { status: ok ? 'ok' : 'degraded', store: ok ? 'ok' : 'unavailable' },
      };
    },
  };
  const batchLimit = batchBodyLimit(spec, ctx.config.maxBodyBytes);
  app.use(
    apiRouter(ctx, spec, {
      handlers,
      bodyLimit: (route: Route) =>
        route.operationId === 'ingestEvents' ? batchLimit : ctx.config.maxBodyBytes,
      pbxKeyHash: hashSecret(ctx.config.pbxKey ?? ''),
    }),
  );
  // Pages and metrics after the API: what the spec's paths do not name comes here.
  app.get('/', (_req, res) => res.redirect(302, '/docs/'));
  app.use(docsRoutes(spec));
  app.use(consoleRoutes());
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use((req, _res, next) => next(new HttpError(404, `No route ${req.method} ${req.path}`)));
  app.use(errorHandler(ctx));
  return app;
}

/**
 * The batch intake takes up to its schema's `maxItems` events, each as large as one event may be
 * alone, so its body limit is that many single-event limits (and room for the wrapper and each
 * event's comma and indentation): a full batch of the largest events always fits.
 */
export function batchBodyLimit(spec: ApiSpec, maxBodyBytes: number): number {
  const doc = spec.document as unknown as BatchDocument;
  const ref = doc.paths['/pbx/event/batch/'].post.requestBody.content['application/json'].schema.$ref;
  const maxItems =
    doc.components.schemas[ref.replace('#/components/schemas/', '')]!.properties.events.maxItems;
  return maxItems * (maxBodyBytes + 64) + 1024;
}

/** The parts of the spec `batchBodyLimit` reads. */
interface BatchDocument {
  paths: Record<
    '/pbx/event/batch/',
    { post: { requestBody: { content: { 'application/json': { schema: { $ref: string } } } } } }
  >;
  components: { schemas: Record<string, { properties: { events: { maxItems: number } } }> };
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
          : req.path.startsWith('/console')
            ? '/console'
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
