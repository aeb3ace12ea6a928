import type {
  ApiError,
  CallbackRequest,
  components,
  Health,
  IntakeEvent,
  operations,
  paths,
  SimulationRequest,
  SubscriptionCreate,
  SubscriptionUpdate,
} from '@callhook/contract';
import { API_BASE_PATH, ROOT_PATHS } from '@callhook/contract/servers';
import createClient, { type Client, type FetchResponse, type MaybeOptionalInit } from 'openapi-fetch';
import { CallhookApiError, CallhookAuthError, CallhookError } from './errors.js';
import { ClientCredentials, type CredentialsOptions, StaticToken, type TokenSource } from './token.js';
import { createTransport, type FetchLike, type RetryOptions } from './transport.js';

/**
 * Where the API lives under the host, and the paths served from the host root instead: generated
 * from the spec's `servers` (the contract's `servers` entry, which loads nothing else).
 */
export { API_BASE_PATH, ROOT_PATHS };

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const FORM = 'application/x-www-form-urlencoded';

interface CommonOptions {
  /** The host root, e.g. `http://127.0.0.1:8080` (a trailing `/api/ver1.0` is tolerated). */
  baseUrl: string;
  /** Per attempt. Default 30 s. */
  timeoutMs?: number;
  /** Retries of idempotent calls on 5xx and network errors; `false` for none. */
  retry?: RetryOptions | false;
  /** The fetch to use (default `globalThis.fetch`): for proxies, instrumentation, tests. */
  fetch?: FetchLike;
  /** The PBX service key, for the intake operations only (`pbx.ingest`). */
  pbxKey?: string;
}

export type CallhookClientOptions = CommonOptions &
  (
    | ({ clientId: string; clientSecret: string; token?: never } & CredentialsOptions)
    | { token: string; clientId?: never; clientSecret?: never }
  );

type ExtensionId = string | number;
type Schemas = components['schemas'];
type DeliveryQuery = NonNullable<operations['listDeliveries']['parameters']['query']>;
type ExtensionDeliveryQuery = NonNullable<operations['listExtensionDeliveries']['parameters']['query']>;
type Verb = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Routed = Pick<Client<paths>, Verb>;

/** openapi-fetch's `init` argument: optional exactly when nothing in it is required. */
type InitArg<Init> = undefined extends Init ? [init?: Init] : [init: Init];
/** The spec's paths that have an operation for `method` (openapi-fetch's `PathsWithMethod`). */
type PathsWith<Method extends string> = {
  [P in keyof paths]: paths[P] extends { [M in Method]: object } ? P : never;
}[keyof paths];
/**
 * openapi-fetch's method for one verb, resolving with the data of a 2xx answer (or throwing the
 * typed error of any other) instead of `{ data, error, response }`.
 */
type DataMethod<V extends Verb> = <
  Path extends PathsWith<Lowercase<V>>,
  Init extends MaybeOptionalInit<paths[Path], Lowercase<V>>,
>(
  path: Path,
  ...init: InitArg<Init>
) => Promise<
  NonNullable<
    FetchResponse<
      Extract<paths[Path][Lowercase<V>], Record<string, unknown>>,
      Init,
      `${string}/${string}`
    >['data']
  >
>;

/** What openapi-fetch resolves to, reduced to what `ok` needs. */
interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

function isApiError(value: unknown): value is ApiError {
  return typeof value === 'object' && value !== null && typeof (value as ApiError).message === 'string';
}

/** What `CallhookApiError` is made of, from an answer that was not a 2xx. */
function errorInit(response: Response, error: unknown, method: string) {
  // A body that is not the spec's Error (a proxy's HTML page, an empty 502) still says something.
  const body: ApiError = isApiError(error)
    ? error
    : { message: typeof error === 'string' && error ? error.slice(0, 500) : response.statusText || 'error' };
  const requestId = response.headers.get('X-Request-Id');
  return {
    status: response.status,
    body,
    ...(requestId ? { requestId } : {}),
    method,
    url: response.url ? new URL(response.url).pathname : '',
  };
}

/** The data of a 2xx answer, or the typed error of any other. */
async function ok<T>(call: Promise<Outcome<T>>, method: string): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new CallhookApiError(errorInit(response, error, method));
  return data as T;
}

/**
 * A callhook API client. `GET`/`POST`/`PUT`/`DELETE` are openapi-fetch's, typed by the spec's
 * `paths` (they return `{ data, error, response }`); the named methods return the data and throw
 * `CallhookApiError` for any non-2xx answer.
 */
