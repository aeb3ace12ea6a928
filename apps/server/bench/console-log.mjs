#!/usr/bin/env node
// pnpm --filter @callhook/server bench:console-log [--deliveries 100000] [--database-url postgres://…]
// How a page of an extension's delivery log costs at the start and deep in a long log: the
// console's cursor pages (keyset on the delivery's position) beside the subscription log's
// numbered pages (OFFSET), measured in the same run over HTTP against a real server.
import { parseArgs } from 'node:util';
import { quietServer } from './common.mjs';

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '100000' },
    'database-url': { type: 'string' },
    runs: { type: 'string', default: '15' },
  },
});
const N = Number(values.deliveries);
const RUNS = Number(values.runs);
const PER_PAGE = 50;
// Nothing is sent: the deliveries stay in the log as they were stored.
const { server, token, close } = await quietServer('log', { databaseUrl: values['database-url'] });
try {
  const api = async (path) => {
    const res = await fetch(`${server.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const sub = await (
    await fetch(`${server.apiUrl}/extension/175/event/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/bench', method: 'POST', event_type: 'hangup' }),
    })
  ).json();

  const started = performance.now();
  for (let i = 0; i < N; i += 1000) {
    const batch = [];
    for (let k = i; k < Math.min(N, i + 1000); k++) {
      const callId = k.toString(16).padStart(32, '0');
      batch.push({
        extensionId: 175,
        eventType: 'hangup',
        callId,
        data: {
          EventType: 'hangup',
          CallID: callId,
          EventTime: 1_700_000_000_000_000 + k,
          CallStatus: 'ANSWER',
        },
        payload: `EventType=hangup&CallID=${callId}`,
      });
    }
    await server.store.outbox.ingest(batch);
  }
  console.log(
    `${N} deliveries stored in ${Math.round(performance.now() - started)} ms (${server.store.dialect})\n`,
  );

  const median = async (path) => {
    const times = [];
    let body;
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      body = await api(path);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { ms: times[Math.floor(times.length / 2)], body };
  };

  // The deepest cursor page: start from the 60th-oldest delivery's position.
  const oldest = await api(`/extension/175/delivery/?per_page=200&cursor=${N + 1}`);
  let cursor = oldest.next_cursor;
  // Walk to the end with 200-row pages to find the position of the last page (this is what a
  // user paging down does, here only to get a real cursor from the API).
  let last = oldest;
  while (last.next_cursor) {
    cursor = last.next_cursor;
    last = await api(`/extension/175/delivery/?per_page=200&cursor=${cursor}`);
  }
  const deepPage = Math.ceil(N / PER_PAGE);
  const rows = [
    ['cursor, first page', `/extension/175/delivery/?per_page=${PER_PAGE}`],
    ['cursor, last page', `/extension/175/delivery/?per_page=${PER_PAGE}&cursor=${cursor}`],
    [
      'cursor, one call (call_id)',
      `/extension/175/delivery/?call_id=${(N >> 1).toString(16).padStart(32, '0')}`,
    ],
    ['offset, first page', `/extension/175/event/${sub.id}/delivery/?per_page=${PER_PAGE}&page=1`],
    ['offset, last page', `/extension/175/event/${sub.id}/delivery/?per_page=${PER_PAGE}&page=${deepPage}`],
  ];
  const results = [];
  for (const [name, path] of rows) {
    const { ms, body } = await median(path);
    results.push({ name, ms, items: body.items.length });
  }
  const w = Math.max(...results.map((r) => r.name.length));
  console.log(`${'page'.padEnd(w)}  median ms  items   (${RUNS} runs each, ${N} deliveries)`);
  for (const r of results)
    console.log(`${r.name.padEnd(w)}  ${r.ms.toFixed(2).padStart(9)}  ${String(r.items).padStart(5)}`);
  const get = (name) => results.find((r) => r.name === name).ms;
  console.log(
    `\nlast page / first page: cursor ${(get('cursor, last page') / get('cursor, first page')).toFixed(2)}×, ` +
      `offset ${(get('offset, last page') / get('offset, first page')).toFixed(2)}×`,
  );
  console.log(
    JSON.stringify({
      bench: 'console-log',
      store: server.store.dialect,
      deliveries: N,
      median_ms: Object.fromEntries(results.map((r) => [r.name, Math.round(r.ms * 100) / 100])),
    }),
  );
} finally {
  await close();
}
