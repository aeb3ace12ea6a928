import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  /** The request target exactly as sent (path and query). */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

export type Reply = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

/** A real HTTP receiver on loopback that records every request it gets. */
export interface Receiver {
  url: string;
  received: ReceivedRequest[];
  reply: Reply;
  /** Resolves once `count` requests arrived (or rejects after `ms`). */
  waitFor(count: number, ms?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** `port`: listen there (a port that refused connections until now); a free one by default. */
export async function startReceiver(
  reply: Reply = (_r, res) => void res.end('ok'),
  port = 0,
): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const waiters: Array<() => void> = [];
  const receiver: Receiver = {
    url: '',
    received,
    reply,
    waitFor(count, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length >= count) {
            clearTimeout(timer);
            resolve(received);
            return true;
          }
          return false;
        };
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} requests, got ${received.length} after ${ms} ms`)),
          ms,
        );
        const waiter = () => {
          if (!check()) waiters.push(waiter);
        };
        if (!check()) waiters.push(waiter);
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      received.push(r);
      for (const w of waiters.splice(0)) w();
      void receiver.reply(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/**
 * Replies for receivers that answer their first `answerFirst` requests and hold every later one
 * (read, never answered) until `release`, which answers those held and every one after. One
 * `reply()` per receiver: each counts its own answers.
 */
export function holdingReplies(answerFirst = 0): { reply: () => Reply; release: () => void } {
  const held: ServerResponse[] = [];
  let open = false;
  return {
    reply: () => {
      let answered = 0;
      return (_req, res) => {
        if (open || answered++ < answerFirst) res.end('ok');
        else held.push(res);
      };
    },
    release: () => {
      open = true;
      for (const res of held.splice(0)) res.end('ok');
    },
  };
}
