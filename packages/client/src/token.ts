import type { TokenResponse } from '@callhook/contract';

/** Where bearer tokens come from: a fixed one, or the client-credentials grant. */
export interface TokenSource {
  /** A token believed valid now. */
  get(): Promise<string>;
  /**
   * Called after the API refused `rejected` with 401. Returns a fresh token, or undefined when
   * there is no way to get one (a fixed token).
   */
  renew(rejected: string): Promise<string | undefined>;
}

export class StaticToken implements TokenSource {
  constructor(private readonly token: string) {}
  async get(): Promise<string> {
    return this.token;
  }
  async renew(): Promise<undefined> {
    return undefined;
  }
}

export interface CredentialsOptions {
  /** Renew this many seconds before `expires_in` runs out (at most a tenth of the lifetime). Default 30. */
  refreshMarginSeconds?: number;
  /** The clock, in milliseconds; injectable for tests. */
  now?: () => number;
}

/**
 * Tokens from the client-credentials grant, as the provider advises: fetched on first use, cached,
 * renewed shortly before they expire and after any 401. However many calls wait, one token request
 * is in flight.
 */
export class ClientCredentials implements TokenSource {
  private current: { token: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly marginMs: number;
  private readonly now: () => number;

  constructor(
    private readonly request: () => Promise<TokenResponse>,
    options: CredentialsOptions = {},
  ) {
    this.marginMs = (options.refreshMarginSeconds ?? 30) * 1000;
    this.now = options.now ?? Date.now;
  }

  get(): Promise<string> {
    if (this.current && this.now() < this.current.renewAt) return Promise.resolve(this.current.token);
    return this.fetch();
  }

  renew(rejected: string): Promise<string> {
    // Another call already replaced the token the server refused: use that one.
    if (this.current && this.current.token !== rejected && this.now() < this.current.renewAt) {
      return Promise.resolve(this.current.token);
    }
    this.current = undefined;
    return this.fetch();
  }

  private fetch(): Promise<string> {
    this.pending ??= (async () => {
      // Measured from before the request: the server's clock started no earlier than this.
      const requestedAt = this.now();
      try {
        const response = await this.request();
        const lifetimeMs = response.expires_in * 1000;
        const margin = Math.min(this.marginMs, lifetimeMs / 10);
        this.current = { token: response.access_token, renewAt: requestedAt + lifetimeMs - margin };
        return response.access_token;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }
}
