// Turns a call scenario into the events the provider's generation rules give, with their times.
// Pure: the same request, directory, start time and random numbers give the same plan. Playing a
// plan in (scaled) real time is the simulator's job.
import {
  type CallbackRequest,
  type CallEventType,
  type CallFlow,
  type components,
  cryptoRandom,
  DomainError,
  type HangupStatus,
  type IntakeEvent,
  type Random,
  type SimulationRequest,
} from '@callhook/contract';
import { extensionAddress, type PbxDirectory, type PbxExtension } from './directory.js';
import { dashedUuid, newCallApiId, newCallId, recId, subCallId } from './ids.js';

type CallEventFields = components['schemas']['CallEventFields'];

/** One event of a plan, `atUs` after the call started (already scaled by `speed`). */
export interface PlannedEvent {
  atUs: number;
  event: IntakeEvent;
}

export interface CallPlan {
  /** The call's `CallID` (for a message, which has none, an id of the simulation run). */
  callId: string;
  /** The call's `CallAPIID`; messages have none. */
  callApiId?: string;
  /** In delivery order; `EventTime` strictly increases along it. */
  events: PlannedEvent[];
}

export interface PlanOptions {
  /** The call's start, µs since the epoch: the first event's `EventTime`. */
  startUs: number;
  random?: Random;
}

export type CallTiming = Pick<SimulationRequest, 'ring_ms' | 'talk_ms' | 'speed'>;

export interface CallbackPlanOptions extends PlanOptions {
  /** The callback resource has no timing of its own: the simulator decides it. */
  timing?: CallTiming;
}

/**
 * The page's log, to the microsecond: the answer came 1 840 985 µs after the dial-out and the
 * hangup 4 239 900 µs (its `Duration`) after the answer. The spec's defaults, 1841 ms and 4240 ms,
 * are these rounded; using the exact figures makes the default call reproduce the log exactly.
 */
export const PAGE_RING_US = 1_840_985;
export const PAGE_TALK_US = 4_239_900;

/** A queue nobody answers rings its agents this many times round before the caller gives up. */
export const QUEUE_ROUNDS = 2;

/** The outside caller when a scenario names none (555-0100: a number reserved for fiction). */
export const DEFAULT_CALLER = '+12025550100';

export const DEFAULT_TEXT = 'Hello from callhook';

/**
 * A scenario that cannot be played: the domain's error (the API answers it with a 4xx naming the
 * field), with the status it stands for kept for the CLI's counts. A 503 is no fault of the
 * request: the simulator is stopped (the server is shutting down).
 */
export class ScenarioError extends DomainError {
  override readonly name = 'ScenarioError';

  constructor(
    readonly status: 400 | 404 | 503,
    message: string,
    field?: string,
    rule = 'invalid',
  ) {
    super(status === 400 ? 'invalid' : status === 404 ? 'not_found' : 'unavailable', message, {
      ...(field !== undefined ? { field } : {}),
      rule,
      ...(status === 503 ? { code: 'simulator_stopped' } : {}),
    });
  }
}

/** An extension, or an outside number. */
type Party = PbxExtension | string;

type Unanswered = Exclude<HangupStatus, 'ANSWER'>;

interface Times {
  ringUs: number;
  talkUs: number;
}

/** How the far end of a dial behaves. */
interface How {
  outcome: HangupStatus;
  times: Times;
  /** The public number the call came through (incoming calls). */
  did?: string;
  /** The queue agent that answers. */
  answeredBy?: number;
  /** Forward this call outside, whatever the extension's own rules say (the `forward` scenario). */
  forwardTo?: string;
}

/**
 * Where a dial stands once the far end has answered or given up. An answered one is ended later,
 * by whoever knows when the conversation ends (the scenario, or a callback's second leg).
 */
type Ringing =
  | { answered: true; at: number; hangup(endUs: number): void }
  | { answered: false; at: number; status: Unanswered };

