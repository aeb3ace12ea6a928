import { randomUUID } from 'node:crypto';
import Denque from 'denque';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { AttemptResult, ClaimedDelivery, IngestLease, OutboxStore } from '../store/index.js';
import { hostOf, hostVerdict } from './host.js';
import { outcomeLine } from './outcome.js';
import { HostRamp, type RampHandle, rampShares } from './ramp.js';
import { nextDelayMs } from './schedule.js';
import type { SendPort } from './send-threads.js';

/** How long attempt results may gather before they are written together. */
const FLUSH_MS = 5;
/** The first wait before a held host is probed; it doubles up to `breakerMaxSeconds`. */
const FIRST_PROBE_MS = 1000;
/**
 * A held host's backlog is pushed this many longest waits ahead (10 minutes by default), past
 * its probes, and brought back when it answers; should this instance stop meanwhile, it comes
 * due by itself then.
 */
const PUSH_WAITS = 20;
/**
 * The intake may lease a host what it answered in this long, lately, where that is more than the
 * host's cap (see `intakeCap`); at most this many times the cap.
 */
const INTAKE_AHEAD_MS = 250;
const INTAKE_CAP_TIMES = 4;
/** How often a host's answer rate is taken (attempts answered over the last window). */
const RATE_WINDOW_MS = 250;

/**
 * A receiving host that stopped answering. After `breakerFailures` unreachable attempts in a
 * row its deliveries are held (none is attempted, each stays due at `until`) and one attempt at a
 * time probes it: an answer of any kind lets the rest go, another failure holds them longer.
 */
interface Breaker {
  /** Unreachable attempts in a row. */
  failures: number;
  /** While held: no attempt before this time (ms); 0 while the host is only counted. */
  until: number;
  /** The current wait between probes. */
  waitMs: number;
  /** The delivery (seq) probing the host now: nothing else of it goes until that is answered. */
  probe: number | null;
  /** When its last unreachable attempt ended (ms). */
  last: number;
  /** While held: its backlog is due at this time at the latest (pushed past the probes). */
  pushedTo: number;
}

export interface DispatcherOptions {
  outbox: OutboxStore;
  sender: SendPort;
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
  /**
   * Claimed (or offered) and not yet recorded, by seq: never taken twice, even if a lease ran out.
   * With each, when its lease ends as far as this instance knows (`renewLeases` moves it on).
   */
  private readonly held = new Map<number, number>();
  private renewTimer: NodeJS.Timeout | null = null;
  /** A renewal of leases under way (stop waits for it before it hands the leases back). */
  private renewing: Promise<void> | null = null;
  /** Per receiving host: attempts sending, and claimed deliveries waiting for a slot. */
  // A deque: taking from the front of an array copies the rest once it is large (a host may hold
  // 4 × CALLHOOK_DELIVERY_PER_HOST or CALLHOOK_DELIVERY_BATCH, up to 40,000; a fast one, from the
  // intake, 4 times that: see intakeCap).
  private readonly hosts = new Map<string, { sending: number; queue: Denque<ClaimedDelivery> }>();
  /** Which host each subscription with work here sends to, to leave saturated hosts unclaimed. */
  private readonly subscriptionHost = new Map<number, string>();
  /** Hosts whose attempts fail unreachable, counted and, past the threshold, held. */
  private readonly breakers = new Map<string, Breaker>();
  /** Held deliveries being handed back to the store (stop waits for these). */
  private readonly parking = new Set<Promise<void>>();
  private pending: Array<{ delivery: ClaimedDelivery; result: AttemptResult }> = [];
  private flushing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  /** When the last claim began (performance.now(): a wall-clock step must not stall the loop). */
  private lastClaimAt = Number.NEGATIVE_INFINITY;
  /** Something outside the saturated hosts may have become due: the next claim must not wait. */
  private claimWanted = false;
  /**
   * Hosts that had room when results were recorded or their queue ran low: a claim is wanted for
   * them while they still have room. By the next turn a claim may have filled them again, and a
   * claim then would leave them out and find nothing (half the claims of a PostgreSQL run did).
   */
  private readonly roomOn = new Set<string>();
  /** Hosts the last claim left out, full or held: room on one of them ends the wait after it. */
  private leftOut = new Set<string>();
  /**
   * Per host with attempts answered lately: the count in the window under way, when it began, the
   * rate the last full window gave (attempts per second), and when the last answer came.
   */
  private readonly answered = new Map<
    string,
    { n: number; since: number; perSecond: number; last: number }
  >();
  /** While the loop waits after a short claim: ends that wait now. */
  private endGap: (() => void) | null = null;

