import * as z from 'zod';

/**
 * What deploy/kamailio/callhook.cfg publishes: the state of one call at one moment (dialled,
 * forwarded, answered, ended or failed). Each message carries everything the switch knows about
 * the call so far, so that any one of them is enough to make the page's events up to that moment.
 */
export interface CallSnapshot {
  event: 'dial' | 'forward' | 'answered' | 'ended' | 'failed';
  /** When the switch published this, µs since the epoch. */
  time: number;
  /** The SIP Call-ID. */
  sipCallId: string;
  /** When the INVITE reached the switch, µs since the epoch. */
  dialTime: number;
  from: { user: string; domain: string; name?: string };
  /** The number as dialled (the request URI's user when the INVITE arrived). */
  dialed: string;
  /** Where the switch sent the call: an extension's SIP user, or the outside number. */
  to: { user: string; domain: string };
  /** The public number the call came in through, when it did. */
  did?: string;
  diversion?: string;
  clientApiId?: string;
  forward?: { to: string; time: number; code: number };
  answerTime?: number;
  /** Set on `failed`: the final reply, and how the switch came to it. */
  failure?: { code: number; canceled: boolean; timedOut: boolean; replied: boolean; cause?: string };
}

/** `$TV(Sn)`: seconds, a dot, six digits of microseconds. */
const micros = z
  .string()
  .regex(/^\d{1,12}\.\d{6}$/, 'a time as seconds.microseconds')
  .transform((s) => Number(s.replace('.', '')));

/** jansson_xencode writes what xavps hold: a number stays a number, text stays text. */
const code = z.union([z.number().int(), z.string().regex(/^\d{3}$/)]).transform(Number);
const flag = z.union([z.literal(1), z.literal('1')]).optional();
const text = z.string().max(1024);
/** Kamailio writes the empty display name `""` as an empty string: no name. */
const optionalText = text.optional().transform((s) => (s ? s : undefined));

const wire = z.object({
  v: z.union([z.literal(1), z.literal('1')]),
  event: z.enum(['dial', 'forward', 'answered', 'ended', 'failed']),
  time: micros,
  call_id: text.min(1),
  dial_time: micros,
  from_user: text,
  from_domain: text,
  from_name: optionalText,
  dialed: text,
  to_user: text,
  to_domain: text,
  did: optionalText,
  diversion: optionalText,
  client_api_id: optionalText,
  forward_to: optionalText,
  forward_time: micros.optional(),
  forward_code: code.optional(),
  answer_time: micros.optional(),
  code: code.optional(),
  canceled: flag,
  timeout: flag,
  replied: flag,
  cause: optionalText,
});

export class MalformedSnapshotError extends Error {
  override readonly name = 'MalformedSnapshotError';
}

/** Reads one message from the switch; a message that is not one of ours is refused, named. */
export function parseSnapshot(payload: string): CallSnapshot {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    throw new MalformedSnapshotError('not JSON');
  }
  const parsed = wire.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MalformedSnapshotError(`${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}`);
  }
  const w = parsed.data;
  if (w.event === 'failed' && w.code === undefined)
    throw new MalformedSnapshotError('code: missing on failed');
  if (w.event === 'forward' && (w.forward_to === undefined || w.forward_time === undefined)) {
    throw new MalformedSnapshotError('forward_to: missing on forward');
  }
  if ((w.event === 'answered' || w.event === 'ended') && w.answer_time === undefined) {
    throw new MalformedSnapshotError(`answer_time: missing on ${w.event}`);
  }
  return {
    event: w.event,
    time: w.time,
    sipCallId: w.call_id,
    dialTime: w.dial_time,
    from: { user: w.from_user, domain: w.from_domain, ...(w.from_name ? { name: w.from_name } : {}) },
    dialed: w.dialed,
    to: { user: w.to_user, domain: w.to_domain },
    ...(w.did ? { did: w.did } : {}),
    ...(w.diversion ? { diversion: w.diversion } : {}),
    ...(w.client_api_id ? { clientApiId: w.client_api_id } : {}),
    ...(w.forward_to && w.forward_time !== undefined
      ? { forward: { to: w.forward_to, time: w.forward_time, code: w.forward_code ?? 0 } }
      : {}),
    ...(w.answer_time !== undefined ? { answerTime: w.answer_time } : {}),
    ...(w.event === 'failed'
      ? {
          failure: {
            code: w.code ?? 0,
            canceled: w.canceled !== undefined,
            timedOut: w.timeout !== undefined,
            replied: w.replied !== undefined,
            ...(w.cause ? { cause: w.cause } : {}),
          },
        }
      : {}),
  };
}
