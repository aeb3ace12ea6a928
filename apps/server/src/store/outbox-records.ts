// The outbox's records as the rest of the server sees them (events, deliveries, attempts), and
// the one mapper from each stored row to its record. outbox.ts stores and reads them.
import type { AttemptOutcome, DeliveryStatus, EventType, SubscriptionMethod } from '@callhook/contract';
import type { Insertable, Selectable } from 'kysely';
import type { SigningSecrets } from './endpoints.js';
import type { DeliveriesTable } from './schema.js';

/** One event as the intake accepted it: which extension, which type, and its data. */
export interface IncomingEvent {
  extensionId: number;
  eventType: EventType;
  callId: string | null;
  /** The event data, JSON-stored as received. */
  data: Record<string, unknown>;
  /** The data form-encoded, as every subscriber will receive it. */
  payload: string;
  /**
   * The source's own id for the event. An event whose key is stored already, or came earlier in
   * the same batch, is a repeat: it is not stored again and makes no deliveries.
   */
  key?: string | null;
}

export interface DeliveryRecord {
  seq: number;
  id: string;
  subscriptionId: number;
  eventId: number;
  clientId: number;
  extensionId: number;
  eventType: EventType;
  callId: string | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  lastAttemptAt: number | null;
  lastStatusCode: number | null;
  lastOutcome: AttemptOutcome | null;
  payload: string | null;
}

export interface AttemptRecord {
  attemptedAt: number;
  outcome: AttemptOutcome;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
  /** The request as sent, signatures redacted (absent when none was sent, or on older attempts). */
  request?: AttemptRequestRecord | null;
  /** The response's headers and whether its body was cut (absent when no response came). */
  response?: AttemptResponseRecord | null;
}

export interface AttemptRequestRecord {
  method: SubscriptionMethod;
  /** The subscription's URL the request went to (a GET's event query is added when shown). */
  url: string;
  headers: Record<string, string>;
}

export interface AttemptResponseRecord {
  headers: Record<string, string>;
  truncated: boolean;
}

/**
 * Text from a receiver as the store can keep it on every backend: PostgreSQL's text refuses NUL
 * (an attempt holding one could never be recorded, and was tried again for ever), so NUL is
 * kept as U+FFFD, the character that already stands for the bytes that were not UTF-8.
 */
export function storable(text: string | null): string | null {
  return text === null ? null : text.replaceAll('\u0000', '\ufffd');
}

export function parseJson<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** The filters of an extension's delivery log (keyset-paged: `before` is a seq). */
export interface ExtensionDeliveryFilter {
  status?: DeliveryStatus;
  eventType?: EventType;
  callId?: string;
  subscriptionId?: number;
  since?: number;
  until?: number;
  before?: number;
  limit: number;
}

export interface StoredEvent {
  id: number;
  eventType: EventType;
  callId: string | null;
  receivedAt: number;
  data: Record<string, unknown>;
}

/** What the dispatcher needs to send a claimed delivery: the delivery and its subscription now. */
export interface ClaimedDelivery extends DeliveryRecord, SigningSecrets {
  url: string;
  method: SubscriptionMethod;
  failingSince: number | null;
}

/**
 * How an instance takes fresh deliveries at intake, in the intake's own transaction: ready
 * deliveries whose URL it `accept`s are stored already leased to `owner` until `until`.
 */
export interface IngestLease {
  owner: string;
  until: number;
  accept(url: string): boolean;
  /**
   * When the dispatcher holds this URL's host back (it stopped answering): the time its
   * deliveries may be tried again. They are stored due then, not now, and not leased.
   */
  heldUntil?(url: string): number | undefined;
}

/**
 * An intake's place in a line of intakes that run two at once (on PostgreSQL, where one waits
 * for the database while the other's statements run). Each stores its events only after the one
 * before it has its ids, and its deliveries only after the one before it committed: event ids
 * and deliveries' seq are taken in the order the intakes were handed in, and every transaction
 * commits after the one before it, so a reader of ids in order (the live stream) never sees a
 * later id committed before an earlier one. No intake ever waits for one behind it, so the line
 * cannot deadlock: the one behind may wait in the database for the one before (the same key),
 * never the other way round.
 */
export interface IngestTurn {
  /** Settles when the intake before this one has stored its events (or gave up). */
  events: Promise<unknown>;
  /** Called by the outbox once this intake's events are stored. */
  eventsStored(): void;
  /** Settles when the intake before this one has committed and handed its deliveries on (or failed). */
  deliveries: Promise<unknown>;
}

export type AttemptResult =
  | { kind: 'succeeded'; attempt: AttemptRecord }
  | { kind: 'retry'; attempt: AttemptRecord; nextAttemptAt: number }
  | { kind: 'failed'; attempt: AttemptRecord }
  /** The subscription is disabled now (410, or failing for too long); the delivery fails with it. */
  | { kind: 'disable'; attempt: AttemptRecord; reason: string };

/** The subscription columns the intake needs, with its endpoint's secrets (OutboxSql.subscriptionsFor). */
export interface IntakeSubscription {
  id: number;
  client_id: number;
  url: string;
  method: SubscriptionMethod;
  enabled: number;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  migrated_secret: string | null;
  migrated_secret_expires_at: number | null;
  failing_since: number | null;
}

export function toDelivery(
  row: Omit<Selectable<DeliveriesTable>, 'order_key' | 'lease_until' | 'lease_owner'>,
): DeliveryRecord {
  return {
    seq: row.seq,
    id: row.id,
    subscriptionId: row.subscription_id,
    eventId: row.event_id,
    clientId: row.client_id,
    extensionId: row.extension_id,
    eventType: row.event_type,
    callId: row.call_id,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    lastAttemptAt: row.last_attempt_at,
    lastStatusCode: row.last_status_code,
    lastOutcome: row.last_outcome,
    payload: row.payload,
  };
}

export type NewDelivery = Insertable<DeliveriesTable>;

/** A new delivery, once stored with `seq`, as the record the dispatcher sends. */
export function storedRecord(r: NewDelivery, seq: number, now: number): DeliveryRecord {
  return {
    seq,
    id: r.id,
    subscriptionId: r.subscription_id,
    eventId: r.event_id,
    clientId: r.client_id,
    extensionId: r.extension_id,
    eventType: r.event_type,
    callId: r.call_id ?? null,
    status: r.status,
    attempts: r.attempts ?? 0,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at ?? now,
    lastAttemptAt: null,
    lastStatusCode: null,
    lastOutcome: null,
    payload: r.payload ?? null,
  };
}

/** The subscription and endpoint columns sending needs, as the intake and a claim read them. */
export type SendingColumns = Omit<IntakeSubscription, 'id' | 'client_id' | 'enabled'>;

/**
 * A delivery and what sending needs of its subscription and endpoint: the one mapper. It
 * completes `d`, a record its caller has just made for this (`toDelivery`, `storedRecord`).
 */
export function toClaimed(d: DeliveryRecord, sub: SendingColumns): ClaimedDelivery {
  // Added onto the record, not `{ ...d, url, ... }`: in Node 20's V8 each property added to a
  // spread's copy costs about 1-1.5 µs, 16-20 µs per claimed delivery here (bench:mappers).
  return Object.assign(d, {
    url: sub.url,
    method: sub.method,
    secret: sub.secret,
    previousSecret: sub.previous_secret,
    previousSecretExpiresAt: sub.previous_secret_expires_at,
    migratedSecret: sub.migrated_secret,
    migratedSecretExpiresAt: sub.migrated_secret_expires_at,
    failingSince: sub.failing_since,
  });
}