  /**
   * The caps on attempts handed to the sender, global and per host: the configured ones times
   * the sender's depth (a sending thread queues what it takes and keeps the configured caps on
   * what it sends; see ThreadedSender).
   */
  private readonly slots: number;
  private readonly hostSlots: number;
  /** What each host may have handed to the sender now: its slots once it answers (see HostRamp). */
  private readonly ramp: HostRamp;
  /**
   * A host holds at most this many claimed deliveries: a dead receiver holds no more (the intake
   * may lease one that answers fast more, see `intakeCap`). Counted
   * from the configured cap, not from what a sending thread is handed: every one of them waits
   * for one of the host's configured slots, within its lease, here or in the thread's queue.
   */
  private readonly hostCap: number;
  /**
   * A host's claimed queue this short asks for the next claim now: claimed when the first results
   * are recorded instead, the next batch came once the queue had run dry (a claim on PostgreSQL
   * takes 6-8 ms, and 16 in flight empty 200 in about 13). Half of what the queue can hold: with
   * a sending thread, the host's hand-off beyond its configured cap (queued in the thread) is
   * taken from the claimed total first (at half the total, the queue here would never get so
   * short: it holds 72 of 200 at most).
   */
  private readonly lowWater: number;

  constructor(private readonly opts: DispatcherOptions) {
    const { deliveryConcurrency, deliveryPerHostConcurrency, deliveryBatchSize } = opts.config;
    const depth = opts.sender.depth ?? 1;
    this.slots = deliveryConcurrency * depth;
    this.hostSlots = deliveryPerHostConcurrency * depth;
    this.hostCap = Math.max(4 * deliveryPerHostConcurrency, deliveryBatchSize, this.hostSlots);
    this.lowWater = Math.floor((this.hostCap - (this.hostSlots - deliveryPerHostConcurrency)) / 2);
    // A host that has not answered lately has one request's worth (and the sender's depth).
    this.ramp = new HostRamp({
      cap: this.hostSlots,
      first: depth,
      ...rampShares(this.slots, depth),
      onFree: () => this.pump(),
    });
  }

  get active(): number {
    return this.inFlight;
  }

  /** Of `active`, the attempts whose host has not answered for a second (ramp: `stuck`). */
  get unanswered(): number {
    return this.ramp.stuckCount;
  }

  /** Receiving hosts held back now (their circuit is open), for metrics and tests. */
  get heldHosts(): string[] {
    return [...this.breakers].filter(([, b]) => b.until > 0).map(([host]) => host);
  }

  async start(): Promise<void> {
    if (this.opts.exclusive) await this.opts.outbox.releaseLeases();
    this.running = true;
    this.loop = this.run();
    const leaseMs = this.opts.config.deliveryLeaseSeconds * 1000;
    this.renewTimer = setInterval(() => void this.renewLeases(), leaseMs / 3);
    this.renewTimer.unref();
  }

  /**
   * Moves on the leases of what this instance holds and has not recorded yet, once a third of
   * a lease has passed since they were taken or last moved: what waits in a host's queue (here or
   * in a sending thread's) behind a receiver that has slowed down keeps its lease. Otherwise it
   * would come due in the store while still queued here, and another instance could claim and
   * send it too, and the next event of its call with it.
   */
  private async renewLeases(): Promise<void> {
    if (this.renewing) return;
    const leaseMs = this.opts.config.deliveryLeaseSeconds * 1000;
    const now = Date.now();
    const due: number[] = [];
    for (const [seq, ends] of this.held) if (ends - now < (2 * leaseMs) / 3) due.push(seq);
    if (due.length === 0) return;
    const until = now + leaseMs;
    this.renewing = this.opts.outbox
      .renewLeases(this.owner, until, due)
      .then(
        () => {
          for (const seq of due) if (this.held.has(seq)) this.held.set(seq, until);
        },
        (err: unknown) => {
          this.opts.logger.warn(
            { err, deliveries: due.length },
            'renewing leases failed; trying again shortly',
          );
        },
      )
      .finally(() => {
        this.renewing = null;
      });
    await this.renewing;
  }

