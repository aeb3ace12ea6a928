// `callhook-server simulate`: plays calls on a running server's simulated PBX over HTTP
// (`POST /pbx/simulate/`), one scenario or a random mix at a rate, for demos and load.

import { parseArgs } from 'node:util';
import {
  type HangupStatus,
  hangupStatuses,
  type SimulationRequest,
  type SimulationScenario,
  schemas,
} from '@callhook/contract';
import { API_BASE_PATH } from '@callhook/contract/servers';
import {
  cryptoRandom,
  type LoadResult,
  type PbxExtension,
  runLoad,
  ScenarioError,
  type SimulationResult,
  seededRandom,
} from '@callhook/pbx';
import { demoExtensions } from '../demo.js';

// The scenarios the spec's SimulationScenario enum names.
const SCENARIOS: readonly SimulationScenario[] = schemas.zSimulationScenario.options;

export const SIMULATE_HELP = `  callhook-server simulate [--scenario outgoing] --extension N [--number N] [--did N]
        [--forward-to N] [--outcome S] [--answered-by EXT] [--text T] [--ring-ms MS] [--talk-ms MS]
        [--speed X]
  callhook-server simulate --mix --rate CALLS_PER_S (--count N | --duration S) [--speed X]
        [--extensions 175,200,...] [--seed N] [--quiet]
      Play calls on a running server's simulated PBX (demo mode or CALLHOOK_SIMULATOR=true) over
      HTTP: one scenario, or a random mix of every scenario over the demo's extensions at a rate,
      until the count or the duration is reached (Ctrl-C stops early); prints each call started
      and a summary. Scenarios: ${SCENARIOS.join(', ')}.
      --speed plays calls X times faster than real time.
      --server URL (CALLHOOK_URL, default http://127.0.0.1:8080), --client-id ID and
      --client-secret S (CALLHOOK_CLIENT_ID, CALLHOOK_CLIENT_SECRET): the demo's are printed
      by "callhook-server start --demo".
`;

