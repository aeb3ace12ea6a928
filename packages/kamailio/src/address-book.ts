import type { ExtensionDirectory, PbxExtension } from '@callhook/pbx';

/**
 * callhook's extensions by SIP address: `000*099@sip.domain` is extension 175 when callhook's
 * tenant data says so. Domains compare without case (RFC 3261 §19.1.4), users exactly.
 */
export class AddressBook {
  private byAddress = new Map<string, PbxExtension>();
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly directory: ExtensionDirectory,
    /** A miss re-reads the directory (an extension may be new) at most this often. */
    private readonly missRefreshMs = 5_000,
    /**
     * A hit older than this re-reads it in the background (a name, a recording setting may have
     * changed), when nothing tells the source the tenant data changed.
     */
    private readonly maxAgeMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  static key(user: string, domain: string): string {
    return `${user}@${domain.toLowerCase()}`;
  }

  /** Reads the directory again (the server says the tenant data changed). */
  refresh(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const next = new Map<string, PbxExtension>();
        for (const ext of await this.directory.list()) next.set(AddressBook.key(ext.name, ext.domain), ext);
        this.byAddress = next;
        this.loadedAt = this.now();
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  /** The extension with this SIP address, re-reading the directory on a miss now and then. */
  async find(user: string, domain: string): Promise<PbxExtension | undefined> {
    const key = AddressBook.key(user, domain);
    const found = this.byAddress.get(key);
    const age = this.now() - this.loadedAt;
    if (found) {
      if (age > this.maxAgeMs) void this.refresh().catch(() => {});
      return found;
    }
    if (age < this.missRefreshMs) return undefined;
    await this.refresh();
    return this.byAddress.get(key);
  }

  /** Forgets an extension the intake no longer has, until the next read. */
  drop(extensionId: number): void {
    for (const [key, ext] of this.byAddress) if (ext.id === extensionId) this.byAddress.delete(key);
  }
}