  /** New work may be due (intake, retry or recover through the API): claim now, not at the next poll. */
  nudge(): void {
    this.claimWanted = true;
    this.wake?.();
  }

  /**
   * How the intake may lease fresh deliveries to this dispatcher in its own transaction: those
   * whose host has room here (counting the ones taken in the same intake), while it runs.
   */
  leaseForIntake(now = Date.now()): IngestLease | undefined {
    if (!this.running) return undefined;
    // Per host, what this intake may still lease it: taken once, as the intake asks for all of
    // its deliveries in one go (the host's load does not change meanwhile).
    const room = new Map<string, number>();
    return {
      owner: this.owner,
      until: now + this.opts.config.deliveryLeaseSeconds * 1000,
      accept: (url) => {
        const host = hostOf(url);
        let left = room.get(host);
        if (left === undefined)
          left = this.hostHeld(host, now) ? 0 : this.intakeCap(host) - this.hostLoad(host);
        room.set(host, Math.max(left - 1, 0));
        return left > 0;
      },
      heldUntil: (url) => {
        // Asked for every new delivery: with no host held (the usual case), no URL is parsed.
        if (this.breakers.size === 0) return undefined;
        const b = this.breakers.get(hostOf(url));
        return b !== undefined && b.until > now ? b.until : undefined;
      },
    };
  }

  /** Sends deliveries the intake stored leased to this dispatcher (see `leaseForIntake`). */
  take(leased: ClaimedDelivery[]): void {
    if (this.running) {
      this.opts.metrics.taken.inc({ by: 'intake' }, leased.length);
      for (const d of leased) this.schedule(d);
      return;
    }
    // Stopped meanwhile (an intake that committed during shutdown): hand these back now rather
    // than leave them to wait for their lease to run out.
    const seqs = leased.map((d) => d.seq);
    this.opts.outbox.releaseLeases(this.owner, Date.now(), seqs).catch((err: unknown) => {
      this.opts.logger.warn({ err }, 'releasing leases after stop failed; they come due when the leases end');
    });
  }

