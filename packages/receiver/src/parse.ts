import { isAscii } from 'node:buffer';
import {
  type EventType,
  eventTypes,
  type FieldKind,
  isEventType,
  type WebhookPayload,
} from '@callhook/contract';
import { type FieldIssue, InvalidFieldError, MalformedRequestError } from './errors.js';
import { decodeForm } from './form.js';
import { eventShapes, fieldOf } from './schema.js';
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
const UNIX_SECONDS = /^[0-9]+$/;
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

/** `-?[0-9]+`, without a regular expression (this runs for every integer field of every event). */
function isInteger(value: string): boolean {
  const n = value.length;
  let i = n > 0 && value.charCodeAt(0) === 45 ? 1 : 0;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Form values are strings; the spec's integers come back as numbers only when they are written as one. */
function coerce(kind: FieldKind, value: string): string | number | boolean | undefined {
  switch (kind) {
    case 'integer':
      return isInteger(value) ? Number(value) : undefined;
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

/** Sets a key even when it is `__proto__`, which plain assignment would take for the prototype. */
function put(into: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__')
    Object.defineProperty(into, name, { value, enumerable: true, writable: true, configurable: true });
  else into[name] = value;
}

function previousValue(fields: readonly string[], before: number, name: string): string {
  for (let i = before - 2; i >= 0; i -= 2) if (fields[i] === name) return fields[i + 1]!;
  return '';
}

const bufferOf = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** The body as text when it is ASCII, where latin1 and UTF-8 agree and latin1 is a plain copy. */
const textOf = (bytes: Uint8Array): string | undefined =>
  isAscii(bytes) ? bufferOf(bytes).toString('latin1') : undefined;

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
      if (
        contentType !== undefined &&
        // The exact lower-case form is what senders write; anything else is compared case-blind.
        !contentType.startsWith(FORM_MEDIA_TYPE) &&
        !contentType.toLowerCase().startsWith(FORM_MEDIA_TYPE)
      ) {
        throw new MalformedRequestError(`expected ${FORM_MEDIA_TYPE}, got ${contentType}`, 415);
      }
    }

    // Bytes are turned into text once, for the HMAC and the decoder both; for ASCII (all the
    // delivery engine sends) that text hashes to the very same bytes.
    const text = typeof body === 'string' ? body : textOf(body);
    const id = headerOf(request.headers, 'webhook-id');
    const timestamp = headerOf(request.headers, 'webhook-timestamp');
    this.verifier?.verify(
      { id, timestamp, signature: headerOf(request.headers, 'webhook-signature') },
      isGet ? query : text === undefined ? body : text,
    );

    const params: Record<string, string> = {};
    const extra: Record<string, string> = {};
    let fields: string[];
    if (isGet) {
      fields = decodeForm(query);
    } else {
      fields = decodeForm(text ?? bufferOf(body as Uint8Array).toString('utf8'));
      const own = decodeForm(query);
      for (let i = 0; i < own.length; i += 2) put(params, own[i]!, own[i + 1]!);
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

    // One pass, one map lookup per field, interned names as keys, nothing allocated per field
    // unless something is wrong: this loop is most of what the parser adds to decoding and HMAC.
    const data: Record<string, string | number | boolean> = {};
    // A plain array: allocating a typed array costs more than the whole loop it would serve.
    const seen: boolean[] = [];
    const issues: FieldIssue[] = [];
    let unreadable: Set<string> | undefined;
    // Each value is checked by its field's predicate as it is read and the required fields are
    // counted: when all is well zod need not run at all. Anything wrong and zod has the last word.
    let accepted = shape.requiredCount !== undefined;
    let required = 0;
    for (let i = 0; i < fields.length; i += 2) {
      const value = fields[i + 1]!;
      const field = fieldOf(shape, fields[i]!);
      if (field === undefined) {
        const name = fields[i]!;
        if (isGet && (this.ownParams === undefined || this.ownParams.has(name))) put(params, name, value);
        else if (this.strict) issues.push({ field: name, rule: `not a field of ${type} events` });
        else put(extra, name, value);
        continue;
      }
      const { name, kind, index } = field;
      if (seen[index] === true) {
        if (!isGet) {
          issues.push({ field: name, rule: 'appears more than once' });
          continue;
        }
        // The subscriber's own query comes first in a GET, so an earlier same-named value is theirs,
        // and what its value could not be read as is not the event's concern.
        params[name] = previousValue(fields, i, name);
        if (unreadable?.delete(name)) {
          const at = issues.findIndex((issue) => issue.field === name);
          if (at !== -1) issues.splice(at, 1);
        }
      } else if (field.required) required++;
      seen[index] = true;
      const coerced = coerce(kind, value);
      if (coerced !== undefined) {
        data[name] = coerced;
        if (accepted && !field.accepts!(coerced)) accepted = false;
      } else {
        delete data[name];
        unreadable ??= new Set();
        unreadable.add(name);
        issues.push({ field: name, rule: `${KIND_RULES[kind]}, got ${JSON.stringify(value)}` });
      }
    }

    if (accepted && required === shape.requiredCount && issues.length === 0) {
      return this.delivery(id, timestamp, method, data, params, extra);
    }
    const result = shape.schema.safeParse(data);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const field = issue.path.map(String).join('.') || 'EventType';
        // A value that could not be read already has its issue, and a field both sides of an allOf
        // refuse would otherwise be reported twice.
        if (unreadable?.has(field)) continue;
        unreadable ??= new Set();
        unreadable.add(field);
        issues.push({ field, rule: field in data ? issue.message : 'required' });
      }
    }
    const refused = asIssues(issues);
    if (refused || !result.success) {
      throw new InvalidFieldError(refused ?? [{ field: 'EventType', rule: 'invalid event data' }]);
    }

    return this.delivery(id, timestamp, method, result.data, params, extra);
  }

  private delivery(
    id: string | undefined,
    timestamp: string | undefined,
    method: 'GET' | 'POST',
    event: unknown,
    params: Record<string, string>,
    extra: Record<string, string>,
  ): AnyWebhookDelivery {
    return {
      id,
      timestamp: timestamp !== undefined && UNIX_SECONDS.test(timestamp) ? Number(timestamp) : undefined,
      method,
      event,
      params,
      extra,
    } as AnyWebhookDelivery;
  }
}
