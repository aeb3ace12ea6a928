import { randomBytes } from 'node:crypto';
import {
  type IngestReceipt,
  type IntakeSink,
  type PbxExtension,
  type SourceEvent,
  UnknownExtensionError,
} from '@callhook/pbx';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, test } from 'vitest';
import { KamailioSource } from '../src/index.js';
import { dropStream, jetStreamUnavailable, publish } from '../src/lab/index.js';

/**
 * The source against a real NATS JetStream, with an intake kept in memory that behaves as the
 * server's does (one batch at a time, the first event of each key kept) and that a test can make
 * fail or stall. What the server's real intake does with the events is tested with real calls
 * (apps/server/test/sip).
 */
const natsUrl = process.env.CALLHOOK_TEST_NATS_URL || 'nats://127.0.0.1:4222';
const unavailable = await jetStreamUnavailable(natsUrl);
if (unavailable) {
  if (process.env.CI === 'true')
    throw new Error(`the Kamailio source tests need NATS JetStream: ${unavailable}`);
  const line = `*** SKIPPED: the Kamailio source against NATS (${unavailable}) ***`;
  console.log(
    `\n${'*'.repeat(Math.min(line.length, 100))}\n${line}\n${'*'.repeat(Math.min(line.length, 100))}\n`,
  );
}

const iggy: PbxExtension = {
  id: 175,
  clientId: 1,
  name: '000*099',
  domain: 'sip.domain',
  recording: true,
  kind: 'phone',
};
const bowie: PbxExtension = {
  id: 200,
  clientId: 1,
  name: '000*200',
  domain: 'sip.domain',
  recording: false,
  kind: 'phone',
};

class MemoryIntake implements IntakeSink {
  readonly stored: SourceEvent[] = [];
  /** Throws this many times before taking batches again. */
  failing = 0;
  /** When set, a batch waits for it before it commits. */
  hold: Promise<void> | undefined;
  gone = new Set<number>();
  /** Batches handed in so far. */
  batches = 0;
  async ingest(events: readonly SourceEvent[]): Promise<IngestReceipt> {
    this.batches++;
    if (this.failing > 0) {
      this.failing--;
      throw new Error('the database is away');
    }
    for (const [i, e] of events.entries())
      if (this.gone.has(e.extension_id)) throw new UnknownExtensionError(e.extension_id, i);
    await this.hold;
    let repeats = 0;
    for (const e of events) {
      if (this.stored.some((s) => s.key === e.key)) repeats++;
      else this.stored.push(e);
    }
    return { eventIds: events.map((_, i) => i), deliveries: 0, repeats };
  }
}

const quiet = { info() {}, warn() {}, error() {} };
let n = 0;
function snapshot(call: string, event: string, extra: Record<string, unknown> = {}): string {
  const t = (k: number) => `1796242400.${String(100000 + k).slice(-6)}`;
  return JSON.stringify({
    v: 1,
    event,
    time: t(1000 + ++n),
    call_id: call,
    dial_time: t(0),
    from_user: '000*099',
    from_domain: 'sip.domain',
    from_name: 'Iggy Pop',
    dialed: '000*200',
    to_user: '000*200',
    to_domain: 'sip.domain',
    ...(event === 'answered' || event === 'ended' ? { answer_time: t(500) } : {}),
    ...extra,
  });
}

