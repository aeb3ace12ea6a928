import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { type RunningReceiver, serve } from '../src/serve.js';
import { encodeEvent, getTarget, pageCall, SECRET, signedHeaders } from './support.js';

let running: RunningReceiver | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** The log lines without the `[Thu Jul 06 17:03:59 2017]  ` stamp. */
const bare = (lines: string[]) =>
  lines.map((l) => l.replace(/^\[[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d [\d:]{8} \d{4}\] {2}/, ''));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('callhook-receiver', () => {
  test("logs the page's three GET requests as its show.php does, then the assembled call", async () => {
    const lines: string[] = [];
    running = await serve(['--port', '0', '--quiet-period', '50'], (line) => lines.push(line));
    const base = `http://127.0.0.1:${running.port}/fordel/show.php?myid=175`;
    for (const event of [pageCall.dialOut, pageCall.answer, pageCall.hangup]) {
      expect((await fetch(getTarget(base, encodeEvent(event)))).status).toBe(204);
    }
    await until(() => lines.some((l) => l.includes('====== call')));

    const log = bare(lines);
    expect(log[0]).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+\/ \(signatures not checked\)/);
    const hangupStart = log.lastIndexOf('------');
    expect(log.slice(hangupStart, hangupStart + 16)).toEqual([
      '------',
      'myid => 175',
      `SubCallID => ${pageCall.hangup.SubCallID}`,
      'EventTime => 1499349846331075',
      'CalledNumber => 00010005',
      'EventType => hangup',
      'CallerIDNum => 000*099',
      'CallerExtensionID => 175',
      'CallerExtension => 000*099@sip.domain',
      'CallFlow => out',
      `RecID => ${pageCall.hangup.SubCallID}`,
      'CallAPIID => 3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52',
      'CallerIDName => Iggy Pop',
      'Duration => 4239900',
      'CallStatus => ANSWER',
      `CallID => ${pageCall.hangup.CallID}`,
    ]);
    expect(log.filter((l) => l === '------')).toHaveLength(3);
    expect(log.slice(log.indexOf(`====== call ${pageCall.hangup.CallID}`))).toEqual(
      expect.arrayContaining([
        'direction => out',
        'caller => 000*099 (Iggy Pop)',
        'answered => yes, by 00010005',
        'talk => 4.24 s',
        `recordings => ${pageCall.hangup.SubCallID}`,
      ]),
    );
  });

  test('with --secret it verifies, and says why a request was refused', async () => {
    const lines: string[] = [];
    running = await serve(['--port', '0', '--secret', SECRET], (line) => lines.push(line));
    const body = encodeEvent(pageCall.hangup);
    const url = `http://127.0.0.1:${running.port}/hook`;
    const headers = { 'content-type': 'application/x-www-form-urlencoded', ...signedHeaders(body) };
    expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(204);
    expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(204);
    expect((await fetch(url, { method: 'POST', headers, body: body.replace('4239900', '9') })).status).toBe(
      401,
    );
    const log = bare(lines);
    expect(log[0]).toContain('verifying signatures');
    expect(log).toContain('(retry of delivery msg_2p5DqGYCWRkSg1ksGFk5EhJSxpD, already handled)');
    expect(log.at(-1)).toBe('!! refused 401: no webhook-signature entry matches the secret');
  });

  test('refuses options that are not numbers', async () => {
    await expect(serve(['--port', 'eighty'], () => {})).rejects.toThrow('--port must be a whole number');
  });
});

describe('callhook-receiver on a port that is taken', () => {
  test('says which port and how to choose another, exit 2, no stack', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
      const child = spawn(process.execPath, [cli, '--port', String(port)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d;
      });
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(code).toBe(2);
      expect(stderr).toBe(
        `callhook-receiver: port ${port} on 127.0.0.1 is already in use: choose another with --port (--port 9000)\n`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
