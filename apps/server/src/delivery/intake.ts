import { DomainError } from '@callhook/contract';
import { type IngestReceipt, type IntakeSink, type SourceEvent, UnknownExtensionError } from '@callhook/pbx';
import type { IncomingEvent, IngestTurn, Store } from '../store/index.js';
import type { Dispatcher } from './dispatcher.js';
import { encodeEventData } from './encoding.js';

/**
 * callhook's intake: every PBX source (the HTTP intake, the simulator, a switch's bridge) hands
 * its events here. It checks the extensions exist, encodes each event once as every subscriber
 * will receive it, stores events and deliveries in one transaction, and hands the deliveries it
 * could lease in that transaction straight to this instance's dispatcher (the rest are nudged).
 *
 * Batches handed in together share their transaction (a group commit): those that arrive in the
 * same turn of the event loop, or while the previous transaction is under way, are committed as
 * one, and each caller is answered for its own events once it committed. A PBX that posts each
 * event alone pays a transaction per event otherwise: its commit writes a page of every index
 * the event and its deliveries touch. Should one batch's data fail the shared transaction (a
 * constraint), each batch is tried alone, so that one caller's failure is only its own; should
 * the store fail, every caller of the group is told at once.
 *
 * On PostgreSQL two groups are under way at once, in line (`IngestTurn`): the second stores its
 * events while the first stores its deliveries and commits, and commits after it. The one break
 * in the line's order: a group whose deliveries fail on their data after its events were stored
 * has its batches tried alone while the next group (its events stored meanwhile) waits for them,
 * so they commit later ids before that group's earlier ones.
 */
export interface IntakeOptions {
  /** Told, after each commit, the extensions whose events were just stored (live streams). */
  stored?: (extensionIds: number[]) => void;
  /** Events one shared transaction takes at most (a batch larger than this goes alone). */
  groupEvents?: number;
}

/** A batch handed in and not committed yet. */
interface Waiting {
  incoming: IncomingEvent[];
  resolve(receipt: IngestReceipt): void;
  reject(err: unknown): void;
}

const GROUP_EVENTS = 1000;

/** What the outbox says of a transaction it committed. */
type Stored = Awaited<ReturnType<Store['outbox']['ingest']>>;

/** A caller's part of a transaction: its `n` events from `at`. */
function receiptOf(stored: Stored, at: number, n: number): IngestReceipt {
  let deliveries = 0;
  let repeats = 0;
  for (let i = at; i < at + n; i++) {
    deliveries += stored.byEvent[i]!.deliveries;
    if (stored.byEvent[i]!.repeat) repeats++;
  }
  return { eventIds: stored.eventIds.slice(at, at + n), deliveries, repeats };
}

export class Intake implements IntakeSink {
  constructor(
    private readonly store: Store,
    /** This instance's dispatcher, when it runs one (an API-only instance stores and leaves). */
    private readonly dispatcher?: Dispatcher,
    private readonly opts: IntakeOptions = {},
  ) {}