describe.skipIf(unavailable !== undefined)('the Kamailio source on NATS JetStream', () => {
  const stream = `CALLHOOK_SRC_${randomBytes(4).toString('hex').toUpperCase()}`;
  const subject = `callhook.srctest.${stream.toLowerCase()}`;
  const sources: KamailioSource[] = [];
  afterEach(async () => {
    for (const s of sources.splice(0)) await s.stop().catch(() => {});
    await dropStream(natsUrl, stream);
  });
  async function start(
    intake: IntakeSink,
    directory: PbxExtension[] = [iggy, bowie],
  ): Promise<KamailioSource> {
    const source = new KamailioSource({ servers: natsUrl, stream, subject, ackWaitMs: 1000 });
    sources.push(source);
    await source.start({ sink: intake, directory: { list: async () => directory }, logger: quiet });
    return source;
  }
  async function ackState(): Promise<{ pending: number; acked: number }> {
    const nc = await connect({ servers: natsUrl });
    try {
      const info = await (await jetstreamManager(nc)).consumers.info(stream, 'callhook');
      return { pending: info.num_ack_pending, acked: info.ack_floor.stream_seq };
    } finally {
      await nc.close();
    }
  }
  const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const types = (intake: MemoryIntake) => intake.stored.map((e) => `${e.extension_id} ${e.event_type}`);
  const internalCall = [
    '175 dial-out',
    '200 dial-in',
    '200 answer',
    '175 answer',
    '200 hangup',
    '175 hangup',
  ];

  test('messages reversed in the stream still give the call in order, each event once; all acknowledged', async () => {
    const intake = new MemoryIntake();
    const source = await start(intake);
    const [dial, answered, ended] = ['dial', 'answered', 'ended'].map((e) => snapshot('rev@x', e));
    await publish(natsUrl, subject, [ended!, answered!, dial!, ended!]);
    await until('four messages', () => source.stats.messages === 4);
    expect(types(intake)).toEqual(internalCall);
    expect(source.stats).toMatchObject({ events: 6, malformed: 0 });
    await until('every message acknowledged', async () => (await ackState()).acked === 4);
  });

  test('a message that is not a snapshot is dropped and counted; the others go on', async () => {
    const intake = new MemoryIntake();
    const source = await start(intake);
    await publish(natsUrl, subject, ['{"v":1,"event":"dial"}', 'hello', snapshot('ok@x', 'ended')]);
    await until('the good message', () => source.stats.messages === 1);
    expect(source.stats.malformed).toBe(2);
    expect(types(intake)).toEqual(internalCall);
    await until('nothing left unacknowledged', async () => (await ackState()).pending === 0);
  });

  test('while the intake fails nothing is acknowledged; once it works, every event is stored once', async () => {
    const intake = new MemoryIntake();
    intake.failing = 3;
    const source = await start(intake);
    await publish(natsUrl, subject, [snapshot('down@x', 'dial'), snapshot('down@x', 'ended')]);
    await until('three failed batches', () => source.stats.failedBatches >= 3);
    expect((await ackState()).acked).toBe(0);
    await until('the messages taken at last', () => source.stats.messages === 2, 20_000);
    expect(types(intake)).toEqual(internalCall);
  });

  test('stop while a batch is in the intake: it commits and is acknowledged; the rest waits for the next', async () => {
    const intake = new MemoryIntake();
    let release = () => {};
    intake.hold = new Promise<void>((r) => {
      release = r;
    });
    const first = await start(intake);
    await publish(natsUrl, subject, [snapshot('stop@x', 'dial')]);
    await until('a batch in the intake', () => intake.batches === 1);
    const stopping = first.stop();
    await publish(natsUrl, subject, [snapshot('stop@x', 'ended')]);
    release();
    await stopping;
    expect(first.stats.messages).toBe(1);
    expect((await ackState()).acked).toBe(1);
    expect(types(intake)).toEqual(['175 dial-out', '200 dial-in']);

    intake.hold = undefined;
    const second = await start(intake);
    await until('the rest, by the next source', () => second.stats.messages >= 1);
    expect(types(intake)).toEqual(internalCall);
  });

  test('an extension the intake no longer has loses its events; the call goes on for the other', async () => {
    const intake = new MemoryIntake();
    intake.gone.add(200);
    const source = await start(intake);
    await publish(natsUrl, subject, [snapshot('gone@x', 'ended')]);
    await until('the message', () => source.stats.messages === 1);
    expect(types(intake)).toEqual(['175 dial-out', '175 answer', '175 hangup']);
  });

  test('calls of users callhook does not know: nothing stored, counted once a call', async () => {
    const intake = new MemoryIntake();
    const source = await start(intake, []);
    await publish(
      natsUrl,
      subject,
      ['dial', 'answered', 'ended'].map((e) => snapshot('who@x', e)),
    );
    await until('three messages', () => source.stats.messages === 3);
    expect(intake.stored).toEqual([]);
    expect(source.stats.unknownCalls).toBe(1);
  });
});
