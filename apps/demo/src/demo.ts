#!/usr/bin/env node
// `npm run demo`: the provider's page, end to end, in a few seconds. A server in demo mode and a
// receiver that logs like the page's show.php; the receiver is subscribed with the page's three
// requests; extension 175 (000*099, Iggy Pop) calls 00010005; the three events arrive, signed.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PAGE_RING_US, PAGE_TALK_US } from '@callhook/pbx';
import { requestLog, SignatureVerifier } from '@callhook/receiver';
import type { RunningServer } from '@callhook/server';

const HELP = `npm run demo -- [--speed N]

Starts a callhook server in demo mode (SQLite in a temporary directory) and a receiver that logs
each request like the page's show.php, subscribes the receiver to dial-out, answer and hangup of
extension 175 as the page does, makes the page's call from 000*099 to 00010005, shows the three
events arriving, and exits. The call takes ~6 s (real time); --speed N plays it N times faster.
`;

/**
 * Which of `secrets` signed this request (the raw query for GET), checked by the receiver
 * package's verifier: the spec's `v1` HMAC, the timestamp within 5 minutes of now. Undefined when
 * none did.
 */
function signedBy<K>(
  secrets: ReadonlyMap<K, string>,
  headers: IncomingHttpHeaders,
  payload: string,
): K | undefined {
  const one = (name: string) => {
    const v = headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const given = {
    id: one('webhook-id'),
    timestamp: one('webhook-timestamp'),
    signature: one('webhook-signature'),
  };
  for (const [who, secret] of secrets) {
    try {
      new SignatureVerifier(secret).verify(given, payload);
      return who;
    } catch {
      // Not this secret's; try the next.
    }
  }
  return;
}

const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[22m` : s);
const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[22m` : s);
const out = (line = '') => process.stdout.write(`${line}\n`);

interface Receiver {
  url: string;
  /** Subscription id → the endpoint secret its create response showed (the first one to the URL). */
  secrets: Map<number, string>;
  /** Resolves once `count` requests arrived; how many had a good signature. */
  received(count: number, ms: number): Promise<number>;
  close(): Promise<void>;
}

/** A small HTTP receiver on loopback that prints each request as the page's show.php logs it. */
async function startLogReceiver(): Promise<Receiver> {
  const secrets = new Map<number, string>();
  let count = 0;
  let verified = 0;
  let wake = () => {};
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const at = new Date();
      const target = req.url ?? '';
      const q = target.indexOf('?');
      const query = q === -1 ? '' : target.slice(q + 1).split('#')[0]!;
      // Logged as the receiver package logs it, the page's show.php way.
      const lines = requestLog([...new URLSearchParams(query)].flat(), at);
      const who = signedBy(secrets, req.headers, query);
      if (who === undefined) {
        lines.push(
          `  signature MISMATCH: webhook-id ${String(req.headers['webhook-id'])} is not signed by a known secret`,
        );
      } else {
        verified++;
        lines.push(
          dim(
            `  signature ok (webhook-id ${String(req.headers['webhook-id'])}, the endpoint's secret, shown with subscription ${who})`,
          ),
        );
      }
      out(lines.join('\n'));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      count++;
      wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secrets,
    received: (wanted, ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`only ${count} of ${wanted} events arrived within ${Math.round(ms / 1000)} s`)),
          ms,
        );
        wake = () => {
          if (count < wanted) return;
          clearTimeout(timer);
          resolve(verified);
        };
        wake();
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A request to the server as the page's curl examples make it, printed, and its answer. */
async function call(
  server: RunningServer,
  token: string,
  path: string,
  body: unknown,
  wanted: number,
): Promise<Record<string, unknown>> {
  const json = JSON.stringify(body);
  out(
    `$ curl -X POST "$url${path}" -H "Authorization: Bearer $access_token" -H "Content-Type: application/json" -d '${json}'`,
  );
  const res = await fetch(`${server.apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: json,
  });
  const text = await res.text();
  if (res.status !== wanted) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
  const answer = JSON.parse(text) as Record<string, unknown>;
  out(dim(brief(text, answer)));
  return answer;
}

/**
 * A created subscription as the page shows it (url, method, event_type, id: the answer begins so),
 * then the secret, which callhook adds and shows this once; other answers in full.
 */
function brief(text: string, answer: Record<string, unknown>): string {
  const { url, method, event_type, id } = answer;
  const page = JSON.stringify({ url, method, event_type, id }).slice(0, -1);
  if (typeof answer.secret === 'string') return `${page},…,"secret":"${answer.secret}"}`;
  // Later subscriptions to one URL (without its query) sign with the secret the first showed.
  if (answer.secret_shared === true) return `${page},…,"secret_shared":true}`;
  return text;
}

const seconds = (us: number, speed: number) => `${(us / speed / 1e6).toFixed(speed > 10 ? 2 : 1)} s`;

async function demo(speed: number): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'callhook-demo-'));
  let server: RunningServer | undefined;
  let receiver: Receiver | undefined;
  // Ctrl-C in the middle: leave no temporary directory behind.
  process.once('SIGINT', () => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    // Loaded here, so that `--help` and a mistake in the arguments answer at once.
    const { startServer } = await import('@callhook/server');
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      databaseUrl: '',
      demo: true,
      logLevel: 'silent',
      // The demo is the same on every machine: no settings from the environment or a config file.
      env: {},
    });
    receiver = await startLogReceiver();
    const hook = `${receiver.url}/fordel/show.php?myid=175`;
    const creds = server.demo!;

    out();
    out(bold("  callhook demo: the provider's example call, end to end"));
    out();
    out(`  server    ${server.url}  (demo mode, SQLite in a temporary directory)`);
    out(`  receiver  ${receiver.url}/fordel/show.php  (logs each request like the page's show.php)`);
    out();

    out(bold('1. A token (OAuth2 client credentials)'));
    out(
      `$ curl -s -d grant_type=client_credentials -d client_id=${creds.clientId} -d client_secret=${creds.clientSecret} ${server.url}/oauth/token`,
    );
    const tokenRes = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: creds.clientId,
        client_secret: creds.clientSecret,
      }),
    });
    const tokenText = await tokenRes.text();
    out(dim(tokenText));
    if (tokenRes.status !== 200)
      throw new Error(`the token endpoint answered ${tokenRes.status}: ${tokenText}`);
    const token = (JSON.parse(tokenText) as { access_token: string }).access_token;
    out(`$ export url=${server.apiUrl} access_token=${token}`);
    out();

    out(bold('2. Subscribe the receiver to dial-out, answer and hangup of extension 175, as the page does'));
    for (const eventType of ['dial-out', 'answer', 'hangup']) {
      const created = await call(
        server,
        token,
        '/extension/175/event/',
        { url: hook, method: 'GET', event_type: eventType },
        200,
      );
      if (typeof created.secret === 'string') receiver.secrets.set(created.id as number, created.secret);
    }
    out();

    const ring = seconds(PAGE_RING_US, speed);
    const talk = seconds(PAGE_TALK_US, speed);
    out(
      bold(
        `3. The page's call: 000*099 (175, Iggy Pop) calls 00010005, answered after ${ring}, ${talk} of talk`,
      ),
    );
    const request = {
      scenario: 'outgoing',
      extension_id: 175,
      number: '00010005',
      ...(speed !== 1 ? { speed } : {}),
    };
    await call(server, token, '/pbx/simulate/', request, 202);
    out();

    out(bold("4. The receiver's log, as the events arrive"));
    const waitMs = (PAGE_RING_US + PAGE_TALK_US) / speed / 1000 + 15_000;
    const verified = await receiver.received(3, waitMs);
    out();
    if (verified !== 3) {
      out(`  ${3 - verified} of 3 signatures did not verify.`);
      return 1;
    }
    out(bold('  Done: dial-out, answer and hangup arrived in order, signatures ok.'));
    out(
      `  Next: ${bold('npm start')} keeps a demo server running on http://127.0.0.1:8080, with the API's docs`,
    );
    out(`  at http://127.0.0.1:8080${bold('/docs')}. With the client_secret it prints, from this directory,`);
    out(`  ${bold('CALLHOOK_CLIENT_ID=demo CALLHOOK_CLIENT_SECRET=... npm run callhook -- listen -e 175')}`);
    out('  prints every call\'s events live (the README\'s "Try it" has the rest).');
    out();
    return 0;
  } finally {
    await receiver?.close();
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  let values: { speed?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { speed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const speed = values.speed === undefined ? 1 : Number(values.speed);
  if (!Number.isFinite(speed) || speed < 0.01 || speed > 10_000) {
    process.stderr.write('demo: --speed must be a number from 0.01 to 10000\n');
    return 2;
  }
  return demo(speed);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed; should a stray handle linger, do not hang a newcomer's terminal.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error).message ?? String(err)}\n`);
    process.exit(1);
  },
);
