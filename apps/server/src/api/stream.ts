import type { StreamEvent } from '@callhook/contract';
import type { Response } from 'express';
import type { StoredEvent } from '../store/index.js';
import { resolveExtension, type ServerContext } from './context.js';
import { HttpError } from './errors.js';
import type { Handlers } from './typed.js';

/** How many event streams one client may hold at once (the spec says so too). */
export const STREAMS_PER_CLIENT = 5;
/** How often a stream looks for events another instance stored (this one's wake it at once). */
const POLL_MS = 1_000;
const KEEP_ALIVE_MS = 15_000;
const BATCH = 200;

/**
 * The live streams of this instance: how many each client holds, who waits for an extension's
 * events, and how to end them all at shutdown (an open stream would otherwise hold the server).
 */
export class StreamHub {
  private readonly perClient = new Map<number, number>();
  private readonly waiting = new Map<number, Set<() => void>>();
  private readonly open = new Set<() => void>();

  /** How often an open stream checks that its token is still valid. */
  tokenCheckMs = 30_000;

  constructor(readonly maxPerClient = STREAMS_PER_CLIENT) {}

  /** Counts a new stream of the client, or says no when it holds the most it may. */
  acquire(clientId: number): boolean {
    const n = this.perClient.get(clientId) ?? 0;
    if (n >= this.maxPerClient) return false;
    this.perClient.set(clientId, n + 1);
    return true;
  }

  release(clientId: number): void {
    const n = (this.perClient.get(clientId) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(clientId);
    else this.perClient.set(clientId, n);
  }

  /** The intake stored events of these extensions: wake their streams. */
  stored(extensionIds: Iterable<number>): void {
    // Every intake batch comes here; with no stream waiting there is nothing to do.
    if (this.waiting.size === 0) return;
    // An id seen twice finds nobody waiting the second time: its waiters were woken and removed.
    for (const id of extensionIds) {
      const set = this.waiting.get(id);
      if (!set) continue;
      this.waiting.delete(id);
      for (const wake of set) wake();
    }
  }

  /** Resolves when the extension has new events here, or after `ms`. */
  wait(extensionId: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiting.get(extensionId);
      if (!set) {
        set = new Set();
        this.waiting.set(extensionId, set);
      }
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  /** Registers a stream's way to end; returns its unregistering. */
  track(end: () => void): () => void {
    this.open.add(end);
    return () => this.open.delete(end);
  }

  /** Ends every stream (shutdown). */
  closeAll(): void {
    for (const end of [...this.open]) end();
    for (const set of this.waiting.values()) for (const wake of [...set]) wake();
  }
}

export function presentStreamEvent(e: StoredEvent): StreamEvent {
  return {
    id: e.id,
    event_type: e.eventType,
    call_id: e.callId,
    received_at: new Date(e.receivedAt).toISOString(),
    data: e.data,
  };
}

export function streamHandlers(ctx: ServerContext) {
  return {
    async streamExtensionEvents({ path, query, req, principal }) {
      const ext = await resolveExtension(ctx, principal, path.extension_id);
      const hub = ctx.streams;
      if (!hub.acquire(principal.clientId)) {
        throw new HttpError(
          429,
          `This client holds ${hub.maxPerClient} event streams already: close one first`,
          { code: 'too_many_streams' },
          { 'Retry-After': '5' },
        );
      }
      const res = req.res as Response;
      let closed = false;
      const end = () => {
        closed = true;
        res.end();
      };
      const untrack = hub.track(end);
      // The response closes when the client goes away (or once it has ended).
      res.on('close', () => {
        closed = true;
        hub.stored([ext.id]);
      });
      try {
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
        });
        res.flushHeaders();
        // Reconnect after 2 s, and tell any proxy the stream is alive.
        res.write('retry: 2000\n\n');
        const write = (events: StoredEvent[]) => {
          for (const e of events) {
            res.write(`id: ${e.id}\nevent: call-event\ndata: ${JSON.stringify(presentStreamEvent(e))}\n\n`);
          }
        };
        const lastSeen = req.get('last-event-id');
        let after: number;
        if (lastSeen !== undefined && lastSeen !== '') {
          after = Number(lastSeen);
        } else {
          const newest = await ctx.store.outbox.lastEventId(ext.id);
          const backlog = await ctx.store.outbox.eventsOf(ext.id, {
            latest: Number(query.backlog ?? 50),
            limit: 500,
          });
          const shown = backlog.filter((e) => e.id <= newest);
          write(shown);
          after = newest;
        }
        let lastWrite = Date.now();
        let checkedAt = Date.now();
        while (!closed) {
          // A stream lives no longer than its token: once the token has expired (or is gone), the
          // stream ends and the client opens a new one with a fresh token and its Last-Event-ID.
          if (Date.now() - checkedAt >= hub.tokenCheckMs) {
            checkedAt = Date.now();
            const still = await ctx.tokens.authenticate(req.get('authorization')).then(
              () => true,
              () => false,
            );
            if (!still) break;
          }
          const events = await ctx.store.outbox.eventsOf(ext.id, { afterId: after, limit: BATCH });
          if (closed) break;
          if (events.length > 0) {
            write(events);
            after = events[events.length - 1]!.id;
            lastWrite = Date.now();
            if (events.length === BATCH) continue;
          } else if (Date.now() - lastWrite >= KEEP_ALIVE_MS) {
            res.write(': keep-alive\n\n');
            lastWrite = Date.now();
          }
          await hub.wait(ext.id, POLL_MS);
        }
      } catch (err) {
        // The stream's status is sent: a failure ends it, and the client resumes from its last id.
        ctx.logger.warn({ err, extension: ext.id }, 'event stream ended by an error');
      } finally {
        untrack();
        hub.release(principal.clientId);
        if (!res.writableEnded) res.end();
      }
      // The response was written above; the router sends nothing more once headers are out.
      return { status: 200, body: '' };
    },
  } satisfies Partial<Handlers>;
}