  /**
   * Resolves once the batch committed. Rejects with `UnknownExtensionError` (nothing stored)
   * when an event names an extension callhook does not have, and with a `DomainError` naming
   * the field when an event's data is not flat.
   */
  async ingest(events: readonly SourceEvent[]): Promise<IngestReceipt> {
    const incoming: IncomingEvent[] = [];
    const known = new Map<number, boolean>();
    for (const [i, ev] of events.entries()) {
      let exists = known.get(ev.extension_id);
      if (exists === undefined) {
        exists = (await this.store.tenants.getExtension(ev.extension_id)) !== undefined;
        known.set(ev.extension_id, exists);
      }
      const at = events.length > 1 ? `events.${i}.` : '';
      if (!exists) throw new UnknownExtensionError(ev.extension_id, i, `${at}extension_id`);
      const data = ev.data as Record<string, unknown>;
      // The HTTP intake's schema already says so; other sources (the simulator, a switch's bridge)
      // come here unvalidated, and a nested value would reach JSON.stringify and the form encoding.
      for (const [name, value] of Object.entries(data)) {
        if (typeof value === 'object' && value !== null) {
          throw new DomainError('invalid', 'must be a string, number or boolean (event data is flat)', {
            field: `${at}data.${name}`,
            rule: 'type',
          });
        }
      }
      incoming.push({
        extensionId: ev.extension_id,
        eventType: ev.event_type,
        callId: typeof data.CallID === 'string' ? data.CallID : null,
        data,
        payload: encodeEventData(data),
        key: ev.key ?? null,
      });
    }
    // The outbox's own refusals (a NUL in a call id or a key) come from a group's transaction as
    // data errors: each batch is then tried alone and hears of its own, by its own field names.
    return new Promise((resolve, reject) => {
      this.waiting.push({ incoming, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private waiting: Waiting[] = [];
  /** A pump is due in the next turn of the event loop: batches handed in meanwhile join its group. */
  private scheduled = false;
  /** Groups under way (at most the outbox's `intakesAtOnce`): batches handed in meanwhile wait. */
  private committing = 0;
  /** The last group in line: the next one stores its events and deliveries after it (`IngestTurn`). */
  private lastEvents: Promise<unknown> = Promise.resolve();
  private lastDone: Promise<unknown> = Promise.resolve();

  /** Starts groups of what waits while the outbox takes more at once. */
  private pump(): void {
    const limit = this.opts.groupEvents ?? GROUP_EVENTS;
    while (this.waiting.length > 0 && this.committing < this.store.outbox.intakesAtOnce) {
      let events = this.waiting[0]!.incoming.length;
      let n = 1;
      while (n < this.waiting.length && events + this.waiting[n]!.incoming.length <= limit) {
        events += this.waiting[n]!.incoming.length;
        n++;
      }
      this.committing++;
      void this.commit(this.waiting.splice(0, n)).finally(() => {
        this.committing--;
        this.pump();
      });
    }
  }

  /** Commits a group in its place in line. Never throws: callers are told. */
  private async commit(group: Waiting[]): Promise<void> {
    let turn: IngestTurn | undefined;
    let leave = () => {};
    if (this.store.outbox.intakesAtOnce > 1) {
      let eventsStored = () => {};
      let done = () => {};
      const stored = new Promise<void>((r) => (eventsStored = r));
      const finished = new Promise<void>((r) => (done = r));
      turn = { events: this.lastEvents, eventsStored, deliveries: this.lastDone };
      this.lastEvents = stored;
      this.lastDone = finished;
      leave = () => {
        eventsStored();
        done();
      };
    }
    try {
      if (group.length === 1) return await this.commitAlone(group[0]!, turn);
      if (await this.commitGroup(group, turn)) return;
      // One batch's data failed the group: each alone, in turn, once the group before committed.
      await turn?.deliveries;
      for (const w of group) await this.commitAlone(w);
    } finally {
      leave();
    }
  }

  /**
   * One transaction for the group. False (nothing stored, nobody told) when the data of one of its
   * batches may have failed it: each is then tried alone.
   */
  private async commitGroup(group: Waiting[], turn: IngestTurn | undefined): Promise<boolean> {
    const all = group.flatMap((w) => w.incoming);
    let stored: Stored;
    try {
      stored = await this.store.outbox.ingest(all, Date.now(), this.dispatcher?.leaseForIntake(), turn);
    } catch (err) {
      if (isDataError(err)) return false;
      // The store itself failed (away, busy, a connection lost, perhaps after its commit took
      // effect): every caller hears it now, as each would have alone, and decides for itself,
      // rather than each batch being stored again, in turn, behind the others.
      for (const w of group) w.reject(err);
      return true;
    }
    try {
      this.handOn(all, stored);
      let at = 0;
      for (const w of group) {
        w.resolve(receiptOf(stored, at, w.incoming.length));
        at += w.incoming.length;
      }
    } catch (err) {
      // Stored, but not handed on: the callers not answered yet hear of it as they did alone
      // (what was leased comes due when its lease ends).
      for (const w of group) w.reject(err);
    }
    return true;
  }

  private async commitAlone(w: Waiting, turn?: IngestTurn): Promise<void> {
    try {
      const stored = await this.store.outbox.ingest(
        w.incoming,
        Date.now(),
        this.dispatcher?.leaseForIntake(),
        turn,
      );
      this.handOn(w.incoming, stored);
      w.resolve(receiptOf(stored, 0, w.incoming.length));
    } catch (err) {
      w.reject(err);
    }
  }

  /** After a commit: live streams are told, and the dispatcher gets what it may send. */
  private handOn(incoming: IncomingEvent[], { leased }: Stored): void {
    this.opts.stored?.(incoming.map((e) => e.extensionId));
    if (leased.length > 0) this.dispatcher?.take(leased);
    // The ready deliveries left unleased are those whose host is full or held here: a claim now
    // would leave that host out and find nothing of them. They are claimed when the host runs
    // low (or its hold ends). Nudging for them asked for such a claim after every intake while a
    // host was busy: half the claims of a PostgreSQL run found nothing, at 8 ms each.
  }
}

/**
 * An error a batch's own data may have caused (a constraint, a value the database refuses), as
 * opposed to the store failing: PostgreSQL's SQLSTATE classes 22 and 23, SQLite's constraint,
 * size and type errors, and our own refusals.
 */
function isDataError(err: unknown): boolean {
  if (err instanceof DomainError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return /^2[23][0-9A-Z]{3}$/.test(code) || /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH|RANGE)/.test(code);
}
