import type { AnyWebhookPayload } from '@callhook/contract';
import { assembleCall, legKey } from './assemble.js';
import type { CallEvent, CallRecord } from './record.js';

/** Timers, injectable so tests can move time by hand. */
export interface Scheduler {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface AssemblerOptions {
  /** Receives each call once it is complete (or given up on). */
  onCall: (call: CallRecord) => void;
  /**
   * How long to wait after the last leg hung up before the call is final. Events of one call have
   * no ordering promise (a queue's hangup may trail the IVR's), so the provider's own guide waits a
   * few seconds. Default 5000 ms.
   */
  quietPeriodMs?: number;
  /** A call with a leg still open after this long without events is emitted with `complete: false`. Default 6 h. */
  abandonAfterMs?: number;
  /** How many finished call ids to remember, to drop their late or repeated events. Default 10,000. */
  rememberFinished?: number;
  scheduler?: Scheduler;
}

interface OpenCall {
  events: CallEvent[];
  seen: Set<string>;
  legs: Set<string>;
  hungUp: Set<string>;
  timer: unknown;
}

// Node's timers are unref'd (a pending call never keeps a process alive); browsers have no unref.
const realTimers: Scheduler = {
  set: (callback, ms) => {
    const handle: unknown = setTimeout(callback, ms);
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clear: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

const isCallEvent = (e: AnyWebhookPayload): e is CallEvent => 'CallID' in e;

/**
 * Groups events by `CallID` into call records: what the provider's integration guide asks every
 * integrator to do by hand. Feed it every event (`receiver.onAny(d => assembler.add(d.event))`);
 * message events are ignored.
 */
export class CallAssembler {
  private readonly open = new Map<string, OpenCall>();
  private readonly finished = new Map<string, true>();
  private readonly quietPeriodMs: number;
  private readonly abandonAfterMs: number;
  private readonly rememberFinished: number;
  private readonly scheduler: Scheduler;
  private readonly onCall: (call: CallRecord) => void;
  /** Events that came for a call already emitted (dropped). */
  lateEvents = 0;

  constructor(options: AssemblerOptions) {
    this.onCall = options.onCall;
    this.quietPeriodMs = options.quietPeriodMs ?? 5000;
    this.abandonAfterMs = options.abandonAfterMs ?? 6 * 60 * 60 * 1000;
    this.rememberFinished = options.rememberFinished ?? 10_000;
    this.scheduler = options.scheduler ?? realTimers;
  }

  /** Calls still being assembled. */
  get pending(): number {
    return this.open.size;
  }

  add(event: AnyWebhookPayload): void {
    if (!isCallEvent(event)) return;
    const callId = event.CallID;
    if (this.finished.has(callId)) {
      this.lateEvents++;
      return;
    }
    let call = this.open.get(callId);
    if (!call) {
      call = { events: [], seen: new Set(), legs: new Set(), hungUp: new Set(), timer: undefined };
      this.open.set(callId, call);
    }
    // The same event can come twice: a retry after a lost 2xx, or two subscriptions to one URL.
    const key = `${event.EventType} ${event.SubCallID ?? ''} ${event.EventTime}`;
    if (call.seen.has(key)) return;
    call.seen.add(key);
    call.events.push(event);
    if (event.EventType !== 'voicemail') {
      call.legs.add(legKey(event));
      if (event.EventType === 'hangup') call.hungUp.add(legKey(event));
    }

    this.scheduler.clear(call.timer);
    const allHungUp = call.legs.size === call.hungUp.size;
    call.timer = this.scheduler.set(
      () => this.finish(callId, allHungUp),
      allHungUp ? this.quietPeriodMs : this.abandonAfterMs,
    );
  }

  /** Emits every call still pending now, e.g. before the process exits. */
  flush(): void {
    for (const [callId, call] of [...this.open]) {
      this.scheduler.clear(call.timer);
      this.finish(callId, call.legs.size === call.hungUp.size);
    }
  }

  private finish(callId: string, complete: boolean): void {
    const call = this.open.get(callId);
    if (!call) return;
    this.open.delete(callId);
    this.finished.set(callId, true);
    if (this.finished.size > this.rememberFinished) {
      this.finished.delete(this.finished.keys().next().value as string);
    }
    this.onCall(assembleCall(callId, call.events, complete));
  }
}
