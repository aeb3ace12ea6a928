import type { CallRecord, Party } from './calls/record.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** The web server's error-log stamp the page's example shows: `[Thu Jul 06 17:03:59 2017]`. */
export function logStamp(date: Date): string {
  const time = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
  return `[${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${two(date.getDate())} ${time} ${date.getFullYear()}]`;
}

/**
 * One request as the page's `show.php` logs it: `------`, then `key => value` for every parameter in
 * the order it came, the subscriber's own first.
 */
export function requestLog(pairs: readonly string[], date: Date): string[] {
  const stamp = logStamp(date);
  const lines = [`${stamp}  ------`];
  for (let i = 0; i < pairs.length; i += 2) lines.push(`${stamp}  ${pairs[i]} => ${pairs[i + 1]}`);
  return lines;
}

function party(p: Party | undefined): string {
  if (!p) return '-';
  const who = p.number ?? p.extension ?? (p.extensionId === undefined ? '?' : `#${p.extensionId}`);
  return p.name ? `${who} (${p.name})` : who;
}

const seconds = (micros: number): string => `${(micros / 1e6).toFixed(2)} s`;

/** An assembled call, in the same `key => value` style so one log reads top to bottom. */
export function callLog(call: CallRecord, date: Date): string[] {
  const answer = call.answered
    ? `yes${call.answeredBy ? `, by ${party(call.answeredBy)}` : ''}`
    : call.missed
      ? 'no (missed)'
      : 'no';
  const fields: [string, string][] = [
    ['direction', call.direction],
    ['caller', party(call.caller)],
    ['callee', party(call.callee)],
    ['answered', answer],
    ['status', call.status],
    ['talk', seconds(call.talkDuration)],
    ['legs', call.legs.map((l) => `${l.subCallId} ${l.status ?? 'open'}`).join(', ')],
  ];
  if (call.forwardedTo) fields.push(['forwarded to', call.forwardedTo]);
  if (call.recordings.length > 0) fields.push(['recordings', call.recordings.join(', ')]);
  if (!call.complete) fields.push(['complete', 'no (a leg never hung up)']);
  const stamp = logStamp(date);
  return [`${stamp}  ====== call ${call.callId}`, ...fields.map(([k, v]) => `${stamp}  ${k} => ${v}`)];
}
