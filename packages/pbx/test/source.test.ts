import { describe, expect, test } from 'vitest';
import {
  type IngestReceipt,
  type PbxExtension,
  type SourceEvent,
  UnknownExtensionError,
} from '../src/index.js';
import { ScenarioError } from '../src/simulator/scenarios.js';
import { SimulatorSource } from '../src/simulator/source.js';
import { extensions, seeded } from './world.js';

/** A sink that keeps what it was given, and a directory the test can change, as a server hosts them. */
function host(initial: PbxExtension[]) {
  let current = [...initial];
  const got: SourceEvent[] = [];
  const errors: unknown[] = [];
  const ctx = {
    sink: {
      async ingest(events: readonly SourceEvent[]): Promise<IngestReceipt> {
        for (const [i, e] of events.entries()) {
          if (!current.some((x) => x.id === e.extension_id))
            throw new UnknownExtensionError(e.extension_id, i);
        }
        got.push(...events);
        return {
          eventIds: events.map((_, i) => got.length - events.length + i + 1),
          deliveries: 0,
          repeats: 0,
        };
      },
    },
    directory: { list: async () => current },
    logger: { info() {}, warn() {}, error: (obj: object) => errors.push(obj) },
  };
  return { ctx, got, errors, set: (exts: PbxExtension[]) => (current = exts) };
}

describe('the simulator as an event source', () => {
  test("its calls' events go to the host's sink, in order", async () => {
    const h = host(extensions);
    const source = new SimulatorSource({ random: seeded() });
    expect(source.name).toBe('simulator');
    await source.start(h.ctx);
    const result = source.simulate({
      scenario: 'outgoing',
      extension_id: 175,
      number: '00010005',
      speed: 1000,
    });
    await source.idle();
    expect(h.got.map((e) => e.event_type)).toEqual(['dial-out', 'answer', 'hangup']);
    expect(new Set(h.got.map((e) => (e.data as { CallID: string }).CallID))).toEqual(
      new Set([result.call_id]),
    );
  });

  test('its directory is the host’s, read again on refresh', async () => {
    const h = host(extensions.filter((e) => e.id !== 200));
    const source = new SimulatorSource({ random: seeded() });
    await source.start(h.ctx);
    expect(() => source.simulate({ scenario: 'outgoing', extension_id: 200, number: '1' })).toThrow(
      ScenarioError,
    );
    h.set(extensions);
    await source.refresh();
    expect(
      source.simulate({ scenario: 'outgoing', extension_id: 200, number: '1', speed: 1000 }).events,
    ).toBe(3);
    await source.idle();
  });

  test('stop plays what is left of the calls under way at once, then refuses new calls', async () => {
    const h = host(extensions);
    const source = new SimulatorSource({ random: seeded() });
    await source.start(h.ctx);
    // Real timing: without the stop, the hangup would come seconds later.
    const result = source.simulate({ scenario: 'outgoing', extension_id: 175, number: '00010005' });
    await source.stop();
    expect(h.got).toHaveLength(result.events);
    expect(() => source.simulate({ scenario: 'outgoing', extension_id: 175, number: '1' })).toThrow(
      expect.objectContaining({ status: 503, kind: 'unavailable' }),
    );
  });

  test('drop forgets the calls under way: nothing more reaches the sink', async () => {
    const h = host(extensions);
    const source = new SimulatorSource({ random: seeded() });
    await source.start(h.ctx);
    source.simulate({ scenario: 'outgoing', extension_id: 175, number: '00010005' });
    await new Promise((r) => setTimeout(r, 20));
    source.drop();
    await source.idle();
    expect(h.got.map((e) => e.event_type)).toEqual(['dial-out']);
  });
});
