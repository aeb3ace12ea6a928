import type { Attempt, AttemptRequest, Delivery, SubscriptionMethod } from '@callhook/contract';
import type { Principal } from '../auth/tokens.js';
import { getRequestUrl } from '../delivery/encoding.js';
import type { AttemptRecord, DeliveryRecord } from '../store/index.js';
import { resolveExtension, type ServerContext } from './context.js';
import { badRequest, notFound } from './errors.js';
import type { Handlers } from './typed.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function presentDelivery(d: DeliveryRecord): Delivery {
  const open = d.status === 'pending' || d.status === 'retrying';
  return {
    id: d.id,
    subscription_id: d.subscriptionId,
    event_id: d.eventId,
    event_type: d.eventType,
    call_id: d.callId,
    status: d.status,
    attempts: d.attempts,
    created_at: new Date(d.createdAt).toISOString(),
    next_attempt_at: open ? iso(d.nextAttemptAt) : null,
    last_attempt_at: iso(d.lastAttemptAt),
    last_status_code: d.lastStatusCode,
    last_outcome: d.lastOutcome,
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

/** An attempt as the log shows it: the request as sent (from the stored parts) and the response. */
export function presentAttempt(a: AttemptRecord, payload: string | null): Attempt {
  let request: AttemptRequest | null = null;
  if (a.request) {
    const isGet = a.request.method === 'GET';
    request = {
      method: a.request.method as SubscriptionMethod,
      url: isGet && payload !== null ? getRequestUrl(a.request.url, payload) : a.request.url,
      headers: a.request.headers,
      body: isGet ? null : payload,
    };
  }
  return {
    attempted_at: new Date(a.attemptedAt).toISOString(),
    outcome: a.outcome,
    status_code: a.statusCode,
    latency_ms: a.latencyMs,
    error: a.error,
    response_body: a.responseBody,
    request,
    response:
      a.response && a.statusCode !== null
        ? {
            status: a.statusCode,
            headers: a.response.headers,
            body: a.responseBody,
            body_truncated: a.response.truncated,
          }
        : null,
  };
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

    async listExtensionDeliveries({ path, query, principal }) {
      const ext = await resolveExtension(ctx, principal, path.extension_id);
      const limit = Number(query.per_page ?? 50);
      const since = parseTime('since', query.since);
      const until = parseTime('until', query.until);
      const { items, more } = await ctx.store.outbox.listByExtension(ext.id, {
        ...(query.status ? { status: query.status } : {}),
        ...(query.event_type ? { eventType: query.event_type } : {}),
        ...(query.call_id ? { callId: query.call_id } : {}),
        ...(query.subscription_id !== undefined ? { subscriptionId: Number(query.subscription_id) } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        ...(query.cursor ? { before: Number(query.cursor) } : {}),
        limit,
      });
      const last = items[items.length - 1];
      return {
        status: 200,
        body: { items: items.map(presentDelivery), next_cursor: more && last ? String(last.seq) : null },
      };
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
          attempt_log: d.attemptLog.map((a) => presentAttempt(a, d.payload)),
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
