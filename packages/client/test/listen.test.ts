import { createServer } from 'node:net';
import { WebhookParser } from '@callhook/receiver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallhookClient } from '../src/index.js';
import { callhook, Running } from './cli.js';
import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  demoClient,
  startTarget,
  startTestServer,
  type TestServer,
} from './support.js';

describe('callhook listen', () => {
  let server: TestServer;
  let client: CallhookClient;
  let env: Record<string, string>;
  const running: Running[] = [];
  beforeAll(async () => {
    server = await startTestServer();
    client = demoClient(server);
    env = {
      CALLHOOK_URL: server.url,
      CALLHOOK_CLIENT_ID: DEMO_CLIENT_ID,
      CALLHOOK_CLIENT_SECRET: DEMO_CLIENT_SECRET,
    };
  });
  afterEach(() => {
    for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await server?.stop();
  });

  function listen(args: string[]) {
    const r = new Running(['listen', ...args], env);
    running.push(r);
    return r;
  }

  it('receives a simulated call, forwards it, and removes its subscriptions on Ctrl-C', async () => {
    const target = await startTarget(() => 200);
    try {
      const forward = target.url.replace('?myid=175', '');
      const r = listen(['--extension', '175', '--events', 'dial-out,answer,hangup', '--forward', forward]);
      await r.waitFor(
        'stderr',
        /^Ready\. Listening on http:\/\/127\.0\.0\.1:\d+\/ for dial-out, answer, hangup on extension 175\.$/,
      );
      const subs = await client.subscriptions.list(175);
      expect(subs.map((s) => [s.event_type, s.method])).toEqual([
        ['dial-out', 'POST'],
        ['answer', 'POST'],
        ['hangup', 'POST'],
      ]);

      // The page's call: 000*099 calls 00010005, answered, 4.24 s of talk (0.08 s at speed 50).
      const call = await client.simulate({
        scenario: 'outgoing',
        extension_id: 175,
        number: '00010005',
        speed: 50,
      });
      const short = call.call_id.slice(0, 8);
      const hangup = await r.waitFor('stdout', /hangup/);
      expect(hangup).toMatch(
        new RegExp(
          `^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}  hangup      000\\*099 \\(Iggy Pop\\) → 00010005  ANSWER  outgoing  talk 0\\.08 s  recorded  call ${short}…$`,
        ),
      );
      const lines = r.stdout.trim().split('\n');
      expect(lines.map((l) => l.split(/\s+/)[1])).toEqual(['dial-out', 'answer', 'hangup']);
      expect(lines[0]).toContain('CALLING');

      // Each event went on to --forward: same method, body and signature headers.
      await r.waitFor('stderr', /→ http:\/\/127\.0\.0\.1:\d+\/hook 200 \(\d+ ms\)/);
      await expect.poll(() => target.received.length).toBe(3);
      // The signature still verifies at the forward target with the secret listen printed (one:
      // its three subscriptions share the endpoint's): method, body and headers went on unchanged.
      const secrets = [...r.stderr.matchAll(/signing secret.*: (whsec_\S+)/g)].map((m) => m[1]!);
      expect(secrets).toHaveLength(1);
      const parser = new WebhookParser({ secret: secrets });
      const forwarded = target.received.map((req) => {
        expect(req.url).toBe('/hook');
        return parser.parse({ method: req.method, url: req.url, headers: req.headers, body: req.body });
      });
      expect(
        forwarded.map((d) => [d.method, d.event.EventType, 'CallID' in d.event && d.event.CallID]),
      ).toEqual([
        ['POST', 'dial-out', call.call_id],
        ['POST', 'answer', call.call_id],
        ['POST', 'hangup', call.call_id],
      ]);

      r.child.kill('SIGINT');
      expect(await r.exited).toBe(0);
      expect(r.stderr).toContain('Removing the 3 subscription(s)…\nDone.');
      expect(await client.subscriptions.list(175)).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it('shows every field with --verbose, JSON lines with --json, and cleans up on SIGTERM', async () => {
    const verbose = listen(['-e', '200', '--events', 'dial-in', '--verbose']);
    const json = listen(['-e', '200', '--events', 'dial-in', '--json']);
    // The secret is the last line listen prints before it waits; a child's stderr can arrive in
    // several chunks, so wait for that line itself, not for "Ready" before it.
    await verbose.waitFor(
      'stderr',
      /^ {2}signing secret \(one for the endpoint, all its event types\): whsec_/,
    );
    await json.waitFor('stderr', /^Ready/);

    const call = await client.simulate({
      scenario: 'incoming',
      extension_id: 200,
      number: '+79811234567',
      speed: 50,
    });
    await verbose.waitFor('stdout', /^ {4}CallID = /);
    expect(verbose.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}dial-in {5}\+79811234567 → /m);
    expect(verbose.stdout).toContain(`    CallID = ${call.call_id}\n`);
    expect(verbose.stdout).toMatch(/^ {4}webhook-id = msg_\S+ {2}\(POST, signature verified\)$/m);
    expect(verbose.stdout).toContain('    EventType = dial-in\n');

    const line = await json.waitFor('stdout', /^\{/);
    const delivery = JSON.parse(line) as {
      id: string;
      method: string;
      event: Record<string, unknown>;
      duplicate: boolean;
    };
    expect(delivery).toMatchObject({
      method: 'POST',
      duplicate: false,
      event: { EventType: 'dial-in', CallID: call.call_id },
    });
    expect(delivery.id).toMatch(/^msg_/);

    verbose.child.kill('SIGTERM');
    json.child.kill('SIGINT');
    expect(await verbose.exited).toBe(0);
    expect(await json.exited).toBe(0);
    expect(await client.subscriptions.list(200)).toEqual([]);
  });

  it('refuses a request whose signature does not verify', async () => {
    const r = listen(['-e', '175', '--events', 'hangup']);
    const ready = await r.waitFor('stderr', /^Ready/);
    const local = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(ready)![1]!;
    const forged = await fetch(local, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'webhook-id': 'msg_forged',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
      },
      body: 'EventType=hangup&CallID=0123456789abcdef0123456789abcdef&EventTime=1&CallStatus=ANSWER&CallFlow=out',
    });
    expect(forged.status).toBe(401);
    await r.waitFor(
      'stderr',
      /^!! refused POST \/: no webhook-signature entry matches the secret \(answered 401\)$/,
    );
    expect(r.stdout).toBe('');
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
  });

  it('rejects an unknown event type before subscribing anything', async () => {
    const result = await callhook(['listen', '-e', '175', '--events', 'hangup,ringing'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown event type "ringing"');
    expect(await client.subscriptions.list(175)).toEqual([]);
  });
  it('on a --port that is taken: says so and how to choose another, exit 2', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await callhook(['listen', '-e', '175', '--port', String(port)], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `callhook: port ${port} on 127.0.0.1 is already in use: choose another with --port`,
      );
      expect(r.stderr).not.toMatch(/EADDRINUSE| {4}at /);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
