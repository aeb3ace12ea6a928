import type { IncomingMessage, ServerResponse } from 'node:http';
import { MalformedRequestError } from '../errors.js';
import type { WebhookReceiver } from '../receiver.js';
import { type AdapterOptions, errorResponse, readRawBody, writeResponse } from './node.js';

/** What the middleware uses of Express's request, so this package does not depend on Express. */
export type ExpressLikeRequest = IncomingMessage & { originalUrl?: string; body?: unknown };

/**
 * Express middleware (4 or 5) that reads the raw body itself: mount it before any body parser, or
 * behind `express.raw({ type: '*\/*' })`, since a parsed body no longer has the bytes that were
 * signed. Handler errors go to `next`, the Express way; answer them with a 5xx so the sender retries.
 */
export function expressMiddleware(
  receiver: WebhookReceiver,
  options: Omit<AdapterOptions, 'onError'> = {},
): (req: ExpressLikeRequest, res: ServerResponse, next: (error?: unknown) => void) => void {
  return (req, res, next) => {
    const method = req.method ?? 'GET';
    let body: Promise<Uint8Array | undefined>;
    if (method !== 'POST') body = Promise.resolve(undefined);
    else if (Buffer.isBuffer(req.body)) body = Promise.resolve(req.body);
    else if (req.readableEnded) {
      next(new Error('the request body was already parsed: mount the webhook receiver before body parsers'));
      return;
    } else body = readRawBody(req, options.maxBodyBytes);
    body
      // `originalUrl` keeps the mount path and the query exactly as received; `url` is rewritten by routers.
      .then((bytes) =>
        receiver.handle({
          method,
          url: req.originalUrl ?? req.url ?? '/',
          headers: req.headers,
          body: bytes,
        }),
      )
      .then(
        (response) => writeResponse(res, response),
        (error: unknown) => {
          if (error instanceof MalformedRequestError) writeResponse(res, errorResponse(error));
          else next(error);
        },
      );
  };
}
