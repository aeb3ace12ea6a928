import type { AttemptResult, ClaimedDelivery } from '../store/index.js';

/** The URL without its query and fragment: a subscription's query may hold its own key. */
function endpoint(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** A receiver's answer on one line, cut short. */
function quoted(body: string | null): string {
  if (!body) return '';
  const line = body.replace(/\s+/g, ' ').trim();
  return line ? ` "${line.length > 120 ? `${line.slice(0, 120)}…` : line}"` : '';
}

/**
 * One line that says what became of a delivery attempt, for people watching the server's
 * terminal (demo mode): what went where, what came back, and what happens next.
 */
export function outcomeLine(
  d: ClaimedDelivery,
  result: AttemptResult,
): { level: 'info' | 'warn'; line: string } {
  const a = result.attempt;
  const what = `${d.eventType} ${d.id} → ${d.method} ${endpoint(d.url)} (#${d.subscriptionId})`;
  const answer =
    a.statusCode !== null
      ? `HTTP ${a.statusCode}${quoted(a.responseBody)}`
      : `${a.outcome}: ${a.error ?? ''}`;
  const took = `${Math.round(a.latencyMs)} ms`;
  const n = d.attempts + 1;
  switch (result.kind) {
    case 'succeeded':
      return { level: 'info', line: `delivered ${what}: ${answer} in ${took}` };
    case 'retry':
      return {
        level: 'warn',
        line: `failed ${what}: ${answer} in ${took}; attempt ${n}, next at ${clock(result.nextAttemptAt)} UTC`,
      };
    case 'failed':
      return {
        level: 'warn',
        line: `FAILED ${what}: ${answer} in ${took}; attempt ${n}, no retries left (retry it from the console or \`callhook deliveries retry\`)`,
      };
    case 'disable':
      return {
        level: 'warn',
        line: `FAILED ${what}: ${answer} in ${took}; subscription #${d.subscriptionId} disabled: ${result.reason}`,
      };
  }
}
