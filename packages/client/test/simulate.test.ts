import { eventTypes } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadResult } from '../src/load.js';
import { callhook } from './cli.js';
import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  demoClient,
  eventually,
  startTarget,
  startTestServer,
  type TestServer,
} from './support.js';

/** `callhook simulate --mix` against a real server in demo mode, its calls delivered to a real receiver. */
describe('callhook simulate --mix', () => {
  let server: TestServer;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startTestServer({ config: { retrySchedule: [], deliveryPollMs: 20 } });
    target = await startTarget();
    env = {
      CALLHOOK_URL: server.url,
      CALLHOOK_CLIENT_ID: DEMO_CLIENT_ID,
      CALLHOOK_CLIENT_SECRET: DEMO_CLIENT_SECRET,
    };
    // Every extension of the client subscribed to every event: each event of the mix is one request.
    const client = demoClient(server);
    for (const ext of await client.extensions()) {
      for (const event_type of eventTypes) {
        await client.subscriptions.create(ext.id, { url: target.url, method: 'POST', event_type });
      }
    }
  });
  afterAll(async () => {
    await server?.stop();
    await target?.close();
  });

  it('a random mix at a rate over every extension: each call started, each of its events delivered', async () => {
    const r = await callhook(
      ['simulate', '--mix', '--rate', '50', '--count', '30', '--speed', '500', '--seed', '7'],
      env,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^simulating a random mix on http:\/\/127\.0\.0\.1:\d+: 50 calls\/s for 30 calls/,
    );
    const calls = [...r.stdout.matchAll(/^\s+\d+\s+(\S+).* call ([0-9a-f]{32}), (\d+) events?$/gm)];
    expect(calls).toHaveLength(30);
    const events = calls.reduce((n, c) => n + Number(c[3]), 0);
    expect(r.stdout).toMatch(
      new RegExp(`^30 calls started in \\d+\\.\\d s \\(\\d+\\.\\d/s\\), 0 refused, ${events} events$`, 'm'),
    );
    // Calls of several kinds, over several extensions.
    expect(new Set(calls.map((c) => c[1])).size).toBeGreaterThan(3);
    expect(r.stdout).toMatch(/by scenario: \w/);

    await eventually(async () => (target.received.length >= events ? true : undefined), 30_000);
    await new Promise((done) => setTimeout(done, 300));
    expect(target.received).toHaveLength(events);
    const delivered = new Set(target.received.map((q) => new URLSearchParams(q.body).get('CallID')));
    for (const [, scenario, callId] of calls) {
      if (!scenario!.startsWith('message')) expect(delivered, `${scenario} ${callId}`).toContain(callId);
    }
  });

  it('--extensions picks the callers; --json prints the summary as JSON; a duration bounds the run', async () => {
    const r = await callhook(
      [
        'simulate',
        '--mix',
        '--extensions',
        '400',
        '--rate',
        '20',
        '--duration',
        '0.5',
        '--speed',
        '500',
        '--json',
      ],
      env,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as LoadResult;
    // 20/s for half a second: at most 10 starts; a loaded machine's timers may start fewer.
    expect(result.started).toBeGreaterThan(0);
    expect(result.started).toBeLessThanOrEqual(10);
    expect(Object.keys(result.byScenario)).toEqual(['queue']);
  });

  it('mistakes are usage errors (exit 2) that say what to do', async () => {
    const cases: [string[], RegExp][] = [
      [['--mix', '--count', '5'], /--mix needs --rate/],
      [['--mix', '--rate', '5'], /needs a bound: --count N or --duration SECONDS/],
      [
        ['--mix', '--rate', 'fast', '--count', '5'],
        /--rate takes a number from 0\.001 to 100000, got "fast"/,
      ],
      [['--mix', '--rate', '5', '--count', '2.5'], /--count takes a whole number/],
      [['--mix', '--rate', '5', '--count', '5', '--extensions', '175,999'], /has extensions 175, .*not 999/],
      [['--rate', '5', '-e', '175'], /--rate goes with --mix/],
    ];
    for (const [args, message] of cases) {
      const r = await callhook(['simulate', ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});
