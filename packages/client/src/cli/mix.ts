// `callhook simulate --mix`: a random mix of calls of every kind over the client's extensions, at a
// rate, until a count or a duration (Ctrl-C stops early). Loaded only for this command.
import { type SimulationRequest, seededRandom } from '@callhook/contract';
import { CallhookApiError } from '../errors.js';
import { type LoadResult, runLoad } from '../load.js';
import type { Invocation } from './commands.js';
import { UsageError } from './usage.js';

function bounded(value: string | undefined, flag: string, min: number, max: number, whole = false) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
    throw new UsageError(
      `--${flag} takes a ${whole ? 'whole ' : ''}number from ${min} to ${max}, got "${value}"`,
    );
  }
  return n;
}

/** `outgoing    175 → +79817654321           ANSWER` */
export function describeCall(req: SimulationRequest): string {
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

export async function simulateMix({ client, values, connection, io, print }: Invocation): Promise<number> {
  const rate = bounded(values.rate, 'rate', 0.001, 100_000);
  if (rate === undefined) throw new UsageError('--mix needs --rate (calls started per second)');
  const count = bounded(values.count, 'count', 1, 10_000_000, true);
  const duration = bounded(values.duration, 'duration', 0.001, 7 * 24 * 3600);
  if (count === undefined && duration === undefined) {
    throw new UsageError('--mix needs a bound: --count N or --duration SECONDS (or both)');
  }
  const speed = bounded(values.speed, 'speed', 0.01, 10_000);
  const seed = bounded(values.seed, 'seed', 0, 2 ** 32 - 1, true);
  const chosen = [values.extensions, values.extension]
    .filter((v) => v !== undefined)
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);

  // Every extension of the signed-in client, as the API lists them (a queue with its agents).
  const all = await client.extensions('@me');
  let extensions = all;
  if (chosen.length > 0) {
    const unknown = chosen.filter((id) => !all.some((e) => String(e.id) === id));
    if (unknown.length > 0) {
      throw new UsageError(
        `--extensions: the client has extensions ${all.map((e) => e.id).join(', ')}, not ${unknown.join(', ')}`,
      );
    }
    extensions = all.filter((e) => chosen.includes(String(e.id)));
  }
  if (extensions.length === 0) throw new UsageError('the client has no extensions to make calls for');

  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  const quiet = values.quiet === true || values.json === true;
  const bound = [count !== undefined ? `${count} calls` : '', duration !== undefined ? `${duration} s` : '']
    .filter(Boolean)
    .join(' or ');
  if (!quiet) {
    io.out(
      `simulating a random mix on ${connection.url}: ${rate} calls/s for ${bound}, speed ${speed ?? 1}, extensions ${extensions.map((e) => e.id).join(', ')} (Ctrl-C stops)`,
    );
  }
  let n = 0;
  try {
    const result = await runLoad({
      target: client,
      extensions,
      rate,
      ...(count !== undefined ? { count } : {}),
      ...(duration !== undefined ? { durationMs: duration * 1000 } : {}),
      ...(speed !== undefined ? { speed } : {}),
      ...(seed !== undefined ? { random: seededRandom(seed) } : {}),
      signal: stop.signal,
      onCall: (req, res) => {
        n++;
        if (quiet) return;
        const what =
          res instanceof CallhookApiError
            ? `refused: ${res.body.message}`
            : `call ${res.call_id}, ${res.events} event${res.events === 1 ? '' : 's'}`;
        io.out(`${String(n).padStart(6)}  ${describeCall(req)} ${what}`);
      },
    });
    print(result, () => summary(result));
    return 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
