import {
  type EventType,
  eventTypes,
  type FieldKind,
  isEventType,
  type WebhookPayload,
} from '@callhook/contract';
import { type FieldIssue, InvalidFieldError, MalformedRequestError } from './errors.js';
import { decodeForm } from './form.js';
import { eventShapes } from './schema.js';
import { SignatureVerifier, type VerifierOptions } from './signature.js';

export type HeaderValue = string | readonly string[] | undefined;
/** Fetch `Headers`, or Node's header record (lower-case names). */
export type HeadersLike = Headers | Readonly<Record<string, HeaderValue>>;

/** One HTTP request as it arrived, before anything has looked inside it. */
export interface WebhookRequest {
  method: string;
  /** The request target as received (`/show.php?myid=175&SubCallID=…`), or an absolute URL. */
  url: string;
  headers: HeadersLike;
  /** The raw body bytes (POST); a string only when it is known to be exactly what was sent. */
  body?: Uint8Array | string | undefined;
}

/** A verified, validated event and what came with it. */
export interface WebhookDelivery<E extends EventType = EventType> {
  /** `webhook-id`: the same on every retry of one delivery. Undefined only for unsigned requests. */
  id: string | undefined;
  /** `webhook-timestamp`, unix seconds of this attempt. Undefined only for unsigned requests. */
  timestamp: number | undefined;
  method: 'GET' | 'POST';
  /** The event data, typed and checked by the spec's schema for its `EventType`. */
  event: WebhookPayload<E>;
  /** The subscription URL's own query parameters (`myid=175`), never part of the event. */
  params: Record<string, string>;
  /** Fields the spec does not know for this event type (lenient mode only). */
  extra: Record<string, string>;
}

/** A delivery of any event type, discriminated on `event.EventType`. */
export type AnyWebhookDelivery = { [E in EventType]: WebhookDelivery<E> }[EventType];

export interface ParserOptions extends VerifierOptions {
  /** The subscription's `whsec_` secret, or several during a rotation. */
  secret?: string | readonly string[];
  /**
   * Accept requests without signature checks, as the provider's original service sends them. Must
   * be said explicitly: a missing secret is otherwise a configuration error, not an open door.
   */
  allowUnsigned?: boolean;
  /** Refuse fields the spec does not have (default: keep them in `extra`). */
  strict?: boolean;
  /**
   * The parameter names of the subscription URL's own query. Without it, any GET parameter that is
   * not an event field is taken to be one. With it, other unknown names are `extra` (or refused when
   * `strict`).
   */
  ownParams?: readonly string[];
}

const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';
const INTEGER = /^-?[0-9]+$/;
const NUMBER = /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;

function headerOf(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Readonly<Record<string, HeaderValue>>)[name];
  return typeof value === 'string' ? value : value?.join(', ');
}

/** The bytes after `?` and before `#` of a request target or URL, as they were sent. */
export function rawQuery(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return '';
  const hash = url.indexOf('#', q);
  return hash === -1 ? url.slice(q + 1) : url.slice(q + 1, hash);
}

/** Form values are strings; the spec's integers come back as numbers only when they are written as one. */
function coerce(kind: FieldKind, value: string): string | number | boolean | undefined {
  switch (kind) {
    case 'integer':
      return INTEGER.test(value) ? Number(value) : undefined;
    case 'number':
      return NUMBER.test(value) ? Number(value) : undefined;
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : undefined;
    default:
      return value;
  }
}

const KIND_RULES: Record<FieldKind, string> = {
  integer: 'expected an integer in decimal digits',
  number: 'expected a decimal number',
  boolean: 'expected true or false',
  string: 'expected a string',
};

function asIssues(issues: FieldIssue[]): [FieldIssue, ...FieldIssue[]] | undefined {
  return issues.length > 0 ? (issues as [FieldIssue, ...FieldIssue[]]) : undefined;
}

/**
 * Turns raw webhook requests into typed, validated events. Build one per subscription (or per set
 * of secrets) and reuse it: the keys and schemas are prepared once.
 */
export class WebhookParser {
  private readonly verifier: SignatureVerifier | undefined;
  private readonly strict: boolean;
  private readonly ownParams: ReadonlySet<string> | undefined;

