import type { ClaimedDelivery, NewDelivery } from '../../src/store/index.js';
import { OutboxSql } from '../../src/store/outbox-sql.js';

/**
 * A delivery's values in `OutboxSql.deliveryColumns` order, as the batched insert takes them: a
 * pending hangup of extension 175 to subscription 1, unless `over` says otherwise.
 */
export function deliveryValues(over: Partial<NewDelivery> & { id: string }): unknown[] {
  const d: Record<(typeof OutboxSql.deliveryColumns)[number], unknown> = {
    subscription_id: 1,
    event_id: 1,
    client_id: 1,
    extension_id: 175,
    event_type: 'hangup',
    call_id: 'c1',
    order_key: null,
    status: 'pending',
    attempts: 0,
    next_attempt_at: 0,
    lease_until: null,
    lease_owner: null,
    created_at: 0,
    payload: 'EventType=hangup',
    ...over,
  };
  return OutboxSql.deliveryColumns.map((c) => d[c]);
}

/**
 * A claimed delivery as the dispatcher and the sender take it: a pending hangup of extension 175
 * to subscription 1, POSTed to `url` and signed with `secret`, unless `over` says otherwise.
 */
export function claimedDelivery(
  url: string,
  secret: string,
  over: Partial<ClaimedDelivery> = {},
): ClaimedDelivery {
  return {
    seq: 1,
    id: 'msg_test',
    subscriptionId: 1,
    eventId: 1,
    clientId: 1,
    extensionId: 175,
    eventType: 'hangup',
    callId: 'c',
    status: 'pending',
    attempts: 0,
    nextAttemptAt: 0,
    createdAt: 0,
    lastAttemptAt: null,
    lastStatusCode: null,
    lastOutcome: null,
    payload: 'EventType=hangup',
    url,
    method: 'POST',
    secret,
    previousSecret: null,
    previousSecretExpiresAt: null,
    migratedSecret: null,
    migratedSecretExpiresAt: null,
    failingSince: null,
    ...over,
  };
}