  /** Stops claiming, lets attempts under way finish and be recorded, and hands back leases. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    // Deliveries still waiting for a slot are let go, here and in a sending thread's queue;
    // their leases are released below.
    this.opts.sender.withdraw?.();
    for (const h of this.hosts.values()) {
      for (const d of h.queue.toArray()) this.held.delete(d.seq);
      h.queue.clear();
    }
    while (this.inFlight > 0 || this.pending.length > 0 || this.flushing || this.parking.size > 0) {
      await this.flush();
      await Promise.all(this.parking);
      if (this.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    }
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    await this.renewing;
    await this.opts.outbox.releaseLeases(this.owner);
  }

  private async run(): Promise<void> {
    const { config, logger } = this.opts;
    while (this.running) {
      let claimed = 0;
      /** Whether this turn claimed: only a claim that came back short makes the next one wait. */
      let asked = false;
      const lastClaim = performance.now();
      // Claim while the deliveries ready to start (hosts with a free slot) would not keep every
      // global slot busy; deliveries queued behind a saturated host do not count. While every
      // host with work here is full and nothing else asked for a claim (a nudge from outside, or
      // a recorded attempt on a host with room, whose call may have a next event), a claim could
      // only find retries come due, which the poll interval covers: with one receiver far behind,
      // claiming after each of its completions was a large share of the work and found nothing.
      const saturated = this.hosts.size > 0 && [...this.hosts.keys()].every((h) => this.hostFull(h));
      if (
        this.readyBacklog() < this.slots &&
        !(saturated && !this.wanted() && lastClaim - this.lastClaimAt < config.deliveryPollMs)
      ) {
        this.lastClaimAt = lastClaim;
        this.claimWanted = false;
        this.roomOn.clear();
        asked = true;
        try {
          claimed = await this.claim(config.deliveryBatchSize);
        } catch (err) {
          // The store is away (PostgreSQL restarting): nothing is lost, try again shortly.
          logger.warn({ err }, 'claiming deliveries failed; retrying');
          this.claimWanted = true;
          await this.sleep(1000);
          continue;
        }
      }
      if (claimed >= config.deliveryBatchSize / 2) continue;
      await this.sleep(config.deliveryPollMs);
      // A claim scans the open deliveries. After one that came back short, let completions
      // gather for a moment rather than scanning once per finished attempt. Fresh deliveries do
      // not wait for this: the intake stores them leased to this dispatcher (take). A turn that
      // did not claim (every host with work here full) waits for nothing more than the sleep:
      // waiting out the gap then let a host's queue run dry before the next claim, half of a
      // backlog's drain spent with no request in flight (`bench:delivery`, 9,200 events/s).
      // A claim that came back short because it left a full host out says nothing of that host's
      // work: room on it (a recorded batch, see flush, or its queue running low) ends the wait;
      // otherwise a claim asked for meanwhile (a nudge) let the host's queue run dry here too
      // (bench:delivery --store postgres).
      const gap = lastClaim + 20 - performance.now();
      if (asked && gap > 0) await this.pause(gap);
    }
  }

  /**
   * `host` has room (its results were recorded, or its queue runs low): a claim is wanted for it,
   * and should the last claim have left it out, the pause after that claim ends.
   */
  private roomFor(host: string): void {
    this.roomOn.add(host);
    if (this.leftOut.has(host) && !this.hostHeld(host)) this.endGap?.();
  }

  /** Whether a claim is asked for: from outside, or for a host that still has room. */
  private wanted(): boolean {
    if (this.claimWanted) return true;
    for (const host of this.roomOn) if (!this.hostFull(host) && !this.hostHeld(host)) return true;
    return false;
  }

  private hostLoad(host: string): number {
    const h = this.hosts.get(host);
    return h === undefined ? 0 : h.sending + h.queue.length;
  }

  /**
   * What the intake may lease a host, queued and sending: its cap, or what it answered in the
   * last `INTAKE_AHEAD_MS` if more (up to `INTAKE_CAP_TIMES` the cap), while it answers. A
   * delivery the intake leases is handed over with the commit; one it leaves unleased for a full
   * host must be claimed, which costs the store a lease written per delivery and this process a
   * claim: with the intake outpacing the sending (`bench:delivery --store postgres`), a third of
   * the deliveries went that way. A fast host drains the longer queue in that time; a slow or
   * silent one keeps the cap it always had.
   */
  private intakeCap(host: string): number {
    const a = this.answered.get(host);
    // A host that has not answered for a window (it stopped, or slowed down) has its cap: its
    // next answer closes the window under way with the rate it answers at now.
    if (a === undefined || performance.now() - a.last > RATE_WINDOW_MS) return this.hostCap;
    const ahead = Math.floor((a.perSecond * INTAKE_AHEAD_MS) / 1000);
    return Math.min(Math.max(this.hostCap, ahead), INTAKE_CAP_TIMES * this.hostCap);
  }

  /** Counts an answered attempt towards its host's rate (`intakeCap`). */
  private countAnswered(host: string): void {
    const now = performance.now();
    const a = this.answered.get(host);
    if (a === undefined) {
      this.answered.set(host, { n: 1, since: now, perSecond: 0, last: now });
      return;
    }
    a.n++;
    a.last = now;
    if (now - a.since >= RATE_WINDOW_MS) {
      a.perSecond = (a.n * 1000) / (now - a.since);
      a.n = 0;
      a.since = now;
    }
  }

  private hostFull(host: string): boolean {
    return this.hostLoad(host) >= this.hostCap;
  }

  private readyBacklog(): number {
    let n = 0;
    const now = Date.now();
    for (const [host, h] of this.hosts) {
      if (this.ramp.allows(host, h.sending) && !this.hostHeld(host, now)) n += h.queue.length;
    }
    return n;
  }

  private async claim(limit: number): Promise<number> {
    const { outbox, config } = this.opts;
    const now = Date.now();
    this.prune(now);
    const leftOut = new Set<string>();
    const full = [...this.subscriptionHost]
      .filter(([, host]) => {
        const out = this.hostFull(host) || this.hostHeld(host, now);
        if (out) leftOut.add(host);
        return out;
      })
      .map(([sub]) => sub);
    this.leftOut = leftOut;
    const batch = await outbox.claim(this.owner, now, now + config.deliveryLeaseSeconds * 1000, limit, full);
    this.opts.metrics.claims.inc({ found: batch.length > 0 ? 'some' : 'none' });
    if (batch.length > 0) this.opts.metrics.taken.inc({ by: 'claim' }, batch.length);
    for (const d of batch) this.schedule(d);
    return batch.length;
  }

  /**
   * Forgets hosts that have had nothing to try for a whole longest wait: failures counted long
   * ago, or a hold whose wait ended with nothing of the host left to probe (its subscriptions
   * deleted, disabled, or taken by another instance). Should work for one come back, it is
   * tried and counted afresh.
   */
  private prune(now: number): void {
    const stale = now - this.opts.config.breakerMaxSeconds * 1000;
    // A host's rate is kept while it has work here or answered within the last window.
    const recent = performance.now() - RATE_WINDOW_MS;
    for (const [host, a] of this.answered)
      if (a.last < recent && !this.hosts.has(host)) this.answered.delete(host);
    this.ramp.prune(now);
    for (const [host, b] of this.breakers) {
      if (b.probe !== null || this.hosts.has(host)) continue;
      if ((b.until > 0 ? b.until : b.last) >= stale) continue;
      this.breakers.delete(host);
      for (const [sub, to] of this.subscriptionHost) if (to === host) this.subscriptionHost.delete(sub);
    }
  }

  /** A held host takes nothing now: its wait is not over, or its probe is not answered yet. */
  private hostHeld(host: string, now = Date.now()): boolean {
    const b = this.breakers.get(host);
    return b !== undefined && b.until > 0 && (b.probe !== null || b.until > now);
  }

  /** Queues a delivery behind its host and starts what the host and global caps allow. */
  private schedule(d: ClaimedDelivery): void {
    if (this.held.has(d.seq)) return;
    // Its lease's end as stored: a lease moves the due time with it (see `OutboxStore.claim`),
    // whether the claim or the intake took it. One queued again after a renewal keeps the earlier
    // end here, and is renewed sooner than it needs, never later.
    this.held.set(d.seq, d.nextAttemptAt);
    const host = hostOf(d.url);
    this.subscriptionHost.set(d.subscriptionId, host);
    const b = this.breakers.get(host);
    if (b !== undefined && b.until > Date.now()) {
      // Held (taken from an intake that committed just before the host was held): due again
      // when the host may be tried.
      this.park([d], b.until);
      return;
    }
    let h = this.hosts.get(host);
    if (!h) {
      h = { sending: 0, queue: new Denque() };
      this.hosts.set(host, h);
    }
    h.queue.push(d);
    // Only this host's queue changed: if it may not start one now, no other host may either (a
    // pump leaves none that may; a prune that forgets a host is the exception, and that host's
    // attempts under way pump as they end), and an intake's thousands of deliveries for hosts
    // that have not answered yet would each scan every host.
    if (this.ramp.allows(host, h.sending)) this.pump();
  }

  /**
   * Starts waiting deliveries while global slots are free, each host up to what it may have under
   * way (`ramp`), so deliveries waiting for one slow host never hold back the others. The hosts
   * take turns: one that starts an attempt goes to the back of the line (the loop comes to it
   * again after the others). Taken from the front each time, every slot a fast host freed went
   * to the first hosts in the map, and a few that never answer ended up with all of them.
   */
  private pump(): void {
    // Attempts without an answer for SLOW_MS (ramp: `stuck`) are under way without counting.
    const slots = this.slots + this.ramp.stuckCount;
    if (this.inFlight >= slots) return;
    for (const [host, h] of this.hosts) {
      if (this.inFlight >= slots) break;
      if (!this.ramp.allows(host, h.sending)) continue;
      // A held host sends one probe at a time, and nothing before its wait is over.
      const b = this.breakers.get(host);
      if (b !== undefined && b.until > 0) {
        if (b.probe !== null || b.until > Date.now() || h.queue.length === 0) continue;
      }
      const d = h.queue.shift();
      if (!d) continue;
      if (h.queue.length === this.lowWater) {
        this.roomFor(host);
        this.wake?.();
      }
      if (b !== undefined && b.until > 0) b.probe = d.seq;
      h.sending++;
      this.inFlight++;
      this.hosts.delete(host);
      this.hosts.set(host, h);
      void this.attempt(d, host, this.ramp.began(host));
    }
  }

  /** An attempt is over (or was withdrawn): its slots are free. */
  private release(host: string, ramped: RampHandle): void {
    this.ramp.ended(ramped);
    const h = this.hosts.get(host);
    if (h) {
      h.sending--;
      if (h.sending === 0 && h.queue.length === 0) this.hosts.delete(host);
    }
    this.inFlight--;
    this.pump();
  }

  /**
   * Counts an attempt's outcome against its host. Unreachable `breakerFailures` times in a row,
   * the host is held: its queued deliveries go back to the store due after the wait, and none is
   * attempted but one probe per wait. Any answer (an HTTP status of any kind) lets it go.
   */
  private observe(host: string, seq: number, outcome: string): void {
    const { breakerFailures, breakerMaxSeconds } = this.opts.config;
    if (breakerFailures === 0) return;
    let b = this.breakers.get(host);
    const probe = b !== undefined && b.probe === seq;
    if (b !== undefined && probe) b.probe = null;
    // An outcome that says nothing of the host (it never reached it) leaves the next delivery to
    // probe it.
    const verdict = hostVerdict(outcome);
    if (verdict === undefined) return;
    if (verdict === 'answered') {
      if (b === undefined) return;
      this.breakers.delete(host);
      if (b.until > 0) {
        this.opts.logger.info({ host }, `receiving host ${host} answers again: its deliveries go on`);
        this.move('forward', this.subscriptionsOf(host), b.pushedTo);
        this.claimWanted = true;
        this.wake?.();
      }
      return;
    }
    if (b === undefined) {
      b = {
        failures: 0,
        until: 0,
        waitMs: Math.min(FIRST_PROBE_MS, breakerMaxSeconds * 1000),
        probe: null,
        last: 0,
        pushedTo: 0,
      };
      this.breakers.set(host, b);
    }
    b.failures++;
    b.last = Date.now();
    if (b.until > 0) {
      // Held already: a failed probe doubles the wait; an attempt that began before the host was
      // held changes nothing.
      if (!probe) return;
      b.waitMs = Math.min(b.waitMs * 2, breakerMaxSeconds * 1000);
    } else if (b.failures < breakerFailures) return;
    b.until = Date.now() + b.waitMs;
    this.opts.logger.warn(
      { host, failures: b.failures, retryInMs: b.waitMs },
      `receiving host ${host} does not answer (${b.failures} attempts in a row): its deliveries wait, one probe in ${b.waitMs / 1000} s`,
    );
    // Every subscription of the host is failing, not only the one whose delivery was tried, so
    // that failing for too long disables each of them (their deliveries are not attempted now).
    const subs = this.subscriptionsOf(host);
    this.opts.outbox.markFailing(subs).catch((err: unknown) => {
      this.opts.logger.warn({ err }, 'marking the subscriptions of a held host failing failed');
    });
    // What a sending thread holds for it and has not begun comes back (to attempt) and is parked.
    this.opts.sender.withdraw?.(host);
    const h = this.hosts.get(host);
    if (h && h.queue.length > 0) {
      const waiting = h.queue.toArray();
      h.queue.clear();
      if (h.sending === 0) this.hosts.delete(host);
      this.park(waiting, b.until);
    }
    // What is due of its backlog now goes past the probes: claims would step over it all the
    // while. The deliveries just handed back, and the intake's new ones, stay due at the end of
    // the wait: they are what probes the host.
    b.pushedTo = Math.max(b.pushedTo, Date.now() + PUSH_WAITS * breakerMaxSeconds * 1000);
    this.move('defer', subs, b.pushedTo);
    // The dispatcher must look again when the wait is over, even with nothing else to do.
    setTimeout(() => {
      this.claimWanted = true;
      this.wake?.();
    }, b.waitMs + 5).unref();
  }

  private subscriptionsOf(host: string): number[] {
    return [...this.subscriptionHost].filter(([, to]) => to === host).map(([sub]) => sub);
  }

  /**
   * `defer`: moves the held host's deliveries that are due now (stored before it was held, or
   * come due since) to `time`, past its probes. Claims leave a held host out, but they would
   * still step over every one of them, again and again: with a large backlog for a dead receiver
   * that was most of every claim's work. `forward`: once it answers, brings what was pushed (due
   * up to `time`) back to now. A chunk at a time, letting the rest go on between chunks.
   */
  private move(kind: 'defer' | 'forward', subscriptionIds: number[], time: number): void {
    const CHUNK = 2000;
    const { outbox } = this.opts;
    const p = (async () => {
      try {
        while (this.running) {
          const moved =
            kind === 'defer'
              ? await outbox.deferDue(subscriptionIds, time, CHUNK)
              : await outbox.bringForward(subscriptionIds, time, CHUNK);
          if (kind === 'forward' && moved > 0) {
            this.claimWanted = true;
            this.wake?.();
          }
          if (moved < CHUNK) return;
          await new Promise((r) => setImmediate(r));
        }
      } catch (err) {
        // Nothing is lost: what was pushed comes due by itself at `time` at the latest.
        this.opts.logger.warn({ err, kind }, "moving a held host's deliveries failed");
      }
    })().finally(() => this.parking.delete(p));
    this.parking.add(p);
  }

  /** Hands held deliveries back to the store, due at `until`, so that nothing waits here. */
  private park(deliveries: ClaimedDelivery[], until: number): void {
    const seqs = deliveries.map((d) => d.seq);
    const p = this.opts.outbox
      .releaseLeases(this.owner, until, seqs)
      .then(
        () => undefined,
        (err: unknown) => {
          this.opts.logger.warn(
            { err },
            'handing back held deliveries failed; they come due when their leases end',
          );
        },
      )
      .finally(() => {
        for (const s of seqs) this.held.delete(s);
        this.parking.delete(p);
      });
    this.parking.add(p);
  }

  /** `ramped`: what `ramp.began` gave for it. */
  private async attempt(d: ClaimedDelivery, host: string, ramped: RampHandle): Promise<void> {
    const { sender, config, metrics } = this.opts;
    let result: AttemptResult;
    /** The attempt itself failed (not the receiver): it says nothing of the host. */
    let crashed = false;
    try {
      const now = Date.now();
      const sent = await sender.send(d, now);
      if (sent === undefined) {
        this.withdrawn(d, host, ramped);
        return;
      }
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
        // The wait counts from the answer, not from when the attempt began: a Retry-After of 1 s
        // from a receiver that took 0.8 s to say it must not bring the retry 0.2 s later.
        result =
          delay === null
            ? { kind: 'failed', attempt }
            : { kind: 'retry', attempt, nextAttemptAt: Date.now() + delay };
      }
    } catch (err) {
      // Sending never throws by design; if it does, try again later rather than lose the delivery.
      this.opts.logger.error({ err, delivery: d.id }, 'delivery attempt crashed');
      crashed = true;
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
    // Demo mode: each outcome as one line where the newcomer is looking (the server's terminal).
    if (config.demo) {
      const { level, line } = outcomeLine(d, result);
      this.opts.logger[level](
        { delivery: d.id, subscription: d.subscriptionId, outcome: result.attempt.outcome },
        line,
      );
    }
    const outcome = crashed ? 'crashed' : result.attempt.outcome;
    this.observe(host, d.seq, outcome);
    const verdict = hostVerdict(outcome);
    if (verdict === 'answered') this.countAnswered(host);
    this.ramp.observe(host, verdict);
    this.release(host, ramped);
    // A held host's subscriptions stay known, so that claims leave them out while it is held.
    if (!this.hosts.has(host) && !(this.breakers.get(host)?.until ?? 0)) {
      this.subscriptionHost.delete(d.subscriptionId);
    }
    this.pending.push({ delivery: d, result });
    // Results are written in groups: a commit per attempt was most of the cost of a delivery.
    // A group goes when it is big, or after a few milliseconds, whichever comes first.
    if (this.pending.length >= 100) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /**
   * An attempt the sender gave back before it began (its host was held, or this dispatcher is
   * stopping): nothing was sent, nothing is recorded. While the host is held it is parked until
   * the host may be tried; when stopping, its lease is released with the rest.
   */
  private withdrawn(d: ClaimedDelivery, host: string, ramped: RampHandle): void {
    this.release(host, ramped);
    const until = this.breakers.get(host)?.until ?? 0;
    if (this.running && until > 0) this.park([d], until);
    else {
      this.held.delete(d.seq);
      // It answered again meanwhile: queued again, as it was.
      if (this.running) this.schedule(d);
    }
  }

  /** Writes collected results; concurrent callers wait for the write that covers theirs. */
  private async flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
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
    // Recorded: these may be claimed again (retries), and the next events of their calls are
    // now claimable. Those on a host with room want a claim now; a saturated host's do not.
    for (const { delivery } of batch) {
      this.held.delete(delivery.seq);
      const host = hostOf(delivery.url);
      if (!this.hostFull(host)) this.roomFor(host);
    }
    this.wake?.();
  }

  /** Waits `ms`, or less if `endGap` is called meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.endGap = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.endGap = done;
    });
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
