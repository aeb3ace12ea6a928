import { type ApiError, DomainError, type FieldError } from '@callhook/contract';
import { AuthError } from '../auth/tokens.js';

/** An error that becomes a response with the spec's error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Partial<Omit<ApiError, 'message'>> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (message = 'Record not found') => new HttpError(404, message);

export function badRequest(message: string, errors: FieldError[] = []): HttpError {
  return new HttpError(400, message, errors.length ? { errors } : {});
}

/** What express-openapi-validator and body-parser throw, as far as we read them. */
interface ValidatorError {
  status?: number;
  statusCode?: number;
  type?: string;
  message?: string;
  errors?: Array<{ path?: string; message?: string; errorCode?: string }>;
  headers?: Record<string, string>;
}

const LOCATIONS = new Set(['body', 'query', 'path', 'header', 'headers', 'params']);

/** `/body/src_num/0` → field `src_num.0` in `body`; the rule from ajv's error code. */
function toFieldError(e: { path?: string; message?: string; errorCode?: string }): FieldError {
  const parts = (e.path ?? '').replace(/^\./, '').split(/[/.]/).filter(Boolean);
  let location: FieldError['location'];
  if (parts[0] && LOCATIONS.has(parts[0])) {
    const loc = parts.shift()!;
    location = loc === 'params' ? 'path' : loc === 'headers' ? 'header' : (loc as FieldError['location']);
  }
  const rule = (e.errorCode ?? 'invalid').replace(/\.openapi\.(validation|requestValidation)$/, '');
  const field = parts.join('.') || (location ?? 'request');
  const out: FieldError = { field, rule, message: e.message ?? 'is invalid' };
  if (location) out.location = location;
  return out;
}

/** Turns anything thrown in a request into a status and the spec's error body. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof DomainError) return fromDomain(err);
  if (err instanceof AuthError) {
    const extra = err.oauthError ? { error: err.oauthError, error_description: err.message } : {};
    return new HttpError(err.status, err.message, extra, err.headers);
  }
  const e = (err ?? {}) as ValidatorError;
  const status = e.status ?? e.statusCode;
  if (e.type === 'entity.too.large') return new HttpError(413, 'The request body is too large');
  if (e.type === 'entity.parse.failed')
    return new HttpError(400, 'The request body is not valid JSON', { code: 'malformed_body' });
  if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') {
    return new HttpError(415, e.message ?? 'Unsupported content encoding');
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // An `if` error says only that a `then` failed, whose own errors are listed beside it; a field
    // both sides of an allOf refuse (an enum and its narrowing) is named once.
    const all = (e.errors ?? []).map(toFieldError);
    const dropIf = all.some((x) => x.rule !== 'if');
    const seen = new Set<string>();
    const errors = all.filter((x) => {
      const key = `${x.location}\0${x.field}\0${x.rule}\0${x.message}`;
      if ((dropIf && x.rule === 'if') || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (status === 400 && errors.length > 0) {
      const first = errors[0]!;
      const message =
        errors.length === 1
          ? `${first.field}: ${first.message}`
          : `${errors.length} fields are invalid: ${errors.map((x) => `${x.field} (${x.message})`).join('; ')}`;
      return new HttpError(400, message, { errors });
    }
    if (status === 404) return notFound(e.message === 'not found' ? 'Not found' : (e.message ?? 'Not found'));
    if (status === 405) return new HttpError(405, e.message ?? 'Method not allowed', {}, e.headers ?? {});
    if (status === 415) return new HttpError(415, e.message ?? 'Unsupported media type');
    return new HttpError(status, e.message ?? 'Bad request', errors.length ? { errors } : {});
  }
  if (storeUnavailable(err)) {
    return new HttpError(
      503,
      'The store is not reachable right now; nothing was done. Try again.',
      { code: 'store_unavailable' },
      { 'Retry-After': '2' },
    );
  }
  return new HttpError(500, 'Internal error');
}

const DOMAIN_STATUS = { invalid: 400, not_found: 404, unavailable: 503 } as const;

/** The domain's refusal as the API answers it: the kind's status, the field named first. */
function fromDomain(err: DomainError): HttpError {
  const fieldError = err.toFieldError();
  const message = fieldError ? `${fieldError.field}: ${err.message}` : err.message;
  const extra: Partial<Omit<ApiError, 'message'>> = {};
  if (fieldError) extra.errors = [fieldError];
  if (err.code) extra.code = err.code;
  const headers: Record<string, string> = err.kind === 'unavailable' ? { 'Retry-After': '5' } : {};
  return new HttpError(DOMAIN_STATUS[err.kind], message, extra, headers);
}

// Connection-level failures of the database (PostgreSQL restarting, the network dropping):
// the request did nothing and may simply be sent again, so it is a 503, not a 500.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  'SQLITE_BUSY',
]);

function storeUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  return (
    typeof e.message === 'string' &&
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      e.message,
    )
  );
}
