import {
  type EventSource,
  type SourceContext,
  type SourceEvent,
  type SourceLogger,
  UnknownExtensionError,
} from '@callhook/pbx';
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { AddressBook } from './address-book.js';
import { type CallSnapshot, MalformedSnapshotError, parseSnapshot } from './snapshot.js';
import { pageEvents } from './translate.js';

export interface KamailioSourceOptions {
  /** NATS server(s): `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** The JetStream stream that keeps the switch's messages; made when missing. */
  stream?: string;
  /** The subject Kamailio publishes to (callhook.cfg's CALLHOOK_SUBJECT). */
  subject?: string;
  /** The durable consumer's name: every callhook instance shares it, each message goes to one. */
  consumer?: string;
  /**
   * How long a message handed to an instance may stay unacknowledged before NATS hands it out
   * again: after a crash, this is how long the crashed instance's messages wait.
   */
  ackWaitMs?: number;
  /** How long the stream keeps messages (acknowledged or not). Keep it under the event retention. */
  maxAgeMs?: number;
  /** Messages per intake transaction, at most. */
  maxBatch?: number;
}

export const KAMAILIO_DEFAULTS = {
  stream: 'CALLHOOK_SIP',
  subject: 'callhook.sip.events',
  consumer: 'callhook',
  ackWaitMs: 10_000,
  maxAgeMs: 7 * 24 * 3600 * 1000,
  maxBatch: 200,
} as const;

/** What the source has done since it started; metrics read it. */
export interface KamailioStats {
  /** Messages taken from the stream and acknowledged. */
  messages: number;
  /** Page events stored (a message's events already stored before are not counted). */
  events: number;
  /** Page events skipped because their key was stored before (redelivery, overlap). */
  repeats: number;
  /** Calls that ended with no party callhook knows: nothing made, logged once per call. */
  unknownCalls: number;
  /** Messages that are not the switch's (not JSON, missing fields): logged and dropped. */
  malformed: number;
  /** Intake transactions that failed; their messages go back to the stream for a later try. */
  failedBatches: number;
}

/**
 * A Kamailio switch as a PBX event source: consumes the call snapshots deploy/kamailio publishes
 * to a JetStream stream, turns them into the page's events for the extensions callhook knows, and
 * hands them to the intake, acknowledging each message only once the intake has committed what it
 * gave. Messages are processed in batches, one intake transaction per batch.
 */
export class KamailioSource implements EventSource {
  readonly name = 'kamailio';
  readonly stats: KamailioStats = {
    messages: 0,
    events: 0,
    repeats: 0,
    unknownCalls: 0,
    malformed: 0,
    failedBatches: 0,
  };
  private readonly opts: Required<KamailioSourceOptions>;
  private ctx: SourceContext | undefined;
  private book: AddressBook | undefined;
  private nc: NatsConnection | undefined;
  private messages: ConsumerMessages | undefined;
  private pending: JsMsg[] = [];
  private pumping: Promise<void> | undefined;
  private stopping = false;
  private failures = 0;
  /** While the intake fails, messages go straight back to the stream until this time. */
  private holdUntil = 0;

  constructor(options: KamailioSourceOptions) {
    this.opts = { ...KAMAILIO_DEFAULTS, ...options };
  }

