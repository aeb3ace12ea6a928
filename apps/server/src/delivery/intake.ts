import { DomainError } from '@callhook/contract';
import { type IngestReceipt, type IntakeSink, type SourceEvent, UnknownExtensionError } from '@callhook/pbx';
import type { IncomingEvent, Store } from '../store/index.js';
import type { Dispatcher } from './dispatcher.js';
import { encodeEventData } from './encoding.js';

/**
 * callhook's intake: every PBX source (the HTTP intake, the simulator, a switch's bridge) hands
 * its events here. It checks the extensions exist, encodes each event once as every subscriber
 * will receive it, stores events and deliveries in one transaction, and hands the deliveries it
 * could lease in that transaction straight to this instance's dispatcher (the rest are nudged).
 */
export class Intake implements IntakeSink {
  constructor(
    private readonly store: Store,
    /** This instance's dispatcher, when it runs one (an API-only instance stores and leaves). */
    private readonly dispatcher?: Dispatcher,
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
    const { eventIds, deliveries, leased, unleased, repeats } = await this.store.outbox.ingest(
      incoming,
      Date.now(),
      this.dispatcher?.leaseForIntake(),
    );
    if (leased.length > 0) this.dispatcher?.take(leased);
    if (unleased > 0) this.dispatcher?.nudge();
    return { eventIds, deliveries, repeats };
  }
}