/** One component of the call: one extension's side of one connection, with its `SubCallID`. */
interface Leg {
  /** Whose events these are (whose subscriptions receive them). */
  owner: PbxExtension;
  flow: CallFlow;
  caller: Party;
  callee: Party;
  /** What was dialled: `CalledNumber`. */
  dialed: string;
  did?: string;
  transfered?: boolean;
  subCallId: string;
}

interface HangupExtra {
  /** Overrides the talk time since the leg's answer (a queue's caller thread counts its wait). */
  durationUs?: number;
  bridged?: boolean;
  bridgedDurationUs?: number;
}

function withoutUndefined<T extends object>(o: T): T {
  for (const key of Object.keys(o) as Array<keyof T>) {
    if (o[key] === undefined) Reflect.deleteProperty(o, key);
  }
  return o;
}

/** Collects a call's events, then orders and timestamps them. */
class CallBuilder {
  readonly callId: string;
  readonly callApiId: string;
  private readonly drafts: Array<{ atUs: number; build: (eventTime: number) => IntakeEvent }> = [];
  private readonly legsOf = new Map<number, number>();

  constructor(
    random: Random,
    private readonly marks: Pick<CallEventFields, 'CallBackID' | 'Tag'> = {},
  ) {
    this.callId = newCallId(random);
    this.callApiId = newCallApiId(this.callId, random);
  }

  leg(spec: Omit<Leg, 'subCallId'>): Leg {
    const n = (this.legsOf.get(spec.owner.id) ?? 0) + 1;
    this.legsOf.set(spec.owner.id, n);
    return { ...spec, subCallId: subCallId(spec.owner.id, this.callId, n) };
  }

  /**
   * A leg's event data. Keys come in the order of the page's log (SubCallID, EventTime,
   * CalledNumber, EventType, …, CallStatus, CallID) because deliveries keep the PBX's order, and
   * a receiver printing them shows the page's lines. The caller spreads this and sets the
   * narrowly typed fields again (same values), which keeps their place in the order.
   */
  private fields(leg: Leg, type: CallEventType, extra: Partial<CallEventFields>): CallEventFields {
    const caller = typeof leg.caller === 'string' ? undefined : leg.caller;
    const callee = typeof leg.callee === 'string' ? undefined : leg.callee;
    return withoutUndefined<CallEventFields>({
      SubCallID: leg.subCallId,
      EventTime: 0,
      CalledNumber: leg.dialed,
      EventType: type,
      CallerIDNum: typeof leg.caller === 'string' ? leg.caller : leg.caller.name,
      CallerExtensionID: caller?.id,
      CallerExtension: caller && extensionAddress(caller),
      CalledDID: leg.did,
      CalledExtensionID: callee?.id,
      CalledExtension: callee && extensionAddress(callee),
      CallFlow: leg.flow,
      Transfered: leg.transfered ? 'yes' : undefined,
      RecID: extra.RecID,
      CallAPIID: this.callApiId,
      CallerIDName: caller?.callerIdName,
      Duration: extra.Duration,
      Bridged: extra.Bridged,
      BridgedDuration: extra.BridgedDuration,
      CallBackID: this.marks.CallBackID,
      Tag: this.marks.Tag || undefined,
      CallStatus: extra.CallStatus,
      CallID: this.callId,
    });
  }

  private push(atUs: number, build: (eventTime: number) => IntakeEvent): void {
    this.drafts.push({ atUs, build });
  }

  /** `dial-in` for a called leg, `dial-out` for a calling one. */
  ring(leg: Leg, atUs: number): void {
    const flow = leg.flow;
    this.push(atUs, (t) => {
      const type = flow === 'in' ? 'dial-in' : 'dial-out';
      const base = {
        ...this.fields(leg, type, { CallStatus: 'CALLING' }),
        EventTime: t,
        CallStatus: 'CALLING' as const,
        CallFlow: flow,
      };
      // Two identical-looking branches: each lets the compiler tie `event_type` to `EventType`.
      return type === 'dial-in'
        ? { event_type: type, extension_id: leg.owner.id, data: { ...base, EventType: type } }
        : { event_type: type, extension_id: leg.owner.id, data: { ...base, EventType: type } };
    });
  }

