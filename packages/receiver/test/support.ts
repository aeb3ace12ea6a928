import type { AnyWebhookPayload } from '@callhook/contract';
import { Webhook } from 'standardwebhooks';

/** Encodes event data exactly as callhook's delivery engine does: only fields with a value, in order. */
export function encodeEvent(event: Readonly<Record<string, unknown>>): string {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(event)) {
    if (value === undefined || value === null || value === '') continue;
    form.append(name, String(value));
  }
  return form.toString();
}

/** Where a GET delivery goes: the subscription URL with the event data after its own query. */
export function getTarget(subscriptionUrl: string, encoded: string): string {
  return `${subscriptionUrl}${subscriptionUrl.includes('?') ? '&' : '?'}${encoded}`;
}

/** The request target (path and query) of an absolute URL, as a server sees it on the request line. */
export function requestTarget(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const OTHER_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

/** Standard Webhooks headers made by the reference `standardwebhooks` package. */
export function signedHeaders(
  payload: string,
  { secret = SECRET, id = 'msg_2p5DqGYCWRkSg1ksGFk5EhJSxpD', at = new Date() } = {},
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, payload),
  };
}

const CALL_ID = '31845fca85624b7a94cf7b4036fd6d52';
const SUB_CALL_ID = `175-${CALL_ID}`;
const API_ID = '3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52';

/** The three requests the provider's page logs for extension 000*099 calling 00010005, fields in its order. */
export const pageCall = {
  dialOut: {
    SubCallID: SUB_CALL_ID,
    EventTime: 1499349840250190,
    CalledNumber: '00010005',
    EventType: 'dial-out',
    CallerIDNum: '000*099',
    CallerExtensionID: 175,
    CallerExtension: '000*099@sip.domain',
    CallFlow: 'out',
    CallAPIID: API_ID,
    CallerIDName: 'Iggy Pop',
    CallStatus: 'CALLING',
    CallID: CALL_ID,
  },
  answer: {
    SubCallID: SUB_CALL_ID,
    EventTime: 1499349842091175,
    CalledNumber: '00010005',
    EventType: 'answer',
    CallerIDNum: '000*099',
    CallerExtensionID: 175,
    CallerExtension: '000*099@sip.domain',
    CallFlow: 'out',
    CallAPIID: API_ID,
    CallerIDName: 'Iggy Pop',
    CallStatus: 'ANSWER',
    CallID: CALL_ID,
  },
  hangup: {
    SubCallID: SUB_CALL_ID,
    EventTime: 1499349846331075,
    CalledNumber: '00010005',
    EventType: 'hangup',
    CallerIDNum: '000*099',
    CallerExtensionID: 175,
    CallerExtension: '000*099@sip.domain',
    CallFlow: 'out',
    RecID: SUB_CALL_ID,
    CallAPIID: API_ID,
    CallerIDName: 'Iggy Pop',
    Duration: 4239900,
    CallStatus: 'ANSWER',
    CallID: CALL_ID,
  },
} satisfies Record<string, AnyWebhookPayload>;

export const PAGE_URL = 'https://somehost.com/fordel/show.php?myid=175';
