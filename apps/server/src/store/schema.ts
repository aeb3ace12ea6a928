import type { AttemptOutcome, DeliveryStatus, EventType, SubscriptionMethod } from '@callhook/contract';
import type { Generated } from 'kysely';

/** The SQL backends the store runs on. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * Storage rows. Times are integer milliseconds since the epoch (µs stay inside event data);
 * booleans are 0/1 so the same rows work on SQLite and PostgreSQL.
 */
export interface Database {
  clients: ClientsTable;
  applications: ApplicationsTable;
  extensions: ExtensionsTable;
  tokens: TokensTable;
  subscriptions: SubscriptionsTable;
  endpoints: EndpointsTable;
  events: EventsTable;
  deliveries: DeliveriesTable;
  attempts: AttemptsTable;
}

export interface ClientsTable {
  id: Generated<number>;
  name: string;
  subscription_limit: number | null;
  created_at: number;
}

export interface ApplicationsTable {
  id: Generated<number>;
  client_id: number;
  name: string;
  /** The OAuth2 client_id an application presents. */
  public_id: string;
  secret_hash: string;
  extension_id: number | null;
  created_at: number;
}

export interface ExtensionsTable {
  id: number;
  client_id: number;
  name: string;
  domain: string;
  caller_id_name: string | null;
  recording: number;
  kind: string;
  /** JSON array of agent extension ids, for queues. */
  agents: string | null;
  forward_to: string | null;
  created_at: number;
}

export interface TokensTable {
  hash: string;
  application_id: number;
  client_id: number;
  extension_id: number | null;
  expires_at: number;
}

export interface SubscriptionsTable {
  id: Generated<number>;
  client_id: number;
  extension_id: number;
  url: string;
  method: SubscriptionMethod;
  event_type: EventType;
  enabled: number;
  disabled_reason: string | null;
  /** The endpoint (client and URL without its query) whose signing secret this subscription uses. */
  endpoint_id: number;
  /**
   * The subscription's own secret from before secrets were kept per endpoint (0008), when it
   * differs from the endpoint's: it keeps signing beside the endpoint's until it expires.
   */
  migrated_secret: string | null;
  migrated_secret_expires_at: number | null;
  /** When the current run of failed attempts started (null while it succeeds). */
  failing_since: number | null;
  created_at: number;
}

/** One signing secret per client and endpoint (the URL without its query), shared by its subscriptions. */
export interface EndpointsTable {
  id: Generated<number>;
  client_id: number;
  endpoint: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  created_at: number;
}

export interface EventsTable {
  id: Generated<number>;
  extension_id: number;
  event_type: EventType;
  call_id: string | null;
  data: string;
  received_at: number;
  /** The source's id for the event; unique, so a repeat is never stored (or delivered) twice. */
  key: string | null;
}

export interface DeliveriesTable {
  /** Insertion order: the order events happened, which per-call ordering follows. */
  seq: Generated<number>;
  /** The public id, sent as `webhook-id`. */
  id: string;
  subscription_id: number;
  event_id: number;
  client_id: number;
  extension_id: number;
  event_type: EventType;
  call_id: string | null;
  /** `<subscription>:<CallID>`: deliveries with the same key go one at a time, in seq order. */
  order_key: string | null;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  lease_owner: string | null;
  created_at: number;
  last_attempt_at: number | null;
  last_status_code: number | null;
  last_outcome: AttemptOutcome | null;
  /** The form-encoded event data; null once retention has removed it. */
  payload: string | null;
}

export interface AttemptsTable {
  id: Generated<number>;
  delivery_seq: number;
  attempted_at: number;
  outcome: AttemptOutcome;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_body: string | null;
  /** JSON: `{ method, url, headers }` as sent (signatures redacted); null on older attempts. */
  request: string | null;
  /** JSON: `{ status, headers, truncated }` of the response; null when none came. */
  response: string | null;
}