  answer(leg: Leg, atUs: number): void {
    this.push(atUs, (t) => ({
      event_type: 'answer',
      extension_id: leg.owner.id,
      data: {
        ...this.fields(leg, 'answer', { CallStatus: 'ANSWER' }),
        EventTime: t,
        EventType: 'answer',
        CallStatus: 'ANSWER',
        CallFlow: leg.flow,
      },
    }));
  }

  /**
   * `Duration` is the talk time since the leg's answer (0 for an unanswered leg, which talked for
   * none); `RecID` is there when the leg talked and its extension records calls.
   */
  hangup(leg: Leg, atUs: number, status: HangupStatus, answeredAtUs?: number, extra: HangupExtra = {}): void {
    const talked = status === 'ANSWER';
    const duration = extra.durationUs ?? (answeredAtUs === undefined ? 0 : atUs - answeredAtUs);
    this.push(atUs, (t) => ({
      event_type: 'hangup',
      extension_id: leg.owner.id,
      data: {
        ...this.fields(leg, 'hangup', {
          CallStatus: status,
          RecID: talked && leg.owner.recording ? recId(leg.owner.id, this.callId) : undefined,
          Duration: duration,
          Bridged: extra.bridged === undefined ? undefined : extra.bridged ? 'yes' : 'no',
          BridgedDuration: extra.bridgedDurationUs,
        }),
        EventTime: t,
        EventType: 'hangup',
        CallStatus: status,
        CallFlow: leg.flow,
      },
    }));
  }

  /** A voice message is a recording whatever the call-recording setting: it always has a `RecID`. */
  voicemail(leg: Leg, atUs: number, durationUs: number): void {
    this.push(atUs, (t) => ({
      event_type: 'voicemail',
      extension_id: leg.owner.id,
      data: {
        ...this.fields(leg, 'voicemail', { RecID: recId(leg.owner.id, this.callId), Duration: durationUs }),
        EventTime: t,
        EventType: 'voicemail',
      },
    }));
  }

  /**
   * Orders the events by time (events planned for the same instant keep the order they were
   * planned in) and makes `EventTime` strictly increasing, nudging a tie 1 µs later, so a
   * receiver can sort a call's events by it.
   */
  plan(startUs: number): Required<CallPlan> {
    const sorted = [...this.drafts].sort((a, b) => a.atUs - b.atUs);
    let last = -1;
    const events = sorted.map((d) => {
      const atUs = Math.max(d.atUs, last + 1);
      last = atUs;
      return { atUs, event: d.build(startUs + atUs) };
    });
    return { callId: this.callId, callApiId: this.callApiId, events };
  }
}

/** The far end outside the PBX: it answers, or not, after the ring. */
function outside(atUs: number, how: How): Ringing {
  const at = atUs + how.times.ringUs;
  return how.outcome === 'ANSWER'
    ? { answered: true, at, hangup: () => {} }
    : { answered: false, at, status: how.outcome };
}

/** The generation rules: who gets which events when one party dials another. */
class Planner {
  constructor(
    private readonly dir: PbxDirectory,
    private readonly call: CallBuilder,
    private readonly clientId: number,
  ) {}

  /** A number that is an extension of the same client; any other number is outside the PBX. */
  internal(number: string): PbxExtension | undefined {
    const ext = this.dir.byNumber(number);
    return ext && ext.clientId === this.clientId ? ext : undefined;
  }

  agentsOf(queue: PbxExtension): PbxExtension[] {
    return (queue.agents ?? []).flatMap((id) => {
      const agent = this.dir.byId(id);
      return agent && agent.clientId === this.clientId ? [agent] : [];
    });
  }

