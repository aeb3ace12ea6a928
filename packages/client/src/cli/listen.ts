import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventType } from '@callhook/contract';
import { readRawBody, WebhookReceiver } from '@callhook/receiver';
import type { CallhookClient } from '../client.js';
import { CallhookApiError } from '../errors.js';
import { details, summarize } from './summary.js';
import { parseEventTypes, UsageError } from './usage.js';

export interface ListenOptions {
  extension: string;
  /** Comma-separated event types; all of them when absent. */
  events?: string | undefined;
  forward?: string | undefined;
  verbose?: boolean;
  json?: boolean;
  port?: number;
  /** The URL callhook should call when it cannot reach this machine's loopback (a tunnel). */
  publicUrl?: string | undefined;
}

export interface Output {
  /** Events (stdout). */
  out: (line: string) => void;
  /** Status and problems (stderr). */
  err: (line: string) => void;
}

/** Hop-by-hop and framing headers are the forwarder's own business, not the event's. */
const NOT_FORWARDED = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

async function forward(target: string, req: IncomingMessage, body: Buffer | undefined): Promise<string> {
  const url = new URL(target);
  // The query is the event data (GET) or the subscription URL's own parameters: keep it as sent.
  const query = (req.url ?? '').split('?')[1];
  if (query !== undefined) url.search = url.search ? `${url.search}&${query}` : `?${query}`;
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || NOT_FORWARDED.has(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: req.method ?? 'POST',
      headers,
      ...(body && body.length > 0 ? { body: new Uint8Array(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return `→ ${url.origin}${url.pathname} ${response.status} (${Math.round(performance.now() - started)} ms)`;
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    return `→ ${url.origin}${url.pathname} failed: ${cause}`;
  }
}

/**
 * `callhook listen`: a local receiver, subscribed for as long as it runs. Resolves with the exit
 * code once a signal stopped it and the subscriptions it made are removed.
 */
export async function listen(client: CallhookClient, options: ListenOptions, io: Output): Promise<number> {
  const types = await parseEventTypes(options.events);
  if (options.forward !== undefined) {
    try {
      new URL(options.forward);
    } catch {
      throw new UsageError(`--forward needs an absolute URL, got "${options.forward}"`);
    }
  }
  let receiver: WebhookReceiver | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const body = method === 'POST' ? await readRawBody(req) : undefined;
    if (!receiver) {
      // Subscribing is still under way; callhook retries what it could not deliver.
      res.writeHead(503).end();
      return;
    }
    const response = await receiver.handle({ method, url: req.url ?? '/', headers: req.headers, body });
    if (response.error) {
      io.err(`!! refused ${method} ${req.url}: ${response.error.message} (answered ${response.status})`);
    } else if (response.delivery) {
      const { delivery } = response;
      if (options.json) {
        io.out(JSON.stringify({ ...delivery, duplicate: response.duplicate ?? false }));
      } else if (response.duplicate) {
        io.out(`(retry of ${delivery.id}, already shown)`);
      } else {
        io.out(summarize(delivery.event));
        if (options.verbose) {
          io.out(`    webhook-id = ${delivery.id}  (${delivery.method}, signature verified)`);
          for (const line of details(delivery.event)) io.out(line);
          for (const line of details(delivery.params)) io.out(`${line}  (subscription URL's own)`);
        }
      }
      if (options.forward && !response.duplicate) io.err(await forward(options.forward, req, body));
    }
    res.writeHead(response.status, response.headers).end(response.body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      io.err(`!! ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `port ${options.port} on 127.0.0.1`;
      const choose = 'choose another with --port, or leave --port out to take a free one';
      if (err.code === 'EADDRINUSE') reject(new UsageError(`${where} is already in use: ${choose}`));
      else if (err.code === 'EACCES')
        reject(new UsageError(`${where} is not allowed for this user: ${choose}`));
      else reject(err);
    });
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const local = `http://127.0.0.1:${port}/`;
  const url = options.publicUrl ?? local;
  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  const created: { id: number; event_type: EventType }[] = [];
  const secrets: string[] = [];
  const cleanup = async (): Promise<number> => {
    const results = await Promise.allSettled(
      created.map((s) => client.subscriptions.delete(options.extension, s.id)),
    );
    let failed = 0;
    results.forEach((result, i) => {
      const sub = created[i]!;
      if (result.status === 'fulfilled') return;
      // Already gone is what we wanted.
      if (result.reason instanceof CallhookApiError && result.reason.status === 404) return;
      failed++;
      io.err(
        `could not remove subscription ${sub.id} (${sub.event_type}): ${(result.reason as Error).message}`,
      );
    });
    return failed;
  };

  try {
    for (const type of types) {
      const sub = await client.subscriptions.create(options.extension, {
        url,
        event_type: type,
        method: 'POST',
      });
      created.push({ id: sub.id, event_type: type });
      secrets.push(sub.secret);
    }
  } catch (error) {
    await cleanup();
    await closeServer();
    if (error instanceof CallhookApiError && error.code === 'target_refused' && !options.publicUrl) {
      throw new UsageError(
        `${error.body.message}\nThis server does not send to loopback addresses (it is not in demo mode). ` +
          'Expose the listener through a tunnel and pass its address with --public-url.',
      );
    }
    throw error;
  }
  receiver = new WebhookReceiver({ secret: secrets });

  io.err(
    `Ready. Listening on ${local}${options.publicUrl ? ` (reached at ${url})` : ''} for ${types.join(', ')} ` +
      `on extension ${options.extension}.`,
  );
  io.err(`Subscriptions ${created.map((s) => s.id).join(', ')}; they are removed when you press Ctrl-C.`);
  if (options.forward) io.err(`Forwarding each event to ${options.forward}.`);
  if (options.verbose || options.forward) {
    for (const [i, s] of created.entries()) io.err(`  ${s.event_type} signing secret: ${secrets[i]}`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        io.err(
          `${signal} again: leaving now; subscriptions ${created.map((s) => s.id).join(', ')} may remain.`,
        );
        resolve(130);
        return;
      }
      stopping = true;
      io.err(`Removing the ${created.length} subscription(s)…`);
      void (async () => {
        const failed = await cleanup();
        await closeServer();
        io.err(failed === 0 ? 'Done.' : `${failed} subscription(s) could not be removed.`);
        resolve(failed === 0 ? 0 : 1);
      })();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
