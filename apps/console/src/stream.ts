import type { StreamEvent } from '@callhook/contract';
import { useEffect, useState } from 'react';
import { API_BASE, currentToken } from './api.js';

export type StreamState = 'connecting' | 'live' | 'reconnecting';

/** How many events the view keeps (the newest). */
const KEEP = 2_000;

/**
 * The extension's events, live: the spec's `streamExtensionEvents`, read with fetch because
 * EventSource cannot send the bearer token. A broken stream is reopened after a pause with
 * `Last-Event-ID`, so no event is missed or shown twice.
 */
export function useEventStream(
  ext: number,
  backlog = 50,
): { events: StreamEvent[]; state: StreamState; error?: string } {
  const [events, setEvents] = useState<StreamEvent[]>([]);
  const [state, setState] = useState<StreamState>('connecting');
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    const stop = new AbortController();
    let lastId: string | undefined;
    let pause = 1_000;
    (async () => {
      while (!stop.signal.aborted) {
        try {
          const token = await currentToken();
          const headers: Record<string, string> = {
            authorization: `Bearer ${token}`,
            accept: 'text/event-stream',
          };
          if (lastId) headers['last-event-id'] = lastId;
          const res = await fetch(`${API_BASE}/extension/${ext}/stream/?backlog=${backlog}`, {
            headers,
            credentials: 'omit',
            signal: stop.signal,
          });
          if (!res.ok || !res.body) {
            const body = (await res.json().catch(() => ({}))) as { message?: string };
            throw new Error(body.message ?? `HTTP ${res.status}`);
          }
          setState('live');
          setError(undefined);
          pause = 1_000;
          for await (const message of messages(res.body)) {
            if (message.id) lastId = message.id;
            if (message.event !== 'call-event' || !message.data) continue;
            const event = JSON.parse(message.data) as StreamEvent;
            setEvents((old) => {
              if (old.some((e) => e.id === event.id)) return old;
              const next = [...old, event];
              return next.length > KEEP ? next.slice(next.length - KEEP) : next;
            });
          }
        } catch (err) {
          if (stop.signal.aborted) return;
          setError(err instanceof Error ? err.message : String(err));
        }
        if (stop.signal.aborted) return;
        setState('reconnecting');
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 15_000);
      }
    })();
    return () => stop.abort();
  }, [ext, backlog]);

  return error === undefined ? { events, state } : { events, state, error };
}

interface Message {
  id?: string;
  event?: string;
  data?: string;
}

/** Server-Sent Events messages from a byte stream (the parts of the format the server writes). */
async function* messages(body: ReadableStream<Uint8Array>): AsyncGenerator<Message> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let cut = buffer.indexOf('\n\n');
      while (cut !== -1) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const m: Message = {};
        for (const line of block.split('\n')) {
          if (line === '' || line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') m.id = value;
          else if (field === 'event') m.event = value;
          else if (field === 'data') m.data = m.data === undefined ? value : `${m.data}\n${value}`;
        }
        yield m;
        cut = buffer.indexOf('\n\n');
      }
    }
  } finally {
    reader.releaseLock();
  }
}