  /**
   * `caller` dials `callee`. A calling extension gets its `dial-out` leg; a called extension gets
   * what its kind gives. Rings go caller first; answers and hangups come from the far end first.
   */
  dial(caller: Party, callee: Party, dialed: string, atUs: number, how: How): Ringing {
    const callerLeg =
      typeof caller === 'string'
        ? undefined
        : this.call.leg({ owner: caller, flow: 'out', caller, callee, dialed });
    if (callerLeg) this.call.ring(callerLeg, atUs);
    const far =
      typeof callee === 'string' ? outside(atUs, how) : this.inbound(callee, caller, dialed, atUs, how);
    if (!callerLeg) return far;
    if (!far.answered) {
      this.call.hangup(callerLeg, far.at, far.status);
      return far;
    }
    this.call.answer(callerLeg, far.at);
    return {
      answered: true,
      at: far.at,
      hangup: (end) => {
        far.hangup(end);
        this.call.hangup(callerLeg, end, 'ANSWER', far.at);
      },
    };
  }

  /** A call reaching an extension follows its configuration, as on the real PBX. */
  private inbound(ext: PbxExtension, caller: Party, dialed: string, atUs: number, how: How): Ringing {
    const forwardTo = how.forwardTo ?? (ext.kind === 'phone' ? ext.forwardTo : undefined);
    if (forwardTo) return this.forward(ext, caller, dialed, atUs, how, forwardTo);
    if (ext.kind === 'ivr') return this.ivr(ext, caller, dialed, atUs, how);
    if (ext.kind === 'queue') return this.queue(ext, caller, dialed, atUs, how);
    return this.phone(ext, caller, dialed, atUs, how);
  }

  private phone(ext: PbxExtension, caller: Party, dialed: string, atUs: number, how: How): Ringing {
    const leg = this.call.leg({ owner: ext, flow: 'in', caller, callee: ext, dialed, did: how.did });
    this.call.ring(leg, atUs);
    const far = outside(atUs, how);
    if (!far.answered) {
      this.call.hangup(leg, far.at, far.status);
      return far;
    }
    this.call.answer(leg, far.at);
    return { answered: true, at: far.at, hangup: (end) => this.call.hangup(leg, end, 'ANSWER', far.at) };
  }

  /**
   * The page: a call forwarded outside by incoming-call rules gives a `dial-out` from the
   * extension to that number with `Transfered=yes`, same `CallID`. The extension's incoming leg
   * and its forwarded leg are two components (two SubCallIDs), answered and ended together.
   */
  private forward(
    ext: PbxExtension,
    caller: Party,
    dialed: string,
    atUs: number,
    how: How,
    to: string,
  ): Ringing {
    const inLeg = this.call.leg({ owner: ext, flow: 'in', caller, callee: ext, dialed, did: how.did });
    this.call.ring(inLeg, atUs);
    const outLeg = this.call.leg({
      owner: ext,
      flow: 'out',
      caller: ext,
      callee: to,
      dialed: to,
      transfered: true,
    });
    this.call.ring(outLeg, atUs);
    const far = outside(atUs, how);
    if (!far.answered) {
      this.call.hangup(outLeg, far.at, far.status);
      this.call.hangup(inLeg, far.at, far.status);
      return far;
    }
    this.call.answer(outLeg, far.at);
    this.call.answer(inLeg, far.at);
    return {
      answered: true,
      at: far.at,
      hangup: (end) => {
        this.call.hangup(outLeg, end, 'ANSWER', far.at);
        this.call.hangup(inLeg, end, 'ANSWER', far.at);
      },
    };
  }

