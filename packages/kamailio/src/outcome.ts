import type { HangupStatus } from '@callhook/contract';
import type { CallSnapshot } from './snapshot.js';

type Failure = NonNullable<CallSnapshot['failure']>;
type Unanswered = Exclude<HangupStatus, 'ANSWER'>;

/**
 * Final SIP replies and the page's CallStatus for them (the page's values are Asterisk's
 * DIALSTATUS names). Codes not listed are an error somewhere on the way: CONGESTION.
 */
const byCode: ReadonlyMap<number, Unanswered> = new Map<number, Unanswered>([
  [486, 'BUSY'], // Busy Here
  [600, 'BUSY'], // Busy Everywhere
  [603, 'BUSY'], // Decline: the callee refused it, as a busy phone does
  [408, 'NOANSWER'], // the far end gave up ringing
  [480, 'NOANSWER'], // Temporarily Unavailable, from a device that was reached
  [487, 'CANCEL'], // Request Terminated
  [404, 'CHANUNAVAIL'], // no such number or user
  [410, 'CHANUNAVAIL'],
  [484, 'CHANUNAVAIL'],
  [604, 'CHANUNAVAIL'],
]);

/** How an unanswered call ended, from the switch's account of its last failure. */
export function hangupStatus(failure: Failure): Unanswered {
  if (failure.canceled) return 'CANCEL';
  // The switch refused the call itself: the callee has no registration.
  if (failure.cause === 'unregistered') return 'CHANUNAVAIL';
  if (failure.timedOut) {
    // The switch's timer ran out: after the far end answered with something (ringing), nobody
    // picked up; with no reply at all, nothing was there to ring.
    return failure.replied ? 'NOANSWER' : 'CHANUNAVAIL';
  }
  return byCode.get(failure.code) ?? 'CONGESTION';
}