export class CallhookClient {
  /** The host root. */
  readonly baseUrl: string;
  /** The API base: `baseUrl` + `/api/ver1.0`. */
  readonly apiUrl: string;
  readonly GET: Routed['GET'];
  readonly POST: Routed['POST'];
  readonly PUT: Routed['PUT'];
  readonly DELETE: Routed['DELETE'];
  /** `GET`/`POST`/`PUT`/`DELETE` answering with the data (the named methods are made of these). */
  private readonly call: { readonly [V in Verb]: DataMethod<V> };
  private readonly tokens: TokenSource;
  private readonly pbxKey: string | undefined;

  constructor(options: CallhookClientOptions) {
    const host = options.baseUrl.replace(/\/+$/, '');
    this.baseUrl = host.endsWith(API_BASE_PATH) ? host.slice(0, -API_BASE_PATH.length) : host;
    this.apiUrl = `${this.baseUrl}${API_BASE_PATH}`;
    this.pbxKey = options.pbxKey;
    const apiPrefix = `${this.apiUrl}/`;
    const tokenUrl = `${this.baseUrl}/oauth/token`;
    const retry =
      options.retry === false
        ? false
        : { retries: 2, minDelayMs: 250, maxDelayMs: 5000, ...(options.retry ?? {}) };
    const raw = createClient<paths>({
      baseUrl: this.apiUrl,
      fetch: (request) => transport(request),
    });
    const route = <M extends keyof Routed>(method: M): Routed[M] => {
      const call = raw[method] as unknown as (path: string, init?: object) => Promise<unknown>;
      const routed = (path: string, init?: object) =>
        call(path, {
          ...init,
          ...((ROOT_PATHS as readonly string[]).includes(path) ? { baseUrl: this.baseUrl } : {}),
        });
      return routed as unknown as Routed[M];
    };
    this.GET = route('GET');
    this.POST = route('POST');
    this.PUT = route('PUT');
    this.DELETE = route('DELETE');
    const answer = <V extends Verb>(verb: V): DataMethod<V> => {
      const send = this[verb] as unknown as (path: string, init?: object) => Promise<Outcome<unknown>>;
      return ((path: string, init?: object) => ok(send(path, init), verb)) as unknown as DataMethod<V>;
    };
    this.call = { GET: answer('GET'), POST: answer('POST'), PUT: answer('PUT'), DELETE: answer('DELETE') };

    if (options.token !== undefined) {
      this.tokens = new StaticToken(options.token);
    } else {
      const { clientId, clientSecret } = options;
      this.tokens = new ClientCredentials(async () => {
        const { data, error, response } = await this.POST('/oauth/token', {
          body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
          headers: { 'Content-Type': FORM },
          // openapi-fetch sends JSON unless told otherwise; the token endpoint takes a form.
          bodySerializer: (body) => new URLSearchParams(body).toString(),
        });
        if (data) return data;
        throw new CallhookAuthError(errorInit(response, error, 'POST'), this.baseUrl);
      }, options);
    }

    const transport = createTransport({
      fetch: options.fetch ?? ((request) => globalThis.fetch(request)),
      timeoutMs: options.timeoutMs ?? 30_000,
      retry,
      tokens: this.tokens,
      authenticate: (request) =>
        request.url.startsWith(apiPrefix) &&
        !request.headers.has('Authorization') &&
        !request.headers.has('X-PBX-Key'),
      retryable: (request) => IDEMPOTENT.has(request.method) || request.url === tokenUrl,
    });
  }

  /** A valid access token (fetched or renewed as needed), e.g. for curl. */
  token(): Promise<string> {
    return this.tokens.get();
  }