const OPTIONS = {
  server: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  scenario: { type: 'string' },
  extension: { type: 'string' },
  number: { type: 'string' },
  did: { type: 'string' },
  'forward-to': { type: 'string' },
  outcome: { type: 'string' },
  'answered-by': { type: 'string' },
  text: { type: 'string' },
  'ring-ms': { type: 'string' },
  'talk-ms': { type: 'string' },
  speed: { type: 'string' },
  mix: { type: 'boolean' },
  rate: { type: 'string' },
  count: { type: 'string' },
  duration: { type: 'string' },
  extensions: { type: 'string' },
  seed: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

/** The server's answer to a simulation, or why it refused it. */
interface Remote {
  run(req: SimulationRequest): Promise<SimulationResult>;
}

async function connect(server: string, clientId: string, clientSecret: string): Promise<Remote> {
  const base = server.replace(/\/+$/, '');
  const tokenRes = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    }),
  }).catch((err: unknown) => {
    throw new Error(
      `cannot reach ${base}: ${(err as Error & { cause?: Error }).cause?.message ?? String(err)}`,
    );
  });
  const tokenText = await tokenRes.text();
  if (tokenRes.status !== 200) {
    throw new Error(`${base}/oauth/token refused the credentials (${tokenRes.status}): ${tokenText}`);
  }
  const token = (JSON.parse(tokenText) as { access_token: string }).access_token;
  return {
    async run(req) {
      const res = await fetch(`${base}${API_BASE_PATH}/pbx/simulate/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(req),
      });
      const text = await res.text();
      if (res.status === 202) return JSON.parse(text) as SimulationResult;
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {}
      // A request the server finds wrong is refused (a load run goes on); anything else (the
      // simulator off, the server going away, a bad token) ends the run.
      if (res.status === 400) throw new ScenarioError(400, message);
      if (res.status === 404 && !/simulator is off/i.test(message)) throw new ScenarioError(404, message);
      throw new Error(`POST /pbx/simulate/ answered ${res.status}: ${message}`);
    },
  };
}

function describe(req: SimulationRequest): string {
  const who = String(req.extension_id);
  const other = req.number ?? '';
  const arrow =
    req.scenario === 'outgoing' || req.scenario === 'message-out' ? `${who} → ${other}` : `${other} → ${who}`;
  return `${req.scenario.padEnd(11)} ${arrow.padEnd(30)} ${(req.outcome ?? '').padEnd(11)}`;
}

function tally(counts: Partial<Record<string, number>>): string {
  return (
    Object.entries(counts)
      .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || '-'
  );
}

function summary(r: LoadResult): string {
  const s = r.elapsedMs / 1000;
  return [
    `${r.started} calls started in ${s.toFixed(1)} s (${(r.started / Math.max(s, 0.001)).toFixed(1)}/s), ${r.refused} refused, ${r.events} events`,
    `  by scenario: ${tally(r.byScenario)}`,
    `  by outcome:  ${tally(r.byOutcome)}`,
    '  (the server plays each call at its own times: the last events follow for a while yet)',
  ].join('\n');
}

/** `callhook-server simulate ...`; returns the exit code (2 for a usage mistake). */
export async function simulateCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await simulate(args, env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`callhook-server simulate: ${err.message}\n\n${SIMULATE_HELP}`);
      return 2;
    }
    process.stderr.write(`callhook-server simulate: ${(err as Error).message}\n`);
    return 1;
  }
}

async function simulate(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ args, options: OPTIONS }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(SIMULATE_HELP);
    return 0;
  }
  const num = (key: keyof typeof values, min: number, max: number, integer = false): number | undefined => {
    const raw = values[key];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (
      typeof raw !== 'string' ||
      !Number.isFinite(n) ||
      n < min ||
      n > max ||
      (integer && !Number.isInteger(n))
    ) {
      throw new UsageError(`--${key} must be a ${integer ? 'whole ' : ''}number from ${min} to ${max}`);
    }
    return n;
  };
  const speed = num('speed', 0.01, 10_000);
  const server = values.server ?? env.CALLHOOK_URL ?? 'http://127.0.0.1:8080';
  const clientId = values['client-id'] ?? env.CALLHOOK_CLIENT_ID;
  const clientSecret = values['client-secret'] ?? env.CALLHOOK_CLIENT_SECRET;
  if (!clientId || !clientSecret) {
    throw new UsageError(
      'needs credentials: --client-id and --client-secret (or CALLHOOK_CLIENT_ID and CALLHOOK_CLIENT_SECRET)',
    );
  }

  if (values.mix) {
    const rate = num('rate', 0.001, 100_000);
    if (rate === undefined) throw new UsageError('--mix needs --rate (calls started per second)');
    const count = num('count', 1, 10_000_000, true);
    const duration = num('duration', 0.001, 7 * 24 * 3600);
    if (count === undefined && duration === undefined) {
      throw new UsageError('--mix needs a bound: --count N or --duration SECONDS (or both)');
    }
    const world: PbxExtension[] = demoExtensions.map((e) => ({ ...e, clientId: 0 }));
    let extensions = world;
    if (values.extensions) {
      const ids = values.extensions.split(',').map((s) => Number(s.trim()));
      extensions = world.filter((e) => ids.includes(e.id));
      const unknown = ids.filter((id) => !world.some((e) => e.id === id));
      if (unknown.length > 0 || extensions.length === 0) {
        throw new UsageError(
          `--extensions: the mix knows the demo's extensions (${world.map((e) => e.id).join(', ')}), not ${unknown.join(', ')}`,
        );
      }
    }
    const seed = num('seed', 0, 2 ** 32 - 1, true);
    const remote = await connect(server, clientId, clientSecret);
    const stop = new AbortController();
    const onSigint = () => stop.abort();
    process.once('SIGINT', onSigint);
    const bound = [count !== undefined ? `${count} calls` : '', duration !== undefined ? `${duration} s` : '']
      .filter(Boolean)
      .join(' or ');
    process.stdout.write(
      `simulating a random mix on ${server}: ${rate} calls/s for ${bound}, speed ${speed ?? 1} (Ctrl-C stops)\n`,
    );
    let n = 0;
    try {
      const result = await runLoad({
        simulator: { run: (req) => remote.run(req), idle: async () => {} },
        extensions,
        rate,
        ...(count !== undefined ? { count } : {}),
        ...(duration !== undefined ? { durationMs: duration * 1000 } : {}),
        ...(speed !== undefined ? { speed } : {}),
        random: seed === undefined ? cryptoRandom : seededRandom(seed),
        signal: stop.signal,
        onCall: (req, res) => {
          n++;
          if (values.quiet) return;
          const what =
            res instanceof ScenarioError
              ? `refused: ${res.message}`
              : `call ${res.call_id}, ${res.events} event${res.events === 1 ? '' : 's'}`;
          process.stdout.write(`${String(n).padStart(6)}  ${describe(req)} ${what}\n`);
        },
      });
      process.stdout.write(`${summary(result)}\n`);
      return 0;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  }

  for (const key of ['rate', 'count', 'duration', 'extensions', 'seed'] as const) {
    if (values[key] !== undefined) throw new UsageError(`--${key} goes with --mix`);
  }
  const scenario = (values.scenario ?? 'outgoing') as SimulationScenario;
  if (!SCENARIOS.includes(scenario))
    throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  const extension = num('extension', 1, 2 ** 31 - 1, true);
  if (extension === undefined) throw new UsageError('--extension is required (e.g. --extension 175)');
  const outcome = values.outcome?.toUpperCase() as HangupStatus | undefined;
  if (outcome !== undefined && !hangupStatuses.includes(outcome)) {
    throw new UsageError(`--outcome must be one of ${hangupStatuses.join(', ')}`);
  }
  const answeredBy = num('answered-by', 1, 2 ** 31 - 1, true);
  const ringMs = num('ring-ms', 0, 600_000, true);
  const talkMs = num('talk-ms', 0, 3_600_000, true);
  const req: SimulationRequest = {
    scenario,
    extension_id: extension,
    ...(values.number !== undefined ? { number: values.number } : {}),
    ...(values.did !== undefined ? { did: values.did } : {}),
    ...(values['forward-to'] !== undefined ? { forward_to: values['forward-to'] } : {}),
    ...(outcome !== undefined ? { outcome } : {}),
    ...(answeredBy !== undefined ? { answered_by: answeredBy } : {}),
    ...(values.text !== undefined ? { text: values.text } : {}),
    ...(ringMs !== undefined ? { ring_ms: ringMs } : {}),
    ...(talkMs !== undefined ? { talk_ms: talkMs } : {}),
    ...(speed !== undefined ? { speed } : {}),
  };
  const remote = await connect(server, clientId, clientSecret);
  try {
    const res = await remote.run(req);
    process.stdout.write(
      `started ${describe(req).trim()}\n  call_id      ${res.call_id}\n${res.call_api_id ? `  call_api_id  ${res.call_api_id}\n` : ''}  events       ${res.events}, at the scenario's times\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ScenarioError) {
      process.stderr.write(`callhook-server simulate: the server refused the scenario: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
