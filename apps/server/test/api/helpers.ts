import type { ApiError } from '@callhook/contract';
import { expect } from 'vitest';
import type { Store } from '../../src/index.js';
import { hashSecret, randomAlphanumeric } from '../../src/store/secrets.js';
import type { TestServer } from '../harness.js';

/** A second tenant made through the store, as an operator's admin command would. */
export interface Tenant {
  clientId: number;
  appId: string;
  secret: string;
  extensionId: number;
  token: string;
}

let nextExtension = 9000;

/**
 * Creates a client with one application and one extension (its own), and issues a token for it
 * through the real token endpoint when `url` is given, or straight in the store otherwise.
 */
export async function createTenant(
  store: Store,
  name: string,
  opts: { url?: string; extensionId?: number; subscriptionLimit?: number | null } = {},
): Promise<Tenant> {
  const extensionId = opts.extensionId ?? nextExtension++;
  const clientId = await store.tenants.createClient(name, opts.subscriptionLimit ?? null);
  await store.tenants.createExtension({
    id: extensionId,
    clientId,
    name: `000*${extensionId}`,
    domain: 'other.domain',
    recording: false,
    kind: 'phone',
  });
  const app = await store.tenants.createApplication({ clientId, name: `${name} app`, extensionId });
  let token: string;
  if (opts.url) {
    token = await fetchToken(opts.url, app.publicId, app.secret);
  } else {
    token = randomAlphanumeric(30);
    await store.tenants.saveToken(hashSecret(token), {
      applicationId: app.id,
      clientId,
      extensionId,
      expiresAt: Date.now() + 3_600_000,
    });
  }
  return { clientId, appId: app.publicId, secret: app.secret, extensionId, token };
}

export async function fetchToken(root: string, clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${root}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
    }),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** fetch against the API base with an explicit bearer token. */
export function apiAs(
  s: TestServer,
  token: string,
  path: string,
  init: RequestInit & { json?: unknown } = {},
) {
  return s.api(path, { ...init, token });
}

/** Reads an error response and checks it has the spec's error shape. */
export async function errorBody(res: Response): Promise<ApiError> {
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  const body = (await res.json()) as ApiError;
  expect(typeof body.message).toBe('string');
  expect(body.message.length).toBeGreaterThan(0);
  return body;
}

export const pageUrl = 'https://somehost.com/fordel/show.php?myid=175';
