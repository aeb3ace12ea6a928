import type { IntakeEvent, WebhookPayload } from '@callhook/contract';

/** The page's logged call: 000*099 (175) calls 00010005. */
export const pageCall = {
  dialOut: {
    SubCallID: '175-31845fca85624b7a94cf7b4036fd6d52',
    EventTime: 1499349840250190,
    CalledNumber: '00010005',
    EventType: 'dial-out',
    CallerIDNum: '000*099',
    CallerExtensionID: 175,
    CallerExtension: '000*099@sip.domain',
    CallFlow: 'out',
    CallAPIID: '3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52',
    CallerIDName: 'Iggy Pop',
    CallStatus: 'CALLING',
    CallID: '31845fca85624b7a94cf7b4036fd6d52',
  } satisfies WebhookPayload<'dial-out'>,
  answer: {
    SubCallID: '175-31845fca85624b7a94cf7b4036fd6d52',
    EventTime: 1499349842091175,
    CalledNumber: '00010005',
    EventType: 'answer',
    CallerIDNum: '000*099',
    CallerExtensionID: 175,
    CallerExtension: '000*099@sip.domain',
    CallFlow: 'out',
    CallAPIID: '3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52',
    CallerIDName: 'Iggy Pop',
    CallStatus: 'ANSWER',
    CallID: '31845fca85624b7a94cf7b4036fd6d52',
  } satisfies WebhookPayload<'answer'>,
  hangup: {
    SubCallID: '175-31845fca85624b7a94cf7b4036fd6d52',
    EventTime: 1499349846331075,
    CalledNumber: '00010005',
    EventType: 'hangup',
    CallerIDNum: '000*099',
    CallerExtensionID: 175,
    CallerExtension: '000*099@sip.domain',
    CallFlow: 'out',
    RecID: '175-31845fca85624b7a94cf7b4036fd6d52',
    CallAPIID: '3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52',
    CallerIDName: 'Iggy Pop',
    Duration: 4239900,
    CallStatus: 'ANSWER',
    CallID: '31845fca85624b7a94cf7b4036fd6d52',
  } satisfies WebhookPayload<'hangup'>,
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