  /**
   * The page: an IVR gives `dial-in` and `hangup` only. The caller spends the ring time in the
   * menu; with outcome ANSWER it is then connected (`Bridged=yes`, `Duration` counts from there),
   * otherwise it leaves with that outcome (`Bridged=no`: a missed call for integrators).
   */
  private ivr(ext: PbxExtension, caller: Party, dialed: string, atUs: number, how: How): Ringing {
    const leg = this.call.leg({ owner: ext, flow: 'in', caller, callee: ext, dialed, did: how.did });
    this.call.ring(leg, atUs);
    const menuEnd = atUs + how.times.ringUs;
    if (how.outcome !== 'ANSWER') {
      this.call.hangup(leg, menuEnd, how.outcome, undefined, { bridged: false });
      return { answered: false, at: menuEnd, status: how.outcome };
    }
    return {
      answered: true,
      at: menuEnd,
      hangup: (end) => this.call.hangup(leg, end, 'ANSWER', menuEnd, { bridged: true }),
    };
  }

  /**
   * The page's two queue threads. Thread `in` (the queue extension): `dial-in` when the caller is
   * queued, `hangup` when it leaves, never `answer`; its `Duration` is the whole stay (wait
   * included), `BridgedDuration` the conversation. Thread `out`: agents are rung one after the
   * other for the ring time each, each ring its own leg (`dial-in`, `hangup` NOANSWER), until the
   * answering agent (`answered_by`, else the first agent when the outcome is ANSWER) takes it; when
   * none does, the queue goes round QUEUE_ROUNDS times, so each agent is reached again with a new
   * SubCallID, and the caller leaves with the outcome.
   */
  private queue(queue: PbxExtension, caller: Party, dialed: string, atUs: number, how: How): Ringing {
    const leg = this.call.leg({ owner: queue, flow: 'in', caller, callee: queue, dialed, did: how.did });
    this.call.ring(leg, atUs);
    const agents = this.agentsOf(queue);
    let answerer: PbxExtension | undefined;
    if (how.answeredBy !== undefined) {
      answerer = agents.find((a) => a.id === how.answeredBy);
      if (!answerer) {
        throw new ScenarioError(400, `is not an agent of queue ${queue.id}`, 'answered_by', 'agent');
      }
    } else if (how.outcome === 'ANSWER') {
      answerer = agents[0];
    }
    const rounds = answerer ? 1 : QUEUE_ROUNDS;
    let t = atUs;
    for (let round = 0; round < rounds; round++) {
      for (const agent of agents) {
        const agentLeg = this.call.leg({
          owner: agent,
          flow: 'in',
          caller,
          callee: agent,
          dialed,
          did: how.did,
        });
        this.call.ring(agentLeg, t);
        t += how.times.ringUs;
        if (agent === answerer) {
          const answeredAt = t;
          this.call.answer(agentLeg, answeredAt);
          return {
            answered: true,
            at: answeredAt,
            hangup: (end) => {
              this.call.hangup(agentLeg, end, 'ANSWER', answeredAt);
              this.call.hangup(leg, end, 'ANSWER', undefined, {
                durationUs: end - atUs,
                bridged: true,
                bridgedDurationUs: end - answeredAt,
              });
            },
          };
        }
        this.call.hangup(agentLeg, t, 'NOANSWER');
      }
    }
    // With no agent to ring, the caller still waits one ring before giving up.
    if (agents.length === 0) t += how.times.ringUs;
    const status: Unanswered = how.outcome === 'ANSWER' ? 'NOANSWER' : how.outcome;
    this.call.hangup(leg, t, status, undefined, {
      durationUs: t - atUs,
      bridged: false,
      bridgedDurationUs: 0,
    });
    return { answered: false, at: t, status };
  }

  /** Nobody answers: the extension's leg ends with the outcome, then the message is recorded. */
  voicemail(ext: PbxExtension, caller: Party, dialed: string, how: How): void {
    const leg = this.call.leg({ owner: ext, flow: 'in', caller, callee: ext, dialed, did: how.did });
    this.call.ring(leg, 0);
    const status: Unanswered = how.outcome === 'ANSWER' ? 'NOANSWER' : how.outcome;
    this.call.hangup(leg, how.times.ringUs, status);
    this.call.voicemail(leg, how.times.ringUs + how.times.talkUs, how.times.talkUs);
  }
}