  private get log(): SourceLogger {
    return this.ctx!.logger;
  }

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    this.book = new AddressBook(ctx.directory);
    await this.book.refresh();
    this.nc = await connect({
      servers: this.opts.servers,
      name: 'callhook',
      // Once connected, never give up: the switch's messages wait in the stream meanwhile.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
    });
    const jsm = await jetstreamManager(this.nc);
    await this.ensureStream(jsm);
    const consumer = await this.ensureConsumer(jsm);
    this.messages = await consumer.consume({
      max_messages: this.opts.maxBatch * 4,
      callback: (m) => this.take(m),
    });
    this.log.info(
      { stream: this.opts.stream, subject: this.opts.subject, consumer: this.opts.consumer },
      'kamailio source consuming',
    );
  }

  async refresh(): Promise<void> {
    await this.book?.refresh();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.messages?.close();
    await this.pumping;
    // Not processed: back to the stream now, for whichever instance runs next.
    for (const m of this.pending.splice(0)) m.nak();
    // Drain sends the acknowledgements and naks still buffered before closing.
    await this.nc?.drain();
  }

  /** The stream must exist before the switch publishes: NATS drops what no stream captures. */
  private async ensureStream(jsm: JetStreamManager): Promise<void> {
    const { stream, subject, maxAgeMs } = this.opts;
    try {
      const info = await jsm.streams.info(stream);
      if (!info.config.subjects?.includes(subject)) {
        this.log.warn({ stream, subject }, 'the stream did not capture the switch subject: added it');
        await jsm.streams.update(stream, { subjects: [...(info.config.subjects ?? []), subject] });
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add({
        name: stream,
        subjects: [subject],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        max_age: nanos(maxAgeMs),
      });
      this.log.info({ stream, subject }, 'created the stream for the switch messages');
    }
  }

  private async ensureConsumer(jsm: JetStreamManager): Promise<Consumer> {
    const { stream, consumer, subject, ackWaitMs } = this.opts;
    try {
      await jsm.consumers.info(stream, consumer);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(stream, {
        durable_name: consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: subject,
        ack_wait: nanos(ackWaitMs),
        max_ack_pending: 20_000,
      });
    }
    return jetstream(this.nc!).consumers.get(stream, consumer);
  }

  /** Messages arriving while a batch is in the intake wait and go together in the next one. */
  private take(m: JsMsg): void {
    if (this.stopping) {
      m.nak();
      return;
    }
    // The intake is failing (its database is away): rather than pile up in memory while it is,
    // messages wait in the stream; the first one back after the pause tries the intake again.
    const wait = this.holdUntil - Date.now();
    if (wait > 0) {
      m.nak(wait);
      return;
    }
    this.pending.push(m);
    this.pumping ??= this.pump();
  }

  private async pump(): Promise<void> {
    try {
      // Let the messages that came in the same read join the batch.
      await new Promise((r) => setImmediate(r));
      while (this.pending.length > 0 && !this.stopping) {
        await this.process(this.pending.splice(0, this.opts.maxBatch));
      }
    } finally {
      // In the same turn as the loop's last look at `pending`: a message that comes after it
      // finds no pump and starts one (cleared any later, it would wait for the next message).
      this.pumping = undefined;
    }
  }

  /** One batch: all its messages' events in one intake transaction, then every ack. */
  private async process(batch: JsMsg[]): Promise<void> {
    const taken: Array<{ m: JsMsg; snapshot: CallSnapshot }> = [];
    for (const m of batch) {
      try {
        taken.push({ m, snapshot: parseSnapshot(m.string()) });
      } catch (err) {
        if (!(err instanceof MalformedSnapshotError)) throw err;
        this.stats.malformed++;
        this.log.error(
          { err: err.message, seq: m.seq, payload: m.string().slice(0, 500) },
          'not a call snapshot: dropped',
        );
        // No reason with the TERM: NATS servers before 2.10 take `+TERM reason` for no ack at all.
        m.term();
      }
    }
    try {
      const events: SourceEvent[] = [];
      const keys = new Set<string>();
      for (const { snapshot } of taken) {
        for (const e of await this.translate(snapshot)) {
          // A batch often holds several snapshots of one call, which share events: each goes once.
          if (e.key !== undefined && keys.has(e.key)) continue;
          if (e.key !== undefined) keys.add(e.key);
          events.push(e);
        }
      }
      const stored = await this.ingest(events);
      this.stats.events += stored.events;
      this.stats.repeats += stored.repeats;
    } catch (err) {
      this.failures++;
      this.stats.failedBatches++;
      const pause = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
      this.holdUntil = Date.now() + pause;
      this.log.error(
        { err, messages: taken.length, pauseMs: pause },
        'intake failed: the messages go back to the stream',
      );
      for (const { m } of [...taken, ...this.pending.splice(0).map((m) => ({ m }))]) m.nak(pause);
      return;
    }
    this.failures = 0;
    this.holdUntil = 0;
    for (const { m } of taken) m.ack();
    this.stats.messages += taken.length;
  }

  private async translate(snapshot: CallSnapshot): Promise<SourceEvent[]> {
    const book = this.book!;
    const [caller, callee] = await Promise.all([
      book.find(snapshot.from.user, snapshot.from.domain),
      book.find(snapshot.to.user, snapshot.to.domain),
    ]);
    if (!caller && !callee) {
      // Logged once per call: every call ends with exactly one ended or failed snapshot.
      if (snapshot.event === 'ended' || snapshot.event === 'failed') {
        this.stats.unknownCalls++;
        this.log.info(
          {
            sipCallId: snapshot.sipCallId,
            from: `${snapshot.from.user}@${snapshot.from.domain}`,
            to: `${snapshot.to.user}@${snapshot.to.domain}`,
          },
          'a call of no extension callhook knows: no events',
        );
      }
      return [];
    }
    return pageEvents(snapshot, {
      ...(caller ? { caller } : {}),
      ...(callee ? { callee } : {}),
    });
  }

  /**
   * Hands the events to the intake. An extension the intake no longer has (deleted since the
   * directory was read) loses its events, and the rest go again.
   */
  private async ingest(events: SourceEvent[]): Promise<{ events: number; repeats: number }> {
    let rest = events;
    for (;;) {
      if (rest.length === 0) return { events: 0, repeats: 0 };
      try {
        const receipt = await this.ctx!.sink.ingest(rest);
        return { events: rest.length - receipt.repeats, repeats: receipt.repeats };
      } catch (err) {
        if (!(err instanceof UnknownExtensionError)) throw err;
        this.log.warn({ extensionId: err.extensionId }, 'extension gone from callhook: its events dropped');
        this.book!.drop(err.extensionId);
        rest = rest.filter((e) => e.extension_id !== err.extensionId);
      }
    }
  }
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound)
  );
}
