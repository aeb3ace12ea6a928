import { type ChildProcess, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where the lab's parts are: the switch's configuration this repository ships, the sipp
 * scenarios beside the tests, and the programs from Debian's packages (kamailio,
 * kamailio-extra-modules, kamailio-nats-modules, sip-tester).
 */
export const paths = {
  config: fileURLToPath(new URL('../../../../deploy/kamailio/kamailio.cfg', import.meta.url)),
  scenarios: fileURLToPath(new URL('../../test/sipp/', import.meta.url)),
  modules: '/usr/lib/x86_64-linux-gnu/kamailio/modules',
};

function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    const path = `${dir}/${program}`;
    if (dir && existsSync(path)) return path;
  }
  return undefined;
}

export interface LabTools {
  kamailio: string;
  kamcmd: string;
  sipp: string;
}

/**
 * The programs a real switch needs here, or what is missing and how to get it. Tests say so
 * loudly when they skip, and fail instead of skipping in CI.
 */
export function findTools(): { tools?: LabTools; missing: string[] } {
  const kamailio = which('kamailio');
  const kamcmd = which('kamcmd');
  const sipp = which('sipp');
  const missing: string[] = [];
  if (!kamailio || !kamcmd) missing.push('kamailio (apt-get install kamailio)');
  if (!sipp) missing.push('sipp (apt-get install sip-tester)');
  if (kamailio) {
    const dir = modulesDir(kamailio);
    if (!existsSync(`${dir}/jansson.so`))
      missing.push('the jansson module (apt-get install kamailio-extra-modules)');
    if (!existsSync(`${dir}/nats.so`))
      missing.push('the nats module (apt-get install kamailio-nats-modules)');
  }
  return missing.length === 0 && kamailio && kamcmd && sipp
    ? { tools: { kamailio, kamcmd, sipp }, missing }
    : { missing };
}

/** Where this kamailio loads modules from (`kamailio -h` prints its default -L). */
function modulesDir(kamailio: string): string {
  const help = spawnSync(kamailio, ['-h'], { encoding: 'utf8' });
  const m = /-L path\s+Modules search path \(default: ([^)]+)\)/.exec(`${help.stdout}${help.stderr}`);
  return m?.[1] ?? paths.modules;
}

/** A UDP port nobody uses right now, on loopback (tests run side by side). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** A program the lab started could not bind the UDP port it was given: another socket had it. */
export class PortTakenError extends Error {}

/**
 * Starts a program on a free UDP port (from `ports`), and again on another while it finds its
 * port taken, up to five tries: a port free when asked can be taken by another process a moment
 * later, before the program binds it (seen in CI). `start` throws PortTakenError then.
 */
export async function onFreeUdpPort<T>(
  start: (port: number) => Promise<T>,
  ports: () => Promise<number> = freeUdpPort,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await ports());
    } catch (err) {
      if (attempt < 5 && err instanceof PortTakenError) continue;
      throw err;
    }
  }
}

/**
 * Why a program the lab started ended, read once its stderr has closed (what it said may still
 * be on its way when it exits): a PortTakenError when it said its port was taken (sipp: `errno =
 * 98`; Kamailio: `bind(...) on 127.0.0.1: Address already in use`, then SIGSEGV).
 */
export async function exitError(child: ChildProcess, name: string, said: () => string): Promise<Error> {
  const stderr = child.stderr;
  if (stderr && !stderr.closed) await new Promise((r) => stderr.once('close', r));
  const message = `${name} exited with ${child.exitCode ?? child.signalCode}:\n${said()}`;
  return saysPortTaken(said()) ? new PortTakenError(message) : new Error(message);
}

/** Whether a program's output says it could not bind its port (sipp, Kamailio). */
const saysPortTaken = (output: string) => /errno = 98\b|Address already in use/.test(output);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