function scaleTiming(t: CallTiming): Times {
  const speed = t.speed ?? 1;
  if (!Number.isFinite(speed) || speed <= 0)
    throw new ScenarioError(400, 'must be a positive number', 'speed');
  for (const field of ['ring_ms', 'talk_ms'] as const) {
    const v = t[field];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) {
      throw new ScenarioError(400, 'must be a duration in ms (0 or more)', field);
    }
  }
  const ringUs = t.ring_ms === undefined ? PAGE_RING_US : t.ring_ms * 1000;
  const talkUs = t.talk_ms === undefined ? PAGE_TALK_US : t.talk_ms * 1000;
  return { ringUs: Math.round(ringUs / speed), talkUs: Math.round(talkUs / speed) };
}

function required(value: string | undefined, field: string, why: string): string {
  if (!value) throw new ScenarioError(400, why, field, 'required');
  return value;
}

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

function requireKind(ext: PbxExtension, kind: PbxExtension['kind'], scenario: string): void {
  if (ext.kind !== kind) {
    throw new ScenarioError(
      400,
      `is ${article(ext.kind)} ${ext.kind} extension: the ${scenario} scenario needs ${article(kind)} ${kind} extension`,
      'extension_id',
      'kind',
    );
  }
}

function planMessage(req: SimulationRequest, ext: PbxExtension, random: Random): CallPlan {
  // The page: message events exist only for extensions of the phone type.
  requireKind(ext, 'phone', req.scenario);
  const text = req.text || DEFAULT_TEXT;
  const event: IntakeEvent =
    req.scenario === 'message-in'
      ? {
          event_type: 'message-in',
          extension_id: ext.id,
          data: withoutUndefined({
            EventType: 'message-in',
            extension_name: ext.name,
            did_number: req.did,
            src_number: req.number || DEFAULT_CALLER,
            extension_id: ext.id,
            text,
          }),
        }
      : {
          event_type: 'message-out',
          extension_id: ext.id,
          data: withoutUndefined({
            EventType: 'message-out',
            extension_name: ext.name,
            src_number: req.did,
            extension_id: ext.id,
            dst_number: required(req.number, 'number', 'is needed: the number the message goes to'),
            text,
          }),
        };
  return { callId: newCallId(random), events: [{ atUs: 0, event }] };
}

