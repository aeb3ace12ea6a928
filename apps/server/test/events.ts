import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type IntakeEvent, type WebhookPayload, webhookPayloadSchemas } from '@callhook/contract';
import { parse } from 'yaml';

const spec = parse(
  readFileSync(createRequire(import.meta.url).resolve('@callhook/spec/openapi.yaml'), 'utf8'),
);

/**
 * One of the spec's examples of the page's log, checked against its event's schema. The example
 * itself is returned (not zod's output) so that its field order, the page's, is kept.
 */
function pageExample<E extends 'dial-out' | 'answer' | 'hangup'>(name: string, type: E): WebhookPayload<E> {
  const value = spec.components.examples[name].value as WebhookPayload<E>;
  webhookPayloadSchemas[type].parse(value);
  return value;
}

/** The page's logged call, 000*099 (175) calls 00010005, as the spec's examples hold it. */
export const pageCall = {
  dialOut: pageExample('PageDialOut', 'dial-out'),
  answer: pageExample('PageAnswer', 'answer'),
  hangup: pageExample('PageHangup', 'hangup'),
};

export function intake<E extends 'dial-out' | 'answer' | 'hangup'>(
  extensionId: number,
  data: WebhookPayload<E>,
): IntakeEvent {
  return { event_type: data.EventType, extension_id: extensionId, data } as IntakeEvent;
}

let n = 0;
/** A call of `steps` events (dial-out, answer..., hangup) with its own CallID. */
export function callEvents(extensionId: number, steps: number, tag = ''): IntakeEvent[] {
  const callId = `${(++n).toString(16).padStart(8, '0')}${'0'.repeat(24)}`;
  const base = {
    CallID: callId,
    CallFlow: 'out' as const,
    SubCallID: `${extensionId}-${callId}`,
    CalledNumber: '00010005',
  };
  const events: IntakeEvent[] = [];
  for (let i = 0; i < steps; i++) {
    const t = 1_700_000_000_000_000 + n * 1000 + i;
    const last = i === steps - 1;
    const data = last
      ? {
          ...base,
          EventType: 'hangup' as const,
          CallStatus: 'ANSWER' as const,
          EventTime: t,
          Tag: `${tag}${i}`,
        }
      : i === 0
        ? {
            ...base,
            EventType: 'dial-out' as const,
            CallStatus: 'CALLING' as const,
            EventTime: t,
            Tag: `${tag}${i}`,
          }
        : {
            ...base,
            EventType: 'answer' as const,
            CallStatus: 'ANSWER' as const,
            EventTime: t,
            Tag: `${tag}${i}`,
          };
    events.push({ event_type: data.EventType, extension_id: extensionId, data } as IntakeEvent);
  }
  return events;
}
