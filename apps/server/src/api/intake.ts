import type { ServerContext } from './context.js';
import type { Handlers } from './typed.js';

/** The PBX intake over HTTP: the same intake every PBX source hands its events to. */
export function intakeHandlers(ctx: ServerContext) {
  return {
    async ingestEvent({ body }) {
      const { eventIds, deliveries, repeats } = await ctx.intake.ingest([body]);
      return { status: 202, body: { event_id: eventIds[0]!, deliveries, repeats } };
    },

    async ingestEvents({ body }) {
      const { eventIds, deliveries, repeats } = await ctx.intake.ingest(body.events);
      return { status: 202, body: { accepted: eventIds.length, deliveries, repeats } };
    },
  } satisfies Partial<Handlers>;
}
