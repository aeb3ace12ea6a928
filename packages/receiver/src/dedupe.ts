/**
 * Remembers delivery ids (`webhook-id`) so a retried delivery is acknowledged without running the
 * handlers twice. `claim` must be atomic (Redis `SET NX`, an INSERT on a unique key) when several
 * receiver processes share one store.
 */
export interface DeliveryIdStore {
  /** True when the id was not seen yet, and marks it seen. */
  claim(id: string): boolean | Promise<boolean>;
  /** Forgets a claimed id, because handling failed and the sender's retry must be processed. */
  release(id: string): void | Promise<void>;
}

/**
 * The in-process default: the most recently claimed `capacity` ids. Retries of one delivery come
 * within hours, so a bounded window is enough; what falls out of it is at worst handled twice,
 * which at-least-once delivery allows.
 */
export class MemoryDeliveryIdStore implements DeliveryIdStore {
  // A Map keeps insertion order, so its first key is always the least recently claimed.
  private readonly ids = new Map<string, true>();

  constructor(private readonly capacity = 10_000) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
  }

  claim(id: string): boolean {
    if (this.ids.has(id)) {
      this.ids.delete(id);
      this.ids.set(id, true);
      return false;
    }
    this.ids.set(id, true);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.keys().next().value as string);
    return true;
  }

  release(id: string): void {
    this.ids.delete(id);
  }

  get size(): number {
    return this.ids.size;
  }
}
