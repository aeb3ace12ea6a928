import { DomainError } from '@callhook/contract';
import { UnknownExtensionError } from '@callhook/pbx';
import type { ServerContext } from './context.js';
import type { Handlers } from './typed.js';

/**
 * A refusal of a batch of one event, with the field named as the batch's body has it. The intake
 * names a field by its event's position only when it was handed several (`events.1.extension_id`),
 * since most sources hand it one event at a time; the batch endpoint's body has `events` even then.
 */
function asBatchOfOne(err: unknown): unknown {
  if (!(err instanceof DomainError) || err.field === undefined || err.field.startsWith('events.')) return err;
  const field = `events.0.${err.field}`;
  if (err instanceof UnknownExtensionError) return new UnknownExtensionError(err.extensionId, 0, field);
  return new DomainError(err.kind, err.message, {
    field,
    rule: err.rule,
    location: err.location,
    ...(err.code === undefined ? {} : { code: err.code }),
  });
}

/** The PBX intake over HTTP: the same intake every PBX source hands its events to. */
export function intakeHandlers(ctx: ServerContext) {
  return {
    async ingestEvent({ body }) {
      const { eventIds, deliveries, repeats } = await ctx.intake.ingest([body]);
      return { status: 202, body: { event_id: eventIds[0]!, deliveries, repeats } };
    },

    async ingestEvents({ body }) {
      const { eventIds, deliveries, repeats } = await ctx.intake.ingest(body.events).catch((err: unknown) => {
        throw body.events.length === 1 ? asBatchOfOne(err) : err;
      });
      return { status: 202, body: { accepted: eventIds.length, deliveries, repeats } };
    },
  } satisfies Partial<Handlers>;
}
