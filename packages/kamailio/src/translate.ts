import type { CallFlow, components, HangupStatus } from '@callhook/contract';
import type { PbxExtension, SourceEvent } from '@callhook/pbx';
import { callIds, legId } from './ids.js';
import { hangupStatus } from './outcome.js';
import type { CallSnapshot } from './snapshot.js';

type CallEventFields = components['schemas']['CallEventFields'];

/** The extensions callhook has among a call's parties (either may be outside, or unknown). */
export interface Parties {
  caller?: PbxExtension;
  callee?: PbxExtension;
}

/** An extension, or a number outside the PBX. */
type Party = PbxExtension | string;

/** One extension's side of the call: whose subscriptions get its events, and what they say. */
interface Leg {
  owner: PbxExtension;
  subCallId: string;
  flow: CallFlow;
  caller: Party;
  callee: Party;
  /** `CalledNumber`. */
  dialed: string;
  did?: string;
  diversion?: string;
  transfered?: boolean;
}

const address = (ext: PbxExtension) => `${ext.name}@${ext.domain}`;

function withoutUndefined<T extends object>(o: T): T {
  for (const key of Object.keys(o) as Array<keyof T>)
    if (o[key] === undefined) Reflect.deleteProperty(o, key);
  return o;
}

/**
 * The page's events for a call as far as the switch has seen it, each with its key. The page's
 * generation rules, as the simulator has them:
 * - the calling extension gets `dial-out` (CallFlow out), a called extension `dial-in` (in); an
 *   internal call gives both, each on its own leg (`SubCallID` = `<extension id>-<CallID>`);
 * - a call the callee's extension forwards outside (busy, no answer) adds that extension's
 *   `dial-out` to the number with `Transfered=yes`, its second leg (`-2`), answered and ended
 *   with the call;
 * - `answer` when the far end answers, then `hangup` on every leg with the outcome; answers and
 *   hangups go from the far end to the caller;
 * - `Duration` is the talk time in µs (0 unanswered), `RecID` is on the hangups of answered legs
 *   of extensions that record.
 * A snapshot gives every event up to its moment, not only its own: the intake stores each key
 * once, so a message that arrives late, twice, or after a later one changes nothing, while a
 * later one fills in what an earlier, lost or delayed one would have given.
 */