  constructor(options: ParserOptions = {}) {
    const { secret } = options;
    if (secret === undefined || (typeof secret !== 'string' && secret.length === 0)) {
      if (!options.allowUnsigned) {
        throw new TypeError('WebhookParser needs a `secret`, or `allowUnsigned: true` to skip verification');
      }
      this.verifier = undefined;
    } else {
      this.verifier = new SignatureVerifier(secret, options);
    }
    this.strict = options.strict ?? false;
    this.ownParams = options.ownParams ? new Set(options.ownParams) : undefined;
  }

  /**
   * Verifies the signature on the raw bytes, then decodes and validates. Throws a `WebhookError`
   * subclass for anything that is not a genuine, valid delivery.
   */
  parse(request: WebhookRequest): AnyWebhookDelivery {
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'POST') {
      throw new MalformedRequestError(`webhooks come as GET or POST, not ${request.method}`, 405);
    }
    const isGet = method === 'GET';
    const query = rawQuery(request.url);
    const body = request.body ?? '';
    if (!isGet) {
      const contentType = headerOf(request.headers, 'content-type');
      if (contentType !== undefined && !contentType.toLowerCase().startsWith(FORM_MEDIA_TYPE)) {
        throw new MalformedRequestError(`expected ${FORM_MEDIA_TYPE}, got ${contentType}`, 415);
      }
    }

    const id = headerOf(request.headers, 'webhook-id');
    const timestamp = headerOf(request.headers, 'webhook-timestamp');
    this.verifier?.verify(
      { id, timestamp, signature: headerOf(request.headers, 'webhook-signature') },
      isGet ? query : body,
    );

    // No prototype: a parameter named `__proto__` is data like any other.
    const params: Record<string, string> = Object.create(null);
    const extra: Record<string, string> = Object.create(null);
    let fields: string[];
    if (isGet) {
      fields = decodeForm(query);
    } else {
      fields = decodeForm(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
      const own = decodeForm(query);
      for (let i = 0; i < own.length; i += 2) params[own[i]!] = own[i + 1]!;
    }

    let type: string | undefined;
    for (let i = fields.length - 2; i >= 0; i -= 2) {
      if (fields[i] === 'EventType') {
        type = fields[i + 1];
        break;
      }
    }
    if (type === undefined) throw new InvalidFieldError([{ field: 'EventType', rule: 'required' }]);
    if (!isEventType(type)) {
      throw new InvalidFieldError([{ field: 'EventType', rule: `expected one of ${eventTypes.join(', ')}` }]);
    }
    const shape = eventShapes[type];

    const raw: Record<string, string> = Object.create(null);
    const issues: FieldIssue[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      if (!shape.kinds.has(name)) {
        if (isGet && (this.ownParams === undefined || this.ownParams.has(name))) params[name] = value;
        else if (this.strict) issues.push({ field: name, rule: `not a field of ${type} events` });
        else extra[name] = value;
      } else if (raw[name] === undefined) {
        raw[name] = value;
      } else if (isGet) {
        // The subscriber's own query comes first in a GET, so an earlier same-named value is theirs.
        params[name] = raw[name];
        raw[name] = value;
      } else {
        issues.push({ field: name, rule: 'appears more than once' });
      }
    }

    const data: Record<string, string | number | boolean> = {};
    const unreadable = new Set<string>();
    for (const name in raw) {
      const kind = shape.kinds.get(name)!;
      const coerced = coerce(kind, raw[name]!);
      if (coerced !== undefined) data[name] = coerced;
      else {
        unreadable.add(name);
        issues.push({ field: name, rule: `${KIND_RULES[kind]}, got ${JSON.stringify(raw[name])}` });
      }
    }

    const result = shape.schema.safeParse(data);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const field = issue.path.map(String).join('.') || 'EventType';
        // A value that could not be read already has its issue, and a field both sides of an allOf
        // refuse would otherwise be reported twice.
        if (unreadable.has(field)) continue;
        unreadable.add(field);
        issues.push({ field, rule: field in data ? issue.message : 'required' });
      }
    }
    const refused = asIssues(issues);
    if (refused || !result.success) {
      throw new InvalidFieldError(refused ?? [{ field: 'EventType', rule: 'invalid event data' }]);
    }

    return {
      id,
      timestamp: timestamp === undefined ? undefined : Number(timestamp),
      method,
      event: result.data,
      params,
      extra,
    } as AnyWebhookDelivery;
  }
}
