import type { ApiError, TokenResponse } from '@callhook/contract';
import type { TenantStore, TokenGrant } from '../store/index.js';
import { hashSecret, randomAlphanumeric, secretMatches } from '../store/secrets.js';
import { FailureLimiter } from './ratelimit.js';

/** Who a request acts as: the token's client, application and (if it has one) extension. */
export interface Principal {
  clientId: number;
  applicationId: number;
  extensionId: number | null;
}

/** Who asks for a token, from the form body or HTTP Basic. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

const REALM = 'Bearer realm="callhook"';

type OAuthErrorCode = NonNullable<ApiError['error']>;

/**
 * Credentials refused, in the words of OAuth2 (RFC 6749 §5.2) and the Bearer scheme (RFC 6750
 * §3): those RFCs fix the status and headers of each refusal, so they are part of the error; the
 * API turns it into a response.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly status: 400 | 401 | 429,
    message: string,
    /** The OAuth2 `error` code, for the token endpoint's refusals. */
    readonly oauthError?: OAuthErrorCode,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function unauthorized(message: string, error?: 'invalid_token' | 'invalid_request'): AuthError {
  const header = error ? `${REALM}, error="${error}", error_description="${message}"` : REALM;
  return new AuthError(401, message, undefined, { 'WWW-Authenticate': header });
}

function oauthError(
  status: 400 | 401 | 429,
  error: OAuthErrorCode,
  description: string,
  headers: Record<string, string> = {},
): AuthError {
  return new AuthError(status, description, error, headers);
}

/** Issues and checks OAuth2 client-credentials tokens. Secrets and tokens are kept only as hashes. */
export class TokenService {
  // Failures are counted per (client_id, address) and per address, never per client_id alone:
  // anyone may send a client_id, so a count of its failures from everywhere would let anyone
  // lock its owner out. Five wrong secrets a minute for one client from one address, twenty
  // from one address in all: guessing a 40-character secret stays hopeless, and an address
  // that has not failed is never refused.
  private readonly byClientAndAddress = new FailureLimiter(5, 60_000);
  private readonly byAddress = new FailureLimiter(20, 60_000);
  // Checking a token costs a database read; a short cache keeps that off the hot path.
  private readonly cache = new Map<string, TokenGrant>();

  constructor(
    private readonly tenants: TenantStore,
    private readonly ttlSeconds: number,
  ) {}

  /** `address`: the caller's, as the server sees it (the peer, unless proxies are trusted). */
  async issue(grantType: string, credentials: ClientCredentials, address: string): Promise<TokenResponse> {
    if (grantType !== 'client_credentials') {
      throw oauthError(400, 'unsupported_grant_type', 'Only grant_type=client_credentials is supported');
    }
    const pair = `${address} ${credentials.clientId}`;
    const wait = Math.max(this.byClientAndAddress.retryAfter(pair), this.byAddress.retryAfter(address));
    if (wait > 0) {
      throw oauthError(
        429,
        'slow_down',
        `Too many failed token requests from this address; try again in ${wait} s`,
        { 'Retry-After': String(wait) },
      );
    }
    const app = await this.tenants.findApplication(credentials.clientId);
    if (!app || !secretMatches(credentials.clientSecret, app.secretHash)) {
      this.byClientAndAddress.fail(pair);
      this.byAddress.fail(address);
      throw oauthError(
        401,
        'invalid_client',
        'Client authentication failed: unknown client_id or wrong client_secret',
        {
          'WWW-Authenticate': 'Basic realm="callhook"',
        },
      );
    }
    this.byClientAndAddress.reset(pair);
    const token = randomAlphanumeric(30);
    await this.tenants.saveToken(hashSecret(token), {
      applicationId: app.id,
      clientId: app.clientId,
      extensionId: app.extensionId,
      expiresAt: Date.now() + this.ttlSeconds * 1000,
    });
    return { access_token: token, token_type: 'Bearer', expires_in: this.ttlSeconds };
  }

  /** The principal of an `Authorization: Bearer` header, or a 401 that says what is wrong. */
  async authenticate(header: string | undefined, now = Date.now()): Promise<Principal> {
    if (!header) throw unauthorized('Authorization required: send "Authorization: Bearer <access_token>"');
    const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header);
    if (!match)
      throw unauthorized(
        'Malformed Authorization header: expected "Bearer <access_token>"',
        'invalid_request',
      );
    const hash = hashSecret(match[1]!);
    let grant = this.cache.get(hash);
    if (!grant) {
      grant = await this.tenants.findToken(hash);
      if (grant) {
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(hash, grant);
      }
    }
    if (!grant) throw unauthorized('Unknown access token', 'invalid_token');
    if (grant.expiresAt <= now) {
      this.cache.delete(hash);
      throw unauthorized('The access token expired', 'invalid_token');
    }
    return { clientId: grant.clientId, applicationId: grant.applicationId, extensionId: grant.extensionId };
  }
}
