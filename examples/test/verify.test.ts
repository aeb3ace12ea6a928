// The PHP, Python and sh snippets of verify/, checked against real signed deliveries: callhook
// sends the page's call to them (GET and POST at one endpoint, so one secret), and they verify
// webhook-signature on the bytes they received. CI installs php-cli, python3, openssl and curl
// (.ci/run); a missing one fails here, saying which.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  clientOf,
  freePort,
  run,
  runToEnd,
  simulatePageCall,
  startCallhook,
  startRecorder,
  until,
} from './support.js';

function need(tool: string, apt: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is not installed: apt-get install ${apt} (.ci/run does)`);
  }
}

let callhook: Awaited<ReturnType<typeof startCallhook>>;
let dir: string;
beforeAll(async () => {
  callhook = await startCallhook();
  dir = mkdtempSync(join(tmpdir(), 'callhook-verify-'));
});
afterAll(async () => {
  await callhook.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => clientOf(callhook).subscriptions.clear(175));

/**
 * The page's three subscriptions at one endpoint: dial-out and answer by GET (the event in the
 * query, after ?myid=175), hangup by POST (in the body). Returns the endpoint's one secret.
 */
async function subscribePage(url: string): Promise<string> {
  const client = clientOf(callhook);
  let secret: string | undefined;
  for (const [event_type, method] of [
    ['dial-out', 'GET'],
    ['answer', 'GET'],
    ['hangup', 'POST'],
  ] as const) {
    const sub = await client.subscriptions.create(175, { url, event_type, method });
    secret ??= sub.secret;
  }
  return secret!;
}

/** send-signed.sh (curl + openssl) against a receiver: the status it answered. */
async function sendSigned(secret: string, method: 'GET' | 'POST', url: string): Promise<string> {
  const done = await runToEnd(
    'sh',
    ['verify/send-signed.sh', method, url, 'EventType=hangup&CallID=abc&CallStatus=ANSWER'],
    {
      env: { ...process.env, CALLHOOK_SECRET: secret },
    },
  );
  expect(done.stderr).toBe('');
  return done.stdout.trim();
}

const WRONG = 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

describe('verify.php (php-cli)', () => {
  test("PHP's built-in server verifies the page's call, GET and POST, and refuses a wrong secret", async () => {
    need('php', 'php-cli');
    need('curl', 'curl');
    need('openssl', 'openssl');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/show.php?myid=175`;
    const secret = await subscribePage(url);
    const log = join(dir, 'php.log');
    writeFileSync(log, '');
    const php = run('php', ['-S', `127.0.0.1:${port}`, 'verify/verify.php'], {
      env: { ...process.env, CALLHOOK_SECRET: secret, CALLHOOK_LOG: log },
    });
    try {
      await until(() => /started|Development Server/i.test(php.stderr + php.stdout), 'php -S to start');
      await simulatePageCall(callhook);
      await until(() => readFileSync(log, 'utf8').split('\n').length > 3, 'three verified deliveries');
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      expect(lines.map((l) => l.replace(/ msg_\S+/, ''))).toEqual([
        'verified GET dial-out myid=175',
        'verified GET answer myid=175',
        'verified POST hangup myid=175',
      ]);

      expect(await sendSigned(secret, 'GET', url)).toBe('200');
      expect(await sendSigned(secret, 'POST', url)).toBe('200');
      expect(await sendSigned(WRONG, 'POST', url)).toBe('401');
      expect(await sendSigned(WRONG, 'GET', url)).toBe('401');
    } finally {
      await php.stop();
    }
  });
});

describe('verify.py (python3)', () => {
  test("the stdlib receiver verifies the page's call, GET and POST, and refuses a wrong secret", async () => {
    need('python3', 'python3');
    need('curl', 'curl');
    need('openssl', 'openssl');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/show.php?myid=175`;
    const secret = await subscribePage(url);
    const py = run('python3', ['verify/verify.py', String(port)], {
      env: { ...process.env, CALLHOOK_SECRET: secret },
    });
    try {
      await py.waitFor(/^listening on /);
      await simulatePageCall(callhook);
      await until(() => py.lines(/^verified /).length >= 3, 'three verified deliveries');
      expect(py.lines(/^verified /).map((l) => l.replace(/ msg_\S+/, ''))).toEqual([
        'verified GET dial-out myid=175',
        'verified GET answer myid=175',
        'verified POST hangup myid=175',
      ]);
      expect(await sendSigned(secret, 'GET', url)).toBe('204');
      expect(await sendSigned(secret, 'POST', url)).toBe('204');
      expect(await sendSigned(WRONG, 'POST', url)).toBe('401');
    } finally {
      await py.stop();
    }
  });
});

describe('verify.sh (openssl)', () => {
  test('checks each delivery as received, and refuses a changed byte or a wrong secret', async () => {
    need('openssl', 'openssl');
    const rx = await startRecorder();
    try {
      const secret = await subscribePage(`${rx.url}/show.php?myid=175`);
      await simulatePageCall(callhook);
      await until(() => rx.received.length >= 3, 'three deliveries');
      expect(rx.received.map((r) => r.method)).toEqual(['GET', 'GET', 'POST']);
      for (const req of rx.received) {
        const payload =
          req.method === 'GET' ? req.target.slice(req.target.indexOf('?') + 1) : req.body.toString('utf8');
        const headers = [
          req.headers['webhook-id'],
          req.headers['webhook-timestamp'],
          req.headers['webhook-signature'],
        ].map(String);
        const check = (input: string, key = secret) =>
          runToEnd('sh', ['verify/verify.sh', ...headers], {
            env: { ...process.env, CALLHOOK_SECRET: key },
            input,
          });
        expect((await check(payload)).code).toBe(0);
        expect((await check(`${payload}x`)).code).toBe(1);
        expect((await check(payload, WRONG)).code).toBe(1);
      }
    } finally {
      await rx.close();
    }
  });
});