  /** Subscriptions of an extension to its events: the provider's six operations, and rotation. */
  readonly subscriptions = {
    list: (extension: ExtensionId) =>
      this.call.GET('/extension/{extension_id}/event/', {
        params: { path: { extension_id: String(extension) } },
      }),
    /** The answer carries the signing `secret`, shown this once. */
    create: (extension: ExtensionId, body: SubscriptionCreate) =>
      this.call.POST('/extension/{extension_id}/event/', {
        params: { path: { extension_id: String(extension) } },
        body,
      }),
    get: (extension: ExtensionId, id: number) =>
      this.call.GET('/extension/{extension_id}/event/{id}', {
        params: { path: { extension_id: String(extension), id } },
      }),
    update: (extension: ExtensionId, id: number, body: SubscriptionUpdate) =>
      this.call.PUT('/extension/{extension_id}/event/{id}', {
        params: { path: { extension_id: String(extension), id } },
        body,
      }),
    delete: async (extension: ExtensionId, id: number): Promise<void> => {
      await this.call.DELETE('/extension/{extension_id}/event/{id}', {
        params: { path: { extension_id: String(extension), id } },
      });
    },
    /** Deletes every subscription of the extension. */
    clear: async (extension: ExtensionId): Promise<void> => {
      await this.call.DELETE('/extension/{extension_id}/event/', {
        params: { path: { extension_id: String(extension) } },
      });
    },
    /** A new signing secret; the old one keeps signing beside it for `grace_seconds`. */
    rotateSecret: (extension: ExtensionId, id: number, body?: Schemas['SecretRotation']) =>
      this.call.POST('/extension/{extension_id}/event/{id}/secret/rotate/', {
        params: { path: { extension_id: String(extension), id } },
        ...(body ? { body } : {}),
      }),
  };

  /** What was sent to a subscription, and replay. */
  readonly deliveries = {
    /** Every delivery of the extension, newest first, filtered; pass `next_cursor` as `cursor` for more. */
    log: (extension: ExtensionId, query: ExtensionDeliveryQuery = {}) =>
      this.call.GET('/extension/{extension_id}/delivery/', {
        params: { path: { extension_id: String(extension) }, query },
      }),
    list: (extension: ExtensionId, subscription: number, query: DeliveryQuery = {}) =>
      this.call.GET('/extension/{extension_id}/event/{id}/delivery/', {
        params: { path: { extension_id: String(extension), id: subscription }, query },
      }),
    get: (extension: ExtensionId, subscription: number, delivery: string) =>
      this.call.GET('/extension/{extension_id}/event/{id}/delivery/{delivery_id}', {
        params: { path: { extension_id: String(extension), id: subscription, delivery_id: delivery } },
      }),
    retry: (extension: ExtensionId, subscription: number, delivery: string) =>
      this.call.POST('/extension/{extension_id}/event/{id}/delivery/{delivery_id}/retry/', {
        params: { path: { extension_id: String(extension), id: subscription, delivery_id: delivery } },
      }),
    recover: (extension: ExtensionId, subscription: number, body: Schemas['RecoverRequest']) =>
      this.call.POST('/extension/{extension_id}/event/{id}/delivery/recover/', {
        params: { path: { extension_id: String(extension), id: subscription } },
        body,
      }),
  };

  /** The client's extensions (`@me`: the token's client). */
  extensions(client: ExtensionId = '@me') {
    return this.call.GET('/client/{client_id}/extension/', {
      params: { path: { client_id: String(client) } },
    });
  }

  /** Subscription limits of the client (`@me`: the token's) and its extensions. */
  limits(client: ExtensionId = '@me') {
    return this.call.GET('/client/{client_id}/limit/', { params: { path: { client_id: String(client) } } });
  }

  /** Starts a call: rings `src_num`, then connects it to `dst_num`. */
  callback(extension: ExtensionId, body: CallbackRequest) {
    return this.call.POST('/extension/{extension_id}/callback/', {
      params: { path: { extension_id: String(extension) } },
      body,
    });
  }

  /** Plays a call scenario on the server's simulated PBX (demo mode). */
  simulate(body: SimulationRequest) {
    return this.call.POST('/pbx/simulate/', { body });
  }

  /** Liveness and store check; a degraded server (503) answers with its Health too. */
  async health(): Promise<Health> {
    const { data, error, response } = await this.GET('/healthz');
    if (data) return data;
    if (response.status === 503 && error) return error;
    throw new CallhookApiError(errorInit(response, error, 'GET'));
  }

  /** The PBX side (needs the `pbxKey` option): what a PBX service sends to the intake. */
  readonly pbx = {
    ingest: (event: IntakeEvent) =>
      this.call.POST('/pbx/event/', { body: event, headers: { 'X-PBX-Key': this.requirePbxKey() } }),
    ingestBatch: (events: IntakeEvent[]) =>
      this.call.POST('/pbx/event/batch/', {
        body: { events },
        headers: { 'X-PBX-Key': this.requirePbxKey() },
      }),
  };

  private requirePbxKey(): string {
    if (!this.pbxKey) throw new CallhookError('The PBX intake needs the `pbxKey` option');
    return this.pbxKey;
  }
}

export function createCallhookClient(options: CallhookClientOptions): CallhookClient {
  return new CallhookClient(options);
}
