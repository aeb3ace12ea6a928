import type { HangupStatus } from '@callhook/contract';
import type { CallEvent, CallLeg, CallRecord, Party } from './record.js';

function compact(party: Party): Party {
  const out: Party = {};
  if (party.number !== undefined) out.number = party.number;
  if (party.name !== undefined) out.name = party.name;
  if (party.extension !== undefined) out.extension = party.extension;
  if (party.extensionId !== undefined) out.extensionId = party.extensionId;
  return out;
}

const calleeOf = (e: CallEvent): Party =>
  compact({
    number: e.CalledDID ?? e.CalledNumber,
    extension: e.CalledExtension,
    extensionId: e.CalledExtensionID,
  });

const callerOf = (e: CallEvent): Party =>
  compact({
    number: e.CallerIDNum,
    name: e.CallerIDName,
    extension: e.CallerExtension,
    extensionId: e.CallerExtensionID,
  });

/** Events without `SubCallID` still need a leg; the extension and direction tell them apart. */
export function legKey(e: CallEvent): string {
  return (
    e.SubCallID ?? `${e.CallFlow ?? ''}:${e.CallFlow === 'out' ? e.CallerExtensionID : e.CalledExtensionID}`
  );
}

function first<T>(events: readonly CallEvent[], pick: (e: CallEvent) => T | undefined): T | undefined {
  for (const e of events) {
    const value = pick(e);
    if (value !== undefined) return value;
  }
  return undefined;
}

function legOf(subCallId: string, events: CallEvent[]): CallLeg {
  const flow = first(events, (e) => e.CallFlow);
  const answer = events.find((e) => e.EventType === 'answer');
  const hangup = events.find((e) => e.EventType === 'hangup');
  const status = hangup?.EventType === 'hangup' ? hangup.CallStatus : undefined;
  const bridged = hangup?.Bridged ?? first(events, (e) => e.Bridged);
  // A queue or IVR answers the caller itself to play to them; only Bridged says a person took it.
  const answered = bridged !== undefined ? bridged === 'yes' : answer !== undefined || status === 'ANSWER';
  const sample = events[0]!;
  return {
    subCallId,
    flow,
    extension: flow === 'out' ? callerOf(sample) : calleeOf(sample),
    callee: calleeOf(sample),
    events,
    startTime: sample.EventTime,
    answerTime: answer?.EventTime,
    endTime: hangup?.EventTime,
    status,
    bridged,
    answered,
    talkDuration: answered ? (hangup?.BridgedDuration ?? hangup?.Duration ?? 0) : 0,
    recId: hangup?.RecID,
    forwarded: events.some((e) => e.Transfered === 'yes'),
  };
}

/** Total length of the union of [start, end) intervals, so overlapping legs are not counted twice. */
function coveredLength(intervals: [number, number][]): number {
  intervals.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reach = Number.NEGATIVE_INFINITY;
  for (const [start, end] of intervals) {
    if (end <= reach) continue;
    total += end - Math.max(start, reach);
    reach = end;
  }
  return total;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A total order, so events with the same `EventTime` give the same record whatever order they came in. */
const byTime = (a: CallEvent, b: CallEvent): number =>
  a.EventTime - b.EventTime ||
  compare(a.SubCallID ?? '', b.SubCallID ?? '') ||
  compare(a.EventType, b.EventType);

/** Builds the record of one call from its events, in any order they arrived. */
export function assembleCall(callId: string, arrived: readonly CallEvent[], complete: boolean): CallRecord {
  const events = [...arrived].sort(byTime);
  const byLeg = new Map<string, CallEvent[]>();
  for (const e of events) {
    // A voicemail belongs to the call, not to a leg that rings or hangs up.
    if (e.EventType === 'voicemail') continue;
    const key = legKey(e);
    const list = byLeg.get(key);
    if (list) list.push(e);
    else byLeg.set(key, [e]);
  }
  const legs = [...byLeg]
    .map(([key, list]) => legOf(key, list))
    .sort((a, b) => a.startTime - b.startTime || compare(a.subCallId, b.subCallId));
  const origin = legs.find((l) => !l.forwarded) ?? legs[0];
  const originEvent = origin?.events[0] ?? events[0]!;

  const answeredLegs = legs.filter((l) => l.answered);
  // The person who took the call is on a leg that is not a queue/IVR thread. A forwarded leg
  // beats the forwarding extension's own leg, which is answered with it but only relays; an answer
  // event is better evidence than a hangup status.
  const taker = answeredLegs
    .filter((l) => l.bridged === undefined)
    .sort(
      (a, b) =>
        Number(b.forwarded) - Number(a.forwarded) ||
        Number(b.answerTime !== undefined) - Number(a.answerTime !== undefined) ||
        (a.answerTime ?? a.startTime) - (b.answerTime ?? b.startTime),
    )[0];
  const answered = answeredLegs.length > 0;
  const unanswered = legs
    .filter((l) => l.status !== undefined && l.status !== 'ANSWER')
    .sort((a, b) => (a.endTime ?? 0) - (b.endTime ?? 0));
  const status: HangupStatus = answered ? 'ANSWER' : (unanswered.at(-1)?.status ?? 'NOANSWER');

  const talk: [number, number][] = answeredLegs
    .filter((l) => l.endTime !== undefined && l.talkDuration > 0)
    .map((l) => [l.endTime! - l.talkDuration, l.endTime!]);

  const recordings: string[] = [];
  for (const e of events) {
    if (
      (e.EventType === 'hangup' || e.EventType === 'voicemail') &&
      e.RecID &&
      !recordings.includes(e.RecID)
    ) {
      recordings.push(e.RecID);
    }
  }
  const voicemail = events.find((e) => e.EventType === 'voicemail');
  const direction = origin?.flow ?? originEvent.CallFlow ?? 'in';

  return {
    callId,
    direction,
    caller: callerOf(originEvent),
    callee: calleeOf(originEvent),
    answered,
    missed: direction === 'in' && !answered,
    answeredBy: taker?.callee,
    status,
    startTime: events[0]!.EventTime,
    endTime: events.at(-1)!.EventTime,
    talkDuration: coveredLength(talk),
    recordings,
    voicemail: voicemail && { recId: voicemail.RecID, duration: voicemail.Duration },
    forwardedTo: legs.find((l) => l.forwarded)?.callee.number,
    callApiId: first(events, (e) => e.CallAPIID),
    callBackId: first(events, (e) => e.CallBackID),
    tag: first(events, (e) => e.Tag),
    legs,
    complete,
  };
}
