import { randomBytes } from 'node:crypto';
import { callIds } from '@callhook/kamailio';
import {
  type Callee,
  type CallSpec,
  dropStream,
  findTools,
  jetStreamUnavailable,
  type LabTools,
  type PlacedCalls,
  placeCalls,
  type Registration,
  register,
  type Switch,
  startCallee,
  startSwitch,
} from '@callhook/kamailio/lab';
import { describe, test } from 'vitest';
import { startTestServer, type TestServer } from '../harness.js';

/**
 * Real SIP calls: Kamailio (deploy/kamailio) as the switch, sipp as phones and as the PSTN
 * gateway, NATS JetStream as the durable path, and a real callhook server consuming it. Each test
 * file runs its own switch on a free port and its own stream and subject, so runs side by side
 * never see each other's calls.
 */

export const natsUrl = process.env.CALLHOOK_TEST_NATS_URL || 'nats://127.0.0.1:4222';

const found = findTools();
const missing = [...found.missing];
const natsProblem = await jetStreamUnavailable(natsUrl);
if (natsProblem) missing.push(natsProblem);
export const tools = found.tools as LabTools;

/**
 * `describe` for tests that place real calls. Without kamailio, sipp or NATS it says so loudly and
 * skips; in CI (CI=true) it fails instead, since CI installs them.
 */
/**
 * How far short of its length a sipp pause may end, in µs. sipp times pauses on a clock of whole
 * milliseconds that its loop reads once per turn, so a 300 ms talk can measure 299.73 ms between
 * the switch's true microsecond stamps (seen in CI). Wrong arithmetic (talk counted from the dial,
 * ring left out) is off by hundreds of milliseconds, far outside this.
 */
export const SIPP_CLOCK_SLACK_US = 10_000;

export function describeSip(name: string, fn: () => void): void {
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  const reason = `real SIP calls need: ${missing.join('; ')}`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      test('the switch, sipp and NATS JetStream are here (CI installs them)', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  const line = `*** SKIPPED: ${name} (${reason}) ***`;
  const bar = '*'.repeat(Math.min(line.length, 100));
  console.log(`\n${bar}\n${line}\n${bar}\n`);
  describe.skip(name, fn);
}

export interface SipWorldOptions {
  /** How long phones and the gateway ring before they answer. */
  ringMs?: number;
  /** How long the switch lets a call ring before it counts as unanswered. */
  ringTimeoutMs?: number;
  /** Phones to register (their behaviour: `p200` answers, `p486` is busy, `p999` never answers). */
  phones?: Array<{ user: string; behaviour: string }>;
  dids?: Record<string, string>;
  /** SIP worker processes of the switch. */
  children?: number;
  /** Start a callhook server here (default), or leave it to the test. */
  server?: boolean;
}

export interface SipWorld {
  /** A unique run id; the stream and subject are derived from it. */
  run: string;
  stream: string;
  subject: string;
  server: TestServer;
  sw: Switch;
  gateway: Callee;
  phones: Callee;
  /** The settings a callhook server needs to consume this world's switch. */
  kamailioConfig: {
    kamailioNatsUrl: string;
    kamailioStream: string;
    kamailioSubject: string;
    kamailioAckWaitSeconds: number;
  };
  call(calls: CallSpec[], opts?: { rate?: number; limit?: number }): Promise<PlacedCalls>;
  /** The page's CallID of a SIP call (how the bridge derives it). */
  callIdOf(sipCallId: string): string;
  stop(): Promise<void>;
}

export async function startSipWorld(opts: SipWorldOptions = {}): Promise<SipWorld> {
  const run = randomBytes(5).toString('hex');
  const stream = `CALLHOOK_TEST_${run.toUpperCase()}`;
  const subject = `callhook.test.${run}.events`;
  const kamailioConfig = {
    kamailioNatsUrl: natsUrl,
    kamailioStream: stream,
    kamailioSubject: subject,
    kamailioAckWaitSeconds: 2,
  };
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    // The server first: it creates the stream, which must exist before the switch publishes.
    const server =
      opts.server === false
        ? (undefined as unknown as TestServer)
        : await startTestServer({ config: kamailioConfig });
    if (server) stops.push(() => server.stop());
    stops.push(() => dropStream(natsUrl, stream));
    const ringMs = opts.ringMs ?? 300;
    const gateway = await startCallee({ tools, ringMs });
    stops.push(() => gateway.stop());
    const phones = await startCallee({ tools, ringMs });
    stops.push(() => phones.stop());
    const sw = await startSwitch({
      tools,
      natsUrl,
      subject,
      gateway: gateway.address,
      ringTimeoutMs: opts.ringTimeoutMs ?? 10_000,
      ...(opts.children ? { children: opts.children } : {}),
    });
    stops.push(() => sw.stop());
    const registrations: Registration[] = (opts.phones ?? []).map((p) => ({
      user: p.user,
      domain: 'sip.domain',
      behaviour: p.behaviour,
      at: phones,
    }));
    if (registrations.length > 0) await register({ tools, switchAddress: sw.address, phones: registrations });
    for (const [number, ext] of Object.entries(opts.dids ?? {})) await sw.addDid(number, ext);
    return {
      run,
      stream,
      subject,
      server,
      sw,
      gateway,
      phones,
      kamailioConfig,
      call: (calls, o = {}) => placeCalls({ tools, switchAddress: sw.address, calls, ...o }),
      callIdOf: (sipCallId) => callIds(sipCallId).callId,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The form fields of a request (the query for GET, the body for POST), in order. */
export function fieldsOf(r: { method: string; url: string; body: string }): Record<string, string> {
  const q = r.url.indexOf('?');
  const raw = r.method === 'GET' ? (q === -1 ? '' : r.url.slice(q + 1)) : r.body;
  return Object.fromEntries(new URLSearchParams(raw));
}

/** Polls until `check` holds (or gives up after `ms`), for what arrives asynchronously. */
export async function until<T>(what: string, check: () => T | undefined | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
