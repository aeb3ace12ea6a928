import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Metrics } from '../api/metrics.js';
import type { Config } from '../config.js';
import type { AttemptResult, ClaimedDelivery, OutboxStore } from '../store/index.js';
import { nextDelayMs } from './schedule.js';
import type { Sender } from './sender.js';

export interface DispatcherOptions {
  outbox: OutboxStore;
  sender: Sender;
  config: Config;
  metrics: Metrics;
  logger: Logger;
  /** Single-instance stores may take back every lease at start: nobody else can hold one. */
  exclusive: boolean;
}

/**
 * Claims due deliveries from the outbox and sends them. Claims respect per-call order (the
 * store only hands out the oldest open delivery of a call); a global cap bounds the requests in
 * flight and a per-subscription cap keeps one slow receiver from taking them all. Results are
 * written back in batches: while one write is under way, the next batch collects.
 */
export class Dispatcher {
  readonly owner = `dispatcher-${randomUUID()}`;
  private running = false;
  /** Attempts sending now (the global cap counts these). */
  private inFlight = 0;
  /** Claimed but waiting for a free slot of their host. */
  private waiting = 0;
  private readonly hosts = new Map<string, { sending: number; queue: Array<() => void> }>();
  /** Which host each subscription with work here sends to, to leave saturated hosts unclaimed. */
  private readonly subscriptionHost = new Map<number, string>();
  private pending: Array<{ delivery: ClaimedDelivery; result: AttemptResult }> = [];
  private flushing: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(private readonly opts: DispatcherOptions) {}

  get active(): number {
    return this.inFlight;
  }

  async start(): Promise<void> {
    if (this.opts.exclusive) await this.opts.outbox.releaseLeases();
    this.running = true;
    this.loop = this.run();
  }

  /** New work may be due: claim now instead of at the next poll. */
  nudge(): void {
    this.wake?.();
  }

  /**
   * Takes deliveries straight from the intake, without looking for them in the store: as many
   * as there is room for, on hosts with a free slot. The rest wait for the next claim.
   */
  async offer(ready: ClaimedDelivery[]): Promise<void> {
    const { config, outbox, logger } = this.opts;
    if (!this.running || ready.length === 0) return;
    const room = config.deliveryConcurrency - this.inFlight;
    const planned = new Map<string, number>();
    const take: ClaimedDelivery[] = [];
    for (const d of ready) {
      if (take.length >= room) break;
      const host = hostOf(d.url);
      const load = (this.hosts.get(host)?.sending ?? 0) + (planned.get(host) ?? 0);
      if (load >= config.deliveryPerHostConcurrency) continue;
      planned.set(host, (planned.get(host) ?? 0) + 1);
      take.push(d);
    }
    if (take.length < ready.length) this.nudge();
    if (take.length === 0) return;
    try {
      const now = Date.now();
      const leased = await outbox.lease(
        this.owner,
        take.map((d) => d.seq),
        now + config.deliveryLeaseSeconds * 1000,
        now,
      );
      for (const d of take) if (leased.has(d.seq)) this.schedule(d);
    } catch (err) {
      logger.warn({ err }, 'leasing fresh deliveries failed; the next claim takes them');
      this.nudge();
    }
  }

