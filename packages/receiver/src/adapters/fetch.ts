import type { WebhookReceiver } from '../receiver.js';

/**
 * A Fetch-API handler for runtimes that speak `Request`/`Response` (Deno, Bun, workers, Hono). It
 * takes the query from `request.url`, which these runtimes pass on as it arrived.
 */
export function fetchHandler(
  receiver: WebhookReceiver,
  options: { onError?: (error: unknown) => void } = {},
): (request: Request) => Promise<Response> {
  return async (request) => {
    const body = request.method === 'POST' ? new Uint8Array(await request.arrayBuffer()) : undefined;
    try {
      const response = await receiver.handle({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body,
      });
      return new Response(response.body === '' ? null : response.body, {
        status: response.status,
        headers: response.headers,
      });
    } catch (error) {
      (options.onError ?? console.error)(error);
      return new Response(null, { status: 500 });
    }
  };
}
