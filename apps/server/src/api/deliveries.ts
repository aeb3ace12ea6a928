import type { AttemptOutcome, Delivery, DeliveryStatus, EventType } from '@callhook/contract';
import type { Principal } from '../auth/tokens.js';
import type { DeliveryRecord } from '../store/index.js';
import { resolveExtension, type ServerContext } from './context.js';
import { badRequest, notFound } from './errors.js';
import type { Handlers } from './typed.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function presentDelivery(d: DeliveryRecord): Delivery {
  const open = d.status === 'pending' || d.status === 'retrying';
  return {
    id: d.id,
    subscription_id: d.subscriptionId,
    event_type: d.eventType as EventType,
    call_id: d.callId,
    status: d.status as DeliveryStatus,
    attempts: d.attempts,
    created_at: new Date(d.createdAt).toISOString(),
    next_attempt_at: open ? iso(d.nextAttemptAt) : null,
    last_attempt_at: iso(d.lastAttemptAt),
    last_status_code: d.lastStatusCode,
    last_outcome: d.lastOutcome as AttemptOutcome | null,
  };
}

function parseTime(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw badRequest(`${field}: must be a date-time`, [
      { field, rule: 'format', message: 'must be a date-time' },
    ]);
  }
  return ms;
}

export function deliveryHandlers(ctx: ServerContext) {
  async function subscriptionOf(principal: Principal, extensionId: string, id: string) {
    const ext = await resolveExtension(ctx, principal, extensionId);
    const s = await ctx.store.subscriptions.get(ext.id, Number(id));
    if (!s) throw notFound();
    return s;
  }

  return {
    async listDeliveries({ path, query, principal }) {
      const s = await subscriptionOf(principal, path.extension_id, path.id);
      const page = Number(query.page ?? 1);
      const perPage = Number(query.per_page ?? 50);
      const since = parseTime('since', query.since);
      const { items, total } = await ctx.store.outbox.list(s.id, {
        ...(query.status ? { status: query.status } : {}),
        ...(since !== undefined ? { since } : {}),
        page,
        perPage,
      });
      return { status: 200, body: { items: items.map(presentDelivery), page, per_page: perPage, total } };
    },

    async recoverDeliveries({ path, body, principal }) {
      const s = await subscriptionOf(principal, path.extension_id, path.id);
      const since = parseTime('since', body.since)!;
      const until = parseTime('until', body.until);
      const recovered = await ctx.store.outbox.recover(s.id, since, until);
      if (recovered > 0) ctx.dispatcher?.nudge();
      return { status: 202, body: { recovered } };
    },

    async getDelivery({ path, principal }) {
      const s = await subscriptionOf(principal, path.extension_id, path.id);
      const d = await ctx.store.outbox.get(s.id, path.delivery_id);
      if (!d) throw notFound();
      return {
        status: 200,
        body: {
          ...presentDelivery(d),
          payload: d.payload,
          attempt_log: d.attemptLog.map((a) => ({
            attempted_at: new Date(a.attemptedAt).toISOString(),
            outcome: a.outcome as AttemptOutcome,
            status_code: a.statusCode,
            latency_ms: a.latencyMs,
            error: a.error,
            response_body: a.responseBody,
          })),
        },
      };
    },

    async retryDelivery({ path, principal }) {
      const s = await subscriptionOf(principal, path.extension_id, path.id);
      const d = await ctx.store.outbox.retry(s.id, path.delivery_id);
      if (!d) throw notFound();
      ctx.dispatcher?.nudge();
      return { status: 202, body: presentDelivery(d) };
    },
  } satisfies Partial<Handlers>;
}