  /** Stops claiming, lets attempts under way finish and be recorded, and hands back leases. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    while (this.inFlight + this.waiting > 0 || this.pending.length > 0 || this.flushing) {
      await this.flush();
      if (this.inFlight + this.waiting > 0) await new Promise((r) => setTimeout(r, 10));
    }
    await this.opts.outbox.releaseLeases(this.owner);
  }

  private async run(): Promise<void> {
    const { config, logger } = this.opts;
    while (this.running) {
      let claimed = 0;
      const lastClaim = Date.now();
      const room = config.deliveryConcurrency - this.inFlight;
      if (room > 0) {
        try {
          claimed = await this.claim(Math.min(room, config.deliveryBatchSize));
        } catch (err) {
          // The store is away (PostgreSQL restarting): nothing is lost, try again shortly.
          logger.warn({ err }, 'claiming deliveries failed; retrying');
          await this.sleep(1000);
          continue;
        }
      }
      if (claimed >= 50 && this.inFlight < config.deliveryConcurrency) continue;
      await this.sleep(config.deliveryPollMs);
      // A claim scans the open deliveries. After one that came back short, let completions
      // gather for a moment rather than scanning once per finished attempt. Fresh deliveries do
      // not wait for this: the intake hands them over directly (offer).
      const gap = lastClaim + 25 - Date.now();
      if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    }
  }

  private async claim(limit: number): Promise<number> {
    const { outbox, config } = this.opts;
    const now = Date.now();
    // Each host keeps a small buffer of claimed deliveries behind its slots; a host whose buffer
    // is full is left out of the claim, so a dead receiver holds at most that many.
    const full = 4 * config.deliveryPerHostConcurrency;
    const saturated = [...this.subscriptionHost]
      .filter(([, host]) => {
        const h = this.hosts.get(host);
        return h !== undefined && h.sending + h.queue.length >= full;
      })
      .map(([sub]) => sub);
    const batch = await outbox.claim(
      this.owner,
      now,
      now + config.deliveryLeaseSeconds * 1000,
      limit,
      saturated,
    );
    for (const d of batch) this.schedule(d);
    return batch.length;
  }

  /**
   * Starts a claimed delivery now if its host has a free slot, or queues it behind that host's
   * attempts. Only attempts that are sending count against the global cap, so deliveries
   * waiting for one slow host never hold back the others.
   */
  private schedule(d: ClaimedDelivery): void {
    const host = hostOf(d.url);
    this.subscriptionHost.set(d.subscriptionId, host);
    let h = this.hosts.get(host);
    if (!h) {
      h = { sending: 0, queue: [] };
      this.hosts.set(host, h);
    }
    const slot = h;
    const begin = () => {
      slot.sending++;
      this.inFlight++;
      void this.attempt(d, host);
    };
    if (slot.sending < this.opts.config.deliveryPerHostConcurrency) {
      begin();
    } else {
      this.waiting++;
      slot.queue.push(() => {
        this.waiting--;
        begin();
      });
    }
  }

  private release(host: string): void {
    const h = this.hosts.get(host);
    if (!h) return;
    h.sending--;
    const next = h.queue.shift();
    if (next) next();
    else if (h.sending === 0) this.hosts.delete(host);
  }

  private async attempt(d: ClaimedDelivery, host: string): Promise<void> {
    const { sender, config, metrics } = this.opts;
    let result: AttemptResult;
    try {
      const now = Date.now();
      const sent = await sender.send(d, now);
      const { attempt } = sent;
      metrics.attempts.inc({ outcome: attempt.outcome });
      metrics.attemptSeconds.observe(attempt.latencyMs / 1000);
      const attempts = d.attempts + 1;
      if (attempt.outcome === 'success') {
        result = { kind: 'succeeded', attempt };
        metrics.endToEndSeconds.observe((Date.now() - d.createdAt) / 1000);
      } else if (sent.gone) {
        result = { kind: 'disable', attempt, reason: 'the receiver answered 410 Gone' };
      } else if (
        d.failingSince !== null &&
        now - d.failingSince >= config.disableAfterFailingSeconds * 1000
      ) {
        const days = Math.round(((now - d.failingSince) / 86_400_000) * 10) / 10;
        result = { kind: 'disable', attempt, reason: `failing continuously for ${days} days` };
      } else {
        const delay = nextDelayMs(attempts, config.retrySchedule, config.retryJitter, sent.retryAfterSeconds);
        result =
          delay === null
            ? { kind: 'failed', attempt }
            : { kind: 'retry', attempt, nextAttemptAt: now + delay };
      }
    } catch (err) {
      // Sending never throws by design; if it does, try again later rather than lose the delivery.
      this.opts.logger.error({ err, delivery: d.id }, 'delivery attempt crashed');
      result = {
        kind: 'retry',
        attempt: {
          attemptedAt: Date.now(),
          outcome: 'connection_error',
          statusCode: null,
          latencyMs: 0,
          error: String(err),
          responseBody: null,
        },
        nextAttemptAt: Date.now() + 5000,
      };
    }
    this.release(host);
    this.inFlight--;
    if (!this.hosts.has(host)) this.subscriptionHost.delete(d.subscriptionId);
    this.pending.push({ delivery: d, result });
    // Once recorded, the next event of this call becomes claimable: look for it.
    void this.flush().finally(() => this.nudge());
  }

  /** Writes collected results; concurrent callers wait for the write that covers theirs. */
  private async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = (async () => {
      for (;;) {
        try {
          await this.opts.outbox.complete(this.owner, batch);
          return;
        } catch (err) {
          // Results must not be lost: keep them and write again once the store is back.
          this.opts.logger.warn({ err, results: batch.length }, 'recording attempts failed; retrying');
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
