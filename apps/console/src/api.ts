import { ClientCredentials } from '@callhook/client/token';
import type { ApiError, paths } from '@callhook/contract';
import { API_BASE_PATH } from '@callhook/contract/servers';
import createFetchClient, { type Middleware } from 'openapi-fetch';
import createQueryClient from 'openapi-react-query';

/** The API's base path, from the spec's `servers` (generated into the contract). */
export const API_BASE = API_BASE_PATH;

// `credentials: 'omit'`: the console authenticates with its bearer token only. A browser that
// sent its own (Basic) credentials would also show its native prompt on a 401 that names Basic.
const common = { credentials: 'omit' as const };

/** The token endpoint and health live at the root of the host (the spec's per-path servers). */
const root = createFetchClient<paths>({ baseUrl: '', ...common });

export class SignInError extends Error {}

/** A signed-in session: the token in memory only, renewed as @callhook/client renews it. */
export class Session {
  readonly tokens: ClientCredentials;
  constructor(
    readonly clientId: string,
    clientSecret: string,
  ) {
    this.tokens = new ClientCredentials(async () => {
      const { data, error, response } = await root.POST('/oauth/token', {
        body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
        bodySerializer: (body) => new URLSearchParams(body as Record<string, string>).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      if (!data) {
        const message =
          response.status === 401
            ? 'The client id or secret is wrong.'
            : ((error as ApiError | undefined)?.message ??
              `The token request failed (HTTP ${response.status}).`);
        throw new SignInError(message);
      }
      return data;
    });
  }
}

let session: Session | undefined;

export function setSession(next: Session | undefined): void {
  session = next;
}

/** Adds the bearer token; after a 401, renews it once and sends the request again. */
const auth: Middleware = {
  async onRequest({ request }) {
    if (!session) return request;
    const token = await session.tokens.get();
    request.headers.set('authorization', `Bearer ${token}`);
    // Kept for a possible replay after a 401 (a body can be read once).
    retryable.set(request, request.clone());
    return request;
  },
  async onResponse({ request, response }) {
    const copy = retryable.get(request);
    retryable.delete(request);
    if (response.status !== 401 || !session || !copy) return response;
    const rejected = request.headers.get('authorization')?.replace(/^Bearer /, '') ?? '';
    const token = await session.tokens.renew(rejected);
    copy.headers.set('authorization', `Bearer ${token}`);
    return fetch(copy);
  },
};
const retryable = new WeakMap<Request, Request>();

export const fetchClient = createFetchClient<paths>({ baseUrl: API_BASE, ...common });
fetchClient.use(auth);

/** The typed TanStack Query hooks over the same client. */
export const $api = createQueryClient(fetchClient);

/** A bearer token for requests made outside the typed client (the event stream). */
export async function currentToken(): Promise<string> {
  if (!session) throw new SignInError('Not signed in');
  return session.tokens.get();
}

/** The message of an API error body, or of anything else thrown. */
export function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') {
    return error.message;
  }
  return String(error);
}

/** The API's per-field validation messages (`errors[].field`), by field. */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const list = (error as ApiError | undefined)?.errors;
  if (Array.isArray(list)) for (const e of list) out[e.field] ??= e.message;
  return out;
}
