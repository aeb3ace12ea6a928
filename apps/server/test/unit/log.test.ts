import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { outcomeLine } from '../../src/delivery/outcome.js';
import { createLogger, type LogOutput } from '../../src/log.js';
import type { AttemptRecord, ClaimedDelivery } from '../../src/store/index.js';

const delivery = {
  id: 'msg_2p5DqGYCWRkSg1ksGFk5EhJSxpD',
  subscriptionId: 72,
  eventType: 'dial-out',
  method: 'GET',
  url: 'http://127.0.0.1:9000/fordel/show.php?myid=175&key=secret',
  attempts: 0,
} as ClaimedDelivery;

const attempt = (fields: Partial<AttemptRecord>): AttemptRecord => ({
  attemptedAt: Date.UTC(2026, 0, 1, 10, 0, 0),
  outcome: 'success',
  statusCode: 200,
  latencyMs: 12.4,
  error: null,
  responseBody: null,
  ...fields,
});

describe('one line per delivery outcome', () => {
  test('success, retry, failure and disabling each say what went where and what came back', () => {
    expect(outcomeLine(delivery, { kind: 'succeeded', attempt: attempt({}) })).toEqual({
      level: 'info',
      line: 'delivered dial-out msg_2p5DqGYCWRkSg1ksGFk5EhJSxpD → GET http://127.0.0.1:9000/fordel/show.php (#72): HTTP 200 in 12 ms',
    });
    const failed = attempt({
      outcome: 'http_error',
      statusCode: 500,
      responseBody: 'Error:\n  mount the webhook receiver before body parsers',
    });
    const retry = outcomeLine(delivery, {
      kind: 'retry',
      attempt: failed,
      nextAttemptAt: Date.UTC(2026, 0, 1, 10, 0, 5),
    });
    expect(retry.level).toBe('warn');
    expect(retry.line).toBe(
      'failed dial-out msg_2p5DqGYCWRkSg1ksGFk5EhJSxpD → GET http://127.0.0.1:9000/fordel/show.php (#72): HTTP 500 "Error: mount the webhook receiver before body parsers" in 12 ms; attempt 1, next at 10:00:05 UTC',
    );
    // The subscription URL's query (which may hold a key) is never shown.
    expect(retry.line).not.toContain('secret');
    expect(outcomeLine(delivery, { kind: 'failed', attempt: failed }).line).toMatch(/no retries left/);
    const refused = attempt({
      outcome: 'connection_error',
      statusCode: null,
      error: 'ECONNREFUSED: connect',
    });
    expect(
      outcomeLine(delivery, { kind: 'disable', attempt: refused, reason: 'the receiver answered 410 Gone' })
        .line,
    ).toMatch(
      /: connection_error: ECONNREFUSED: connect in 12 ms; subscription #72 disabled: the receiver answered 410 Gone$/,
    );
  });
});

function capture(isTTY: boolean): { out: LogOutput; text: () => string } {
  const out = new PassThrough() as PassThrough & { isTTY?: boolean };
  out.isTTY = isTTY;
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { out, text: () => chunks.join('') };
}

describe('the server log', () => {
  test('in demo mode at a terminal: one readable line per entry', async () => {
    const { out, text } = capture(true);
    const log = await createLogger({ logLevel: 'info', demo: true }, out);
    log.info({ method: 'GET', path: '/healthz', status: 200, ms: 1.5, route: '/healthz' }, 'request');
    log.warn({ delivery: 'msg_x' }, 'failed dial-out msg_x → GET http://h/x (#72): HTTP 500 in 3 ms');
    await new Promise((r) => setImmediate(r));
    const lines = text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('GET /healthz 200 1.5 ms');
    expect(lines[1]).toContain('failed dial-out msg_x');
    expect(text()).not.toContain('{');
  });

  test('otherwise JSON lines, as before', async () => {
    for (const [demo, tty] of [
      [true, false],
      [false, true],
    ] as const) {
      const { out, text } = capture(tty);
      (await createLogger({ logLevel: 'info', demo }, out)).info({ delivery: 'msg_x' }, 'delivered');
      await new Promise((r) => setImmediate(r));
      expect(JSON.parse(text())).toMatchObject({ msg: 'delivered', delivery: 'msg_x', service: 'callhook' });
    }
  });
});
