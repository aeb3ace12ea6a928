import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCallhookClient } from '@callhook/client';
import { type RunningServer, startServer } from '@callhook/server';

export const examples = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLIENT_ID = 'examples-client';
export const CLIENT_SECRET = 'examples-secret-for-tests';

/** The real server on a loopback port, demo mode (extension 175, simulated PBX), its own SQLite file. */
export async function startCallhook(): Promise<RunningServer & { stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'callhook-examples-'));
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    demo: true,
    logLevel: 'silent',
    dataDir,
    config: { demoClientId: CLIENT_ID, demoClientSecret: CLIENT_SECRET },
    env: {},
  });
  return {
    ...server,
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function clientOf(server: { url: string }) {
  return createCallhookClient({ baseUrl: server.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
}

/** The environment a script of the examples needs to reach `server` as the demo client. */
export function callhookEnv(server: { url: string }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CALLHOOK_URL: server.url,
    CALLHOOK_CLIENT_ID: CLIENT_ID,
    CALLHOOK_CLIENT_SECRET: CLIENT_SECRET,
  };
}

/** A port free right now on loopback (for a receiver that must know its URL before it starts). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

/** A child process whose output can be waited on, line by line. */
export interface Child {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  lines(pattern: RegExp): string[];
  stop(): Promise<void>;
}

export function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Child {
  const child = spawn(command, args, { cwd: opts.cwd ?? examples, env: opts.env ?? process.env });
  const c: Child = {
    child,
    stdout: '',
    stderr: '',
    lines: (pattern) => c.stdout.split('\n').filter((l) => pattern.test(l)),
    waitFor(pattern, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = c.stdout.split('\n').find((l) => pattern.test(l));
          if (line === undefined) return false;
          clearTimeout(timer);
          child.stdout?.off('data', check);
          resolve(line);
          return true;
        };
        const timer = setTimeout(() => {
          child.stdout?.off('data', check);
          reject(
            new Error(
              `no line matching ${pattern} within ${ms} ms\nstdout:\n${c.stdout}\nstderr:\n${c.stderr}`,
            ),
          );
        }, ms);
        if (!check()) child.stdout?.on('data', check);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    c.stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    c.stderr += d;
  });
  return c;
}

/** Runs a command to its end; rejects with its output when it fails. */
export function runToEnd(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = run(command, args, opts);
  if (opts.input !== undefined) c.child.stdin?.end(opts.input);
  else c.child.stdin?.end();
  return new Promise((resolve, reject) => {
    c.child.on('error', reject);
    c.child.on('close', (code) => resolve({ code: code ?? -1, stdout: c.stdout, stderr: c.stderr }));
  });
}

/** A receiver that only records what arrives, raw, and answers 204. */
export async function startRecorder() {
  const received: { method: string; target: string; headers: IncomingMessage['headers']; body: Buffer }[] =
    [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        target: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Waits until `check` holds, polling. */
export async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The provider page's call, on the demo server's simulated PBX: 175 calls 00010005, answered. */
export function simulatePageCall(server: { url: string }) {
  return clientOf(server).simulate({
    scenario: 'outgoing',
    extension_id: 175,
    number: '00010005',
    speed: 20,
  });
}
