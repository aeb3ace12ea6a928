import type { AnyWebhookPayload } from '@callhook/contract';

const two = (n: number) => String(n).padStart(2, '0');

/** `EventTime` is microseconds since the epoch (read as milliseconds it lands in the year 58271). */
function clock(micros: number | undefined): string {
  const d = micros === undefined ? new Date() : new Date(Math.floor(micros / 1000));
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

const seconds = (micros: number) => `${(micros / 1e6).toFixed(2)} s`;

function who(number: string | undefined, name: string | undefined): string {
  if (!number) return name ?? '?';
  // `000*099@sip.domain` reads better without the domain.
  const short = number.replace(/@.*$/, '');
  return name ? `${short} (${name})` : short;
}

/**
 * One readable line per event: when, what, who called whom, how it went.
 * `14:03:59.250  hangup      000*099 (Iggy Pop) → 00010005  ANSWER  talk 4.24 s  call 31845fca…`
 */
export function summarize(event: AnyWebhookPayload): string {
  // The longest type, message-out, is 11 characters: every summary's parties start in one column.
  const type = event.EventType.padEnd(12);
  if (event.EventType === 'message-in') {
    return `${clock(undefined)}  ${type}${event.src_number} → ${event.did_number ?? event.extension_name ?? `#${event.extension_id}`}  "${event.text}"`;
  }
  if (event.EventType === 'message-out') {
    return `${clock(undefined)}  ${type}${event.extension_name ?? event.src_number ?? `#${event.extension_id}`} → ${event.dst_number}  "${event.text}"`;
  }
  const from = who(event.CallerIDNum ?? event.CallerExtension, event.CallerIDName);
  const to = who(event.CalledNumber ?? event.CalledExtension ?? event.CalledDID, undefined);
  const parts = [`${clock(event.EventTime)}  ${type}${from} → ${to}`];
  if (event.CallStatus) parts.push(event.CallStatus);
  if (event.CallFlow) parts.push(event.CallFlow === 'in' ? 'incoming' : 'outgoing');
  if (event.Duration !== undefined) {
    parts.push(
      event.EventType === 'voicemail'
        ? `message ${seconds(event.Duration)}`
        : `talk ${seconds(event.Duration)}`,
    );
  }
  if (event.Transfered === 'yes') parts.push('forwarded');
  if (event.Bridged) parts.push(event.Bridged === 'yes' ? 'bridged' : 'not bridged');
  if (event.RecID) parts.push('recorded');
  if (event.Tag) parts.push(`tag ${event.Tag}`);
  parts.push(`call ${event.CallID.slice(0, 8)}…`);
  return parts.join('  ');
}

/** Every field, one per line, in the order they came: for `--verbose`. */
export function details(pairs: Readonly<Record<string, unknown>>, indent = '    '): string[] {
  return Object.entries(pairs).map(([k, v]) => `${indent}${k} = ${String(v)}`);
}
