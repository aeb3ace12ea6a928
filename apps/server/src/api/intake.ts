import type { IntakeEvent } from '@callhook/contract';
import { encodeEventData } from '../delivery/encoding.js';
import type { IncomingEvent } from '../store/index.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import type { Handlers } from './typed.js';

/**
 * Turns validated intake events into outbox rows: checks the extensions exist and encodes each
 * event once, as every subscriber will receive it. Shared by the HTTP intake and the simulator.
 */
export async function ingest(
  ctx: ServerContext,
  events: IntakeEvent[],
): Promise<{ eventIds: number[]; deliveries: number; repeats: number }> {
  const incoming: IncomingEvent[] = [];
  const known = new Map<number, boolean>();
  for (const [i, ev] of events.entries()) {
    let exists = known.get(ev.extension_id);
    if (exists === undefined) {
      exists = (await ctx.store.tenants.getExtension(ev.extension_id)) !== undefined;
      known.set(ev.extension_id, exists);
    }
    if (!exists) {
      const field = events.length > 1 ? `events.${i}.extension_id` : 'extension_id';
      throw new HttpError(404, `${field}: extension ${ev.extension_id} does not exist`, {
        errors: [
          { field, location: 'body', rule: 'exists', message: `extension ${ev.extension_id} does not exist` },
        ],
      });
    }
    const data = ev.data as Record<string, unknown>;
    // The HTTP intake's schema already says so; other sources (the simulator, a switch's bridge)
    // come here unvalidated, and a nested value would reach JSON.stringify and the form encoding.
    for (const [name, value] of Object.entries(data)) {
      if (typeof value === 'object' && value !== null) {
        const field = `${events.length > 1 ? `events.${i}.` : ''}data.${name}`;
        throw new HttpError(400, `${field}: event data is flat: a string, number or boolean`, {
          errors: [{ field, location: 'body', rule: 'type', message: 'must be a string, number or boolean' }],
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
  const { eventIds, deliveries, leased, unleased, repeats } = await ctx.store.outbox.ingest(
    incoming,
    Date.now(),
    ctx.leaseForIntake(),
  );
  ctx.streams.stored(incoming.map((e) => e.extensionId));
  if (leased.length > 0) ctx.take(leased);
  if (unleased > 0) ctx.nudge();
  return { eventIds, deliveries, repeats };
}

export function intakeHandlers(ctx: ServerContext) {
  return {
    async ingestEvent({ body }) {
      const { eventIds, deliveries, repeats } = await ingest(ctx, [body]);
      return { status: 202, body: { event_id: eventIds[0]!, deliveries, repeats } };
    },

    async ingestEvents({ body }) {
      const { eventIds, deliveries, repeats } = await ingest(ctx, body.events);
      return { status: 202, body: { accepted: eventIds.length, deliveries, repeats } };
    },
  } satisfies Partial<Handlers>;
}
