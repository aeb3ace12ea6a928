import type { FieldError, operations } from '@callhook/contract';
import type { ClientCredentials } from '../auth/tokens.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import type { Handlers } from './typed.js';

type TokenForm = operations['createToken']['requestBody']['content']['application/x-www-form-urlencoded'];

function invalidRequest(message: string, errors: FieldError[]): HttpError {
  return new HttpError(400, message, { errors, error: 'invalid_request', error_description: message });
}

function malformedBasic(why: string): HttpError {
  const message = `Malformed Authorization header: ${why}`;
  return invalidRequest(message, [
    { field: 'authorization', location: 'header', rule: 'format', message: why },
  ]);
}

/** application/x-www-form-urlencoded decoding of one value, as RFC 6749 §2.3.1 asks of Basic's parts. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The client's credentials, from HTTP Basic (RFC 6749 §2.3.1, which a server must support and
 * which Swagger UI's "Authorize" uses) or from the form body; never both (the RFC forbids more
 * than one method in a request). Basic's id and secret are form-encoded before base64.
 */
export function clientCredentials(form: TokenForm, authorization: string | undefined): ClientCredentials {
  const basic = authorization && /^basic(?:\s+|$)/i.test(authorization) ? authorization : undefined;
  if (basic) {
    if (form.client_id !== undefined || form.client_secret !== undefined) {
      throw invalidRequest(
        'Send the client credentials in the Authorization header or in the body, not both',
        [
          {
            field: form.client_id !== undefined ? 'client_id' : 'client_secret',
            location: 'body',
            rule: 'exclusive',
            message: 'the Authorization header already carries the client credentials',
          },
        ],
      );
    }
    const encoded = basic.replace(/^basic\s*/i, '').trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw malformedBasic('expected "Basic <base64>"');
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) throw malformedBasic('expected base64 of "client_id:client_secret"');
    const clientId = formDecode(decoded.slice(0, colon));
    const clientSecret = formDecode(decoded.slice(colon + 1));
    if (clientId === undefined || clientSecret === undefined) {
      throw malformedBasic('client_id and client_secret must be form-encoded');
    }
    if (clientId.length < 1 || clientId.length > 128)
      throw malformedBasic('client_id must be 1 to 128 characters');
    if (clientSecret.length < 1 || clientSecret.length > 256) {
      throw malformedBasic('client_secret must be 1 to 256 characters');
    }
    return { clientId, clientSecret };
  }
  const missing = (['client_id', 'client_secret'] as const).filter((f) => form[f] === undefined);
  if (missing.length > 0) {
    const message =
      missing.length === 1
        ? `${missing[0]}: must have required property '${missing[0]}'`
        : 'client_id and client_secret are required, in the body or in HTTP Basic';
    throw invalidRequest(
      message,
      missing.map((field) => ({
        field,
        location: 'body' as const,
        rule: 'required',
        message: `must have required property '${field}' (or send HTTP Basic)`,
      })),
    );
  }
  return { clientId: form.client_id!, clientSecret: form.client_secret! };
}

export function tokenHandlers(ctx: ServerContext) {
  return {
    async createToken({ body, req }) {
      const credentials = clientCredentials(body, req.get('authorization'));
      // req.ip is the peer's address unless `trust proxy` names the proxies in front.
      const token = await ctx.tokens.issue(body.grant_type, credentials, req.ip ?? 'unknown');
      return { status: 200, body: token, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' } };
    },
  } satisfies Partial<Handlers>;
}
