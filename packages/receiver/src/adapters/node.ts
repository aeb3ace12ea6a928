import type { IncomingMessage, ServerResponse } from 'node:http';
import { MalformedRequestError } from '../errors.js';
import type { WebhookReceiver, WebhookResponse } from '../receiver.js';

export interface AdapterOptions {
  /** Bodies larger than this are refused with 413 before they are read to the end. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Told of every error a handler throws (the sender gets a 500 and retries). Default `console.error`. */
  onError?: (error: unknown) => void;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

/** Reads a request body as the exact bytes sent, which is what the signature covers. */
export function readRawBody(req: IncomingMessage, maxBytes = DEFAULT_MAX_BODY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new MalformedRequestError(`body larger than ${maxBytes} bytes`, 413));
        // Stop buffering but keep draining, so the 413 can still be written on this connection.
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

export function writeResponse(
  res: ServerResponse,
  response: Pick<WebhookResponse, 'status' | 'headers' | 'body'>,
): void {
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}

export function errorResponse(error: MalformedRequestError): WebhookResponse {
  return {
    status: error.status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ error: error.code, message: error.message }),
    error,
  };
}

/** A `node:http` request listener. A handler that throws makes a 500, so the sender retries. */
export function nodeHandler(
  receiver: WebhookReceiver,
  options: AdapterOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const method = req.method ?? 'GET';
    const body = method === 'POST' ? readRawBody(req, options.maxBodyBytes) : Promise.resolve(undefined);
    body
      .then((bytes) => receiver.handle({ method, url: req.url ?? '/', headers: req.headers, body: bytes }))
      .then(
        (response) => writeResponse(res, response),
        (error: unknown) => {
          if (error instanceof MalformedRequestError) writeResponse(res, errorResponse(error));
          else {
            if (!res.headersSent) writeResponse(res, { status: 500, headers: {}, body: '' });
            (options.onError ?? console.error)(error);
          }
        },
      );
  };
}
