import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitError, type LabTools, onFreeUdpPort, PortTakenError, paths } from './tools.js';

/**
 * sipp as the phones and the PSTN gateway (test/sipp/*.xml). Each process is a real SIP user
 * agent on its own UDP port on loopback, talking to the switch.
 */

function workdir(): { dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'callhook-sipp-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The called side (phones or gateway): see test/sipp/answer.xml for what it does with a call. */
export interface Callee {
  /** `127.0.0.1:port`, for registrations' contacts and the switch's gateway. */
  address: string;
  port: number;
  stop(): Promise<void>;
}

export async function startCallee(opts: {
  tools: LabTools;
  /** How long an answering party rings before it answers. */
  ringMs: number;
}): Promise<Callee> {
  const work = workdir();
  const scenario = join(work.dir, 'answer.xml');
  writeFileSync(
    scenario,
    readFileSync(join(paths.scenarios, 'answer.xml'), 'utf8').replaceAll(
      'RING_MS',
      String(Math.round(opts.ringMs)),
    ),
  );
  try {
    return await onFreeUdpPort(async (port) => {
      const child = spawn(
        opts.tools.sipp,
        [
          '-sf',
          scenario,
          '-i',
          '127.0.0.1',
          '-p',
          String(port),
          '-nostdin',
          '-trace_err',
          '-error_file',
          join(work.dir, 'errors.log'),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], cwd: work.dir },
      );
      await started(child, port);
      return {
        address: `127.0.0.1:${port}`,
        port,
        async stop() {
          await stopProcess(child);
          work.done();
        },
      };
    });
  } catch (err) {
    work.done();
    throw err;
  }
}

export interface Registration {
  /** The extension's SIP user, `000*200`. */
  user: string;
  domain: string;
  /** The contact user: what the callee process does with calls to this phone (`p200` answers). */
  behaviour: string;
  /** Where the phone is: a callee process. */
  at: Callee;
}

export async function register(opts: {
  tools: LabTools;
  switchAddress: string;
  phones: Registration[];
}): Promise<void> {
  const lines = opts.phones.map((p) => [p.user, p.domain, p.behaviour, p.at.address].join(';'));
  const result = await runUac(opts.tools, opts.switchAddress, 'register.xml', lines, {
    rate: 50,
    limit: 50,
    timeoutS: 20,
  });
  if (result.code !== 0) throw new Error(`registration failed (sipp exit ${result.code}):\n${result.errors}`);
}

/** One call a phone (or the gateway) places. */
export interface CallSpec {
  /** The caller's SIP user: an extension's (`000*099`) or an outside number. */
  from: string;
  fromDomain?: string;
  /** The From header's display name. */
  name?: string;
  /** What is dialled. */
  to: string;
  /** `hangup`: talk `ms` after the answer, then hang up. `cancel`: hang up `ms` into the ringing. */
  action: 'hangup' | 'cancel';
  ms: number;
}

export interface PlacedCalls {
  /** sipp's exit code: 0 when every call went through its scenario. */
  code: number | null;
  /** The SIP Call-ID of each call, in the order given. */
  sipCallIds: string[];
  errors: string;
}

let runs = 0;

/** Places the calls (sipp as the calling UAs) and resolves once all of them are over. */
export async function placeCalls(opts: {
  tools: LabTools;
  switchAddress: string;
  calls: CallSpec[];
  /** Calls started per second; all of them at once by default. */
  rate?: number;
  /** Calls in progress at most. */
  limit?: number;
  /** The Call-IDs' prefix; unique per run by default. */
  callIdPrefix?: string;
  timeoutS?: number;
  /** Called with the sipp process once it runs (to stop something while calls are placed). */
  onStart?: (child: ChildProcess) => void;
}): Promise<PlacedCalls> {
  const prefix = opts.callIdPrefix ?? `callhook-${process.pid}-${Date.now().toString(36)}-${++runs}`;
  const lines = opts.calls.map((c) =>
    [c.from, c.name ?? '', c.to, c.action, String(Math.round(c.ms)), '', c.fromDomain ?? 'sip.domain'].join(
      ';',
    ),
  );
  const result = await runUac(opts.tools, opts.switchAddress, 'phone.xml', lines, {
    rate: opts.rate ?? opts.calls.length,
    limit: opts.limit ?? opts.calls.length,
    timeoutS: opts.timeoutS ?? 120,
    callIdPrefix: prefix,
    ...(opts.onStart ? { onStart: opts.onStart } : {}),
  });
  return {
    code: result.code,
    // sipp numbers calls from 1 in the order it starts them, taking the injection lines in order.
    sipCallIds: opts.calls.map((_, i) => `${prefix}-${i + 1}@callhook.test`),
    errors: result.errors,
  };
}

async function runUac(
  tools: LabTools,
  switchAddress: string,
  scenario: string,
  lines: string[],
  o: {
    rate: number;
    limit: number;
    timeoutS: number;
    callIdPrefix?: string;
    onStart?: (c: ChildProcess) => void;
  },
): Promise<{ code: number | null; errors: string }> {
  const work = workdir();
  try {
    const inf = join(work.dir, 'calls.csv');
    writeFileSync(inf, `SEQUENTIAL\n${lines.join('\n')}\n`);
    const errors = join(work.dir, 'errors.log');
    // A port taken before sipp binds it ends the run before any call: it runs again on another.
    return await onFreeUdpPort(async (port) => {
      const child = spawn(
        tools.sipp,
        [
          '-sf',
          join(paths.scenarios, scenario),
          '-inf',
          inf,
          '-i',
          '127.0.0.1',
          '-p',
          String(port),
          '-m',
          String(lines.length),
          '-r',
          String(o.rate),
          '-l',
          String(o.limit),
          '-nostdin',
          '-timeout',
          `${o.timeoutS}s`,
          '-timeout_error',
          '-trace_err',
          '-error_file',
          errors,
          ...(o.callIdPrefix ? ['-cid_str', `${o.callIdPrefix}-%u@callhook.test`] : []),
          switchAddress,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], cwd: work.dir },
      );
      o.onStart?.(child);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d;
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      if (code !== 0) {
        const error = await exitError(child, 'sipp', () => stderr);
        if (error instanceof PortTakenError) throw error;
      }
      let log = '';
      try {
        log = readFileSync(errors, 'utf8');
      } catch {}
      return { code, errors: `${stderr}${log}`.slice(-5000) };
    });
  } finally {
    work.done();
  }
}

/**
 * sipp has no readiness signal: it is up once its port is bound (or it died trying). Whether it
 * is bound is read from the kernel's table of UDP sockets: a probe that bound the port itself, as
 * this did before, could hold it at the very moment sipp bound it, and sipp exited with
 * EADDRINUSE (seen in CI).
 */
async function started(child: ChildProcess, port: number): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d).slice(-3000);
  });
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw await exitError(child, 'sipp', () => stderr);
    if (await udpBound(port)) return;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`sipp did not bind port ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** Whether a UDP socket of this machine is bound to `port` (Linux: /proc/net/udp and udp6). */
export async function udpBound(port: number): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    // Each line after the header: `sl local_address rem_address ...`, the address as HEX:PORT.
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local?.endsWith(hex)) return true;
    }
  }
  return false;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}
