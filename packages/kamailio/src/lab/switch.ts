import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exitError, type LabTools, onFreeUdpPort, paths, sleep } from './tools.js';

const run = promisify(execFile);

export interface SwitchOptions {
  tools: LabTools;
  natsUrl: string;
  /** The subject the switch publishes to (callhook's stream must capture it). */
  subject: string;
  /** Where outside numbers go: the gateway's `host:port`. */
  gateway: string;
  /** How long a call may ring before it counts as unanswered. */
  ringTimeoutMs?: number;
  /** SIP worker processes (the config's default is 4). */
  children?: number;
  /** Receives the switch's log lines (stderr). */
  onLog?: (line: string) => void;
  /** Where its UDP port comes from: a free one each time it is asked, by default. */
  ports?: () => Promise<number>;
}

/** A running Kamailio with deploy/kamailio/kamailio.cfg, on a free UDP port on loopback. */
export interface Switch {
  /** `127.0.0.1:port`, where phones send their SIP. */
  address: string;
  port: number;
  /** An RPC command over the control socket (`kamcmd`); its arguments stay strings. */
  rpc(method: string, ...args: string[]): Promise<string>;
  /** A public number that reaches an extension. */
  addDid(number: string, extension: string): Promise<void>;
  /** An extension forwards busy and unanswered calls to this outside number. */
  addForward(extension: string, number: string): Promise<void>;
  stop(): Promise<void>;
}

export function startSwitch(opts: SwitchOptions): Promise<Switch> {
  return onFreeUdpPort((port) => launch(opts, port), opts.ports);
}

async function launch(opts: SwitchOptions, port: number): Promise<Switch> {
  const dir = mkdtempSync(join(tmpdir(), 'callhook-kamailio-'));
  const ctl = join(dir, 'ctl.sock');
  const defines = {
    GATEWAY: `"sip:${opts.gateway}"`,
    CALLHOOK_NATS_URL: `"${opts.natsUrl}"`,
    CALLHOOK_SUBJECT: `"${opts.subject}"`,
    CTL_SOCKET: `"unix:${ctl}"`,
    RING_TIMEOUT_MS: String(opts.ringTimeoutMs ?? 30_000),
    CHILDREN: String(opts.children ?? 4),
  };
  const args = [
    '-f',
    paths.config,
    // Stay in the foreground, log to stderr: this process is the switch's life.
    '-DD',
    '-E',
    '-l',
    `udp:127.0.0.1:${port}`,
    '-P',
    join(dir, 'kamailio.pid'),
    '-Y',
    dir,
    '-m',
    '64',
    '-M',
    '8',
    ...Object.entries(defines).flatMap(([k, v]) => ['-A', `${k}=${v}`]),
  ];
  const child: ChildProcess = spawn(opts.tools.kamailio, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    log = (log + chunk).slice(-20_000);
    if (opts.onLog) for (const line of chunk.split('\n')) if (line) opts.onLog(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const rpc = async (method: string, ...a: string[]): Promise<string> => {
    // kamcmd reads digits as numbers unless told `s:`; SIP users and numbers are strings.
    const { stdout } = await run(opts.tools.kamcmd, ['-s', `unix:${ctl}`, method, ...a.map((x) => `s:${x}`)]);
    return stdout;
  };

  const until = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const error = await exitError(child, 'kamailio', () => log.slice(-3000));
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    try {
      await run(opts.tools.kamcmd, ['-s', `unix:${ctl}`, 'core.uptime']);
      break;
    } catch {
      if (Date.now() > until) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`kamailio did not start:\n${log.slice(-3000)}`);
      }
      await sleep(50);
    }
  }

  return {
    address: `127.0.0.1:${port}`,
    port,
    rpc,
    async addDid(number, extension) {
      await rpc('htable.sets', 'did', number, extension);
    },
    async addForward(extension, number) {
      await rpc('htable.sets', 'fwd', extension, number);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