export function pageEvents(s: CallSnapshot, parties: Parties): SourceEvent[] {
  const { callId, callApiId } = callIds(s.sipCallId);
  const { caller } = parties;
  // The page's optimisation for a callback to oneself holds here too: no legs from an extension
  // to itself.
  const callee = parties.callee && parties.callee !== caller ? parties.callee : undefined;

  const calledParty: Party = callee ?? s.to.user;
  const callingParty: Party = caller ?? s.from.user;
  const legs: { out?: Leg; in?: Leg; forwarded?: Leg } = {};
  if (caller) {
    legs.out = {
      owner: caller,
      subCallId: legId(caller.id, callId),
      flow: 'out',
      caller,
      callee: calledParty,
      dialed: s.dialed,
    };
  }
  if (callee) {
    legs.in = {
      owner: callee,
      subCallId: legId(callee.id, callId),
      flow: 'in',
      caller: callingParty,
      callee,
      dialed: s.dialed,
      did: s.did,
      diversion: s.diversion,
    };
    if (s.forward) {
      legs.forwarded = {
        owner: callee,
        subCallId: legId(callee.id, callId, 2),
        flow: 'out',
        caller: callee,
        callee: s.forward.to,
        dialed: s.forward.to,
        transfered: true,
      };
    }
  }

  const drafts: Array<{ at: number; build: (eventTime: number) => SourceEvent }> = [];
  // A leg's caller name: the From header's display name for the party that placed the call (an
  // extension without one shows the name callhook has); an extension forwarding the call shows
  // its own.
  const callerName = (leg: Leg): string | undefined => {
    const ext = typeof leg.caller === 'string' ? undefined : leg.caller;
    return leg.caller === callingParty ? (s.from.name ?? ext?.callerIdName) : ext?.callerIdName;
  };
  const fields = (
    leg: Leg,
    type: CallEventFields['EventType'],
    extra: Partial<CallEventFields>,
  ): CallEventFields => {
    const callerExt = typeof leg.caller === 'string' ? undefined : leg.caller;
    const calleeExt = typeof leg.callee === 'string' ? undefined : leg.callee;
    // The page's order of keys (its log prints them so), which deliveries keep.
    return withoutUndefined<CallEventFields>({
      SubCallID: leg.subCallId,
      EventTime: 0,
      CalledNumber: leg.dialed,
      EventType: type,
      CallerIDNum: callerExt ? callerExt.name : (leg.caller as string),
      CallerExtensionID: callerExt?.id,
      CallerExtension: callerExt && address(callerExt),
      CalledDID: leg.did,
      CalledExtensionID: calleeExt?.id,
      CalledExtension: calleeExt && address(calleeExt),
      CallFlow: leg.flow,
      Transfered: leg.transfered ? 'yes' : undefined,
      RecID: extra.RecID,
      CallAPIID: callApiId,
      CallerIDName: callerName(leg),
      Diversion: leg.diversion,
      Duration: extra.Duration,
      ClientApiID: s.clientApiId?.slice(0, 100),
      CallStatus: extra.CallStatus,
      CallID: callId,
    });
  };
  const key = (leg: Leg, type: string) => `sip:${leg.subCallId}:${type}`;

  const ring = (leg: Leg | undefined, at: number) => {
    if (!leg) return;
    drafts.push({
      at,
      build: (t) => {
        const type = leg.flow === 'in' ? 'dial-in' : 'dial-out';
        const base = {
          ...fields(leg, type, { CallStatus: 'CALLING' }),
          EventTime: t,
          CallStatus: 'CALLING' as const,
        };
        // Two alike branches: each lets the compiler tie `event_type` to `EventType`.
        return type === 'dial-in'
          ? {
              key: key(leg, type),
              event_type: type,
              extension_id: leg.owner.id,
              data: { ...base, EventType: type, CallFlow: leg.flow },
            }
          : {
              key: key(leg, type),
              event_type: type,
              extension_id: leg.owner.id,
              data: { ...base, EventType: type, CallFlow: leg.flow },
            };
      },
    });
  };
  const answer = (leg: Leg | undefined, at: number) => {
    if (!leg) return;
    drafts.push({
      at,
      build: (t) => ({
        key: key(leg, 'answer'),
        event_type: 'answer',
        extension_id: leg.owner.id,
        data: {
          ...fields(leg, 'answer', { CallStatus: 'ANSWER' }),
          EventTime: t,
          EventType: 'answer',
          CallStatus: 'ANSWER',
          CallFlow: leg.flow,
        },
      }),
    });
  };
  const hangup = (leg: Leg | undefined, at: number, status: HangupStatus, answeredAt?: number) => {
    if (!leg) return;
    const talked = status === 'ANSWER' && answeredAt !== undefined;
    drafts.push({
      at,
      build: (t) => ({
        key: key(leg, 'hangup'),
        event_type: 'hangup',
        extension_id: leg.owner.id,
        data: {
          ...fields(leg, 'hangup', {
            CallStatus: status,
            RecID: talked && leg.owner.recording ? legId(leg.owner.id, callId) : undefined,
            Duration: talked ? at - answeredAt : 0,
          }),
          EventTime: t,
          EventType: 'hangup',
          CallStatus: status,
          CallFlow: leg.flow,
        },
      }),
    });
  };

  // Far end first: the forwarded leg, the called extension, then the caller.
  const farToNear = [legs.forwarded, legs.in, legs.out];
  ring(legs.out, s.dialTime);
  ring(legs.in, s.dialTime);
  if (s.forward) ring(legs.forwarded, s.forward.time);
  if (s.answerTime !== undefined) for (const leg of farToNear) answer(leg, s.answerTime);
  if (s.event === 'ended' && s.answerTime !== undefined) {
    for (const leg of farToNear) hangup(leg, s.time, 'ANSWER', s.answerTime);
  } else if (s.event === 'failed' && s.failure) {
    const status = hangupStatus(s.failure);
    for (const leg of farToNear) hangup(leg, s.time, status);
  }

  // In time order; events of one instant keep the order above and are 1 µs apart, so a receiver
  // can sort a call's events by EventTime. Every snapshot of a call computes the same times for
  // the events they share, since the earlier events' times come first and do not change.
  drafts.sort((a, b) => a.at - b.at);
  let last = -1;
  return drafts.map((d) => {
    const at = Math.max(d.at, last + 1);
    last = at;
    return d.build(at);
  });
}