/** The event sequence of one simulated call (or message), timed from its start. */
export function planScenario(req: SimulationRequest, dir: PbxDirectory, opts: PlanOptions): CallPlan {
  const random = opts.random ?? cryptoRandom;
  const ext = dir.byId(req.extension_id);
  if (!ext) throw new ScenarioError(404, `Extension ${req.extension_id} is not on the PBX`);
  if (req.scenario === 'message-in' || req.scenario === 'message-out') return planMessage(req, ext, random);

  const times = scaleTiming(req);
  const call = new CallBuilder(random);
  const pbx = new Planner(dir, call, ext.clientId);
  const how: How = { outcome: req.outcome ?? 'ANSWER', times, did: req.did, answeredBy: req.answered_by };

  // Everything but `outgoing` is a call to `ext` from `number` (an extension of the same client
  // dials it from its own leg), through `did` when given.
  const from = req.number || DEFAULT_CALLER;
  const caller: Party = pbx.internal(from) ?? from;
  if (req.scenario !== 'outgoing' && caller === ext) {
    throw new ScenarioError(400, 'is the called extension itself', 'number');
  }
  const dialed = req.did || ext.name;

  let ringing: Ringing;
  switch (req.scenario) {
    case 'outgoing': {
      requireKind(ext, 'phone', 'outgoing');
      const number = required(req.number, 'number', 'is needed: the number the extension calls');
      const callee = pbx.internal(number);
      if (callee === ext) throw new ScenarioError(400, 'is the calling extension itself', 'number');
      ringing = pbx.dial(ext, callee ?? number, number, 0, { ...how, did: undefined });
      break;
    }
    case 'incoming':
      ringing = pbx.dial(caller, ext, dialed, 0, how);
      break;
    case 'ivr':
      requireKind(ext, 'ivr', 'ivr');
      ringing = pbx.dial(caller, ext, dialed, 0, how);
      break;
    case 'queue':
      requireKind(ext, 'queue', 'queue');
      ringing = pbx.dial(caller, ext, dialed, 0, how);
      break;
    case 'forward': {
      const forwardTo = required(
        req.forward_to || ext.forwardTo,
        'forward_to',
        `is needed: extension ${ext.id} has no forwarding rule`,
      );
      ringing = pbx.dial(caller, ext, dialed, 0, { ...how, forwardTo });
      break;
    }
    case 'voicemail':
      if (req.outcome === 'ANSWER') {
        throw new ScenarioError(
          400,
          'must be an unanswered outcome: voicemail takes unanswered calls',
          'outcome',
        );
      }
      pbx.voicemail(ext, caller, dialed, how);
      return call.plan(opts.startUs);
  }
  if (ringing.answered) ringing.hangup(ringing.at + times.talkUs);
  return call.plan(opts.startUs);
}

/**
 * A callback (`POST /extension/{id}/callback/`): the owner's PBX rings every `src_num` at once;
 * the first one answers (the others are cancelled then), and the owner then dials `dst_num` on
 * its behalf. Every event carries the same `CallBackID` and the request's `tag` as `Tag`. The
 * page's optimisation: the owner itself as a `src_num` gets no legs (no `dial-in` 200→200, no
 * `dial-out` 200→200), so with `src_num: ["200"]` only the `dial-out` 200→`dst_num` remains.
 */
export function planCallback(
  ownerExtensionId: number,
  req: CallbackRequest,
  dir: PbxDirectory,
  opts: CallbackPlanOptions,
): Required<CallPlan> {
  const random = opts.random ?? cryptoRandom;
  const owner = dir.byId(ownerExtensionId);
  if (!owner) throw new ScenarioError(404, `Extension ${ownerExtensionId} is not on the PBX`);
  const times = scaleTiming(opts.timing ?? {});
  const call = new CallBuilder(random, { CallBackID: dashedUuid(newCallId(random)), Tag: req.tag });
  const pbx = new Planner(dir, call, owner.clientId);
  const answer: How = { outcome: 'ANSWER', times };

  const callee = pbx.internal(req.dst_num);
  if (callee === owner) throw new ScenarioError(400, 'is the extension placing the call', 'dst_num');
  const [first, ...others] = req.src_num.map((n) => ({ number: n, party: pbx.internal(n) ?? n }));
  if (!first) throw new ScenarioError(400, 'needs at least one number', 'src_num', 'minItems');

  const self = (p: Party) => p === owner;
  const src: Ringing = self(first.party)
    ? { answered: true, at: 0, hangup: () => {} }
    : pbx.dial(owner, first.party, first.number, 0, answer);
  for (const other of others) {
    if (self(other.party)) continue;
    pbx.dial(owner, other.party, other.number, 0, { outcome: 'CANCEL', times: { ...times, ringUs: src.at } });
  }
  if (!src.answered) return call.plan(opts.startUs);

  const dst = pbx.dial(owner, callee ?? req.dst_num, req.dst_num, src.at, answer);
  if (dst.answered) {
    const end = dst.at + times.talkUs;
    dst.hangup(end);
    src.hangup(end);
  } else {
    src.hangup(dst.at);
  }
  return call.plan(opts.startUs);
}
