/**
 * How many attempts each receiving host may have under way, kept where attempts start (the
 * dispatcher, and each sending thread for its hosts).
 *
 * A host is given its full cap only once it answers. One that has not answered lately (new, gone
 * quiet, or unreachable since) has `first` at a time, and all such hosts together have at most
 * `unprovenCap` (half of the cap in all: `rampShares`). Each answer doubles the host's
 * allowance, up to `cap` (a healthy host is at its cap after four answers); an unreachable attempt
 * (refused, reset, timed out) takes it back to `first`. Without this, a receiver that accepts
 * connections and never answers kept every slot a healthy one freed: with 20 such hosts among
 * 200, each took up to its cap of 16, the 64 slots were all held to the 15 s timeout, and the
 * healthy hosts got a twentieth of their rate (`bench:isolation --endpoints 200 --events 200`).
 *
 * Were that all, as many hanging hosts as the unproven share would hold it to their timeout, and
 * a new host (every host, after a restart) would wait that long for its first attempt; a new
 * host's other endpoints would wait behind its first request if that one hung. So an unproven
 * attempt that has had no answer for `SLOW_MS` stops counting (`stuck`): in the unproven share, in
 * the requests under way, and in its host's `first`. From then on, while any attempt of that host
 * is stuck, its new attempts do not count either, up to the host's cap: a host that never answers
 * holds its cap of sockets to its timeout (where the breaker counts them), but no slot of the
 * others, even where the unproven share is the whole cap (a cap in all of 1). At most `stuckCap`
 * attempts are stuck at once (the sockets they hold); one that comes to `SLOW_MS` past that waits,
 * counting, for the first stuck one to end.
 *
 * A host that answered may stop answering too, all its cap of attempts under way at once (its
 * database locked, say). A sweep every `TICK_MS`, while any proven host has attempts under way,
 * looks for one that has had attempts under way and no answer for `SLOW_MS`: it is unproven
 * again, and its attempts under way are stuck from then on (as many as `stuckCap` leaves room
 * for; the rest count until they end). Without this, twenty such hosts among 200 held every slot
 * to their timeout (`bench:isolation --endpoints 200 --events 200`, its "answer, then hang" line).
 * The same holds for attempts begun while their host was proven and under way still when it was
 * forgotten (an unreachable attempt, a prune): a host that refuses new connections while the
 * open ones hang is caught too. A healthy host whose every request takes longer than `SLOW_MS`
 * is treated alike: its requests hold sockets, not slots. A proven attempt costs no clock read
 * and no allocation: its handle is its host's entry, which counts the attempts begun under it.
 */
export interface RampOptions {
  /** A host's cap: what it may have under way once it answers, and in all. */
  cap: number;
  /** What a host that has not answered lately may have under way, stuck attempts aside. */
  first: number;
  /** What all hosts that have not answered lately may have under way together. */
  unprovenCap: number;
  /** How many unproven attempts may wait past `SLOW_MS` without counting. */
  stuckCap: number;
  /** Called when an attempt stops counting: its slot may start another. */
  onFree: () => void;
}

/**
 * The shares of a place that starts attempts with `slots` under way in all, and `first` per host
 * that has not answered: such hosts share half of the slots (at least one host's `first`), and up
 * to 16 times the slots may be stuck at once.
 */
export function rampShares(slots: number, first: number): Pick<RampOptions, 'unprovenCap' | 'stuckCap'> {
  return { unprovenCap: Math.max(first, Math.floor(slots / 2)), stuckCap: 16 * slots };
}

/** An unproven attempt without an answer this long stops counting (see HostRamp). */
export const SLOW_MS = 1000;

/**
 * A host that has not answered between two prunes is unproven again (its allowance starts over):
 * after 30 to 60 s. An answer only marks its host (no clock is read per attempt).
 */
const PRUNE_MS = 30_000;

/** How often proven hosts with attempts under way are looked at for one that stopped answering. */
const TICK_MS = 250;
/** Sweeps without an answer that make a proven host hung: at least SLOW_MS, at most TICK_MS more. */
const HUNG_TICKS = SLOW_MS / TICK_MS + 1;

/** An unproven attempt under way. */
export interface RampAttempt {
  host: string;
  stuck: boolean;
  /** Until it turns stuck (none once stuck, or begun stuck). */
  timer: NodeJS.Timeout | undefined;
  ended: boolean;
}

/**
 * A host that answered lately, and the handle of every attempt begun while it was (one entry per
 * time the host is proven: the attempts begun under an entry are made stuck at one sweep).
 */
export class ProvenHost {
  /** Whether it answered since the last prune. */
  seen = true;
  /** Attempts begun under this entry and under way. */
  under = 0;
  /** The sweep count when it last answered, or when `under` last rose from 0. */
  quietSince: number;
  /** Of `under`, how many were made stuck when it stopped answering. */
  hung = 0;

  constructor(
    readonly host: string,
    /** What it may have under way. */
    public limit: number,
    tick: number,
  ) {
    this.quietSince = tick;
  }
}

/** What `began` gives, to hand back to `ended`. */
export type RampHandle = RampAttempt | ProvenHost;

export class HostRamp {
  /** Hosts that answered lately: each one's allowance, and whether it answered since the last prune. */
  private readonly proven = new Map<string, ProvenHost>();
  private prunedAt = Date.now();
  /** Sweeps so far (a clock of TICK_MS steps), and the sweep's timer while one is due. */
  private tick = 0;
  private sweeper: NodeJS.Timeout | undefined;
  /** Entries forgotten (unreachable, pruned) with attempts under way: the sweep still watches them. */
  private readonly retired = new Set<ProvenHost>();
  /** Attempts under way that began while their host was unproven, and are not stuck. */
  private unproven = 0;
  /** Stuck attempts under way, in all and per host. */
  private stuck = 0;
  private readonly stuckOf = new Map<string, number>();
  /** Attempts that came to SLOW_MS while `stuckCap` were stuck, oldest first: each waits for room. */
  private overdue: RampAttempt[] = [];

  constructor(private readonly opts: RampOptions) {}

  /** Whether `host`, with `sending` attempts under way, may begin another now. */
  allows(host: string, sending: number): boolean {
    const p = this.proven.get(host);
    if (p !== undefined) return sending < p.limit;
    if (sending >= this.opts.cap) return false;
    // A host with a stuck attempt: the next one begins stuck, counted nowhere but in its cap.
    if (this.stuckOf.has(host) && this.stuck < this.opts.stuckCap) return true;
    if (this.unproven >= this.opts.unprovenCap) return false;
    return sending - (this.stuckOf.get(host) ?? 0) < this.opts.first;
  }

  /**
   * An attempt for `host` begins (`allows` said it may). Hand what this gives back to `ended`
   * when it is over, whatever the host has become meanwhile.
   */
  began(host: string): RampHandle {
    const p = this.proven.get(host);
    if (p !== undefined) {
      if (p.under++ === 0) p.quietSince = this.tick;
      if (this.sweeper === undefined) this.sweeper = setInterval(() => this.sweep(), TICK_MS).unref();
      return p;
    }
    const a: RampAttempt = { host, stuck: false, timer: undefined, ended: false };
    if (this.stuckOf.has(host) && this.stuck < this.opts.stuckCap) {
      this.stick(a);
      return a;
    }
    this.unproven++;
    a.timer = setTimeout(() => {
      a.timer = undefined;
      if (this.stuck >= this.opts.stuckCap) {
        this.overdue.push(a);
        return;
      }
      this.unproven--;
      this.stick(a);
      this.opts.onFree();
    }, SLOW_MS).unref();
    return a;
  }

  private stick(a: RampAttempt): void {
    a.stuck = true;
    this.stickHost(a.host, 1);
  }

  private stickHost(host: string, n: number): void {
    this.stuck += n;
    this.stuckOf.set(host, (this.stuckOf.get(host) ?? 0) + n);
  }

  /**
   * Proven hosts with attempts under way and no answer for SLOW_MS are unproven again, and what
   * they have under way is stuck (as much of it as `stuckCap` leaves room for). The timer stops
   * while no proven host has anything under way; `began` starts it again.
   */
  private sweep(): void {
    this.tick++;
    let watching = false;
    let freed = false;
    for (const [host, p] of this.proven) {
      if (p.under === 0) continue;
      if (this.tick - p.quietSince < HUNG_TICKS) watching = true;
      else {
        this.proven.delete(host);
        freed = this.hang(p) || freed;
      }
    }
    for (const p of this.retired) {
      if (p.under > 0 && this.tick - p.quietSince < HUNG_TICKS) watching = true;
      else {
        this.retired.delete(p);
        if (p.under > 0) freed = this.hang(p) || freed;
      }
    }
    if (!watching) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
    if (freed) this.opts.onFree();
  }

  /** An entry's attempts under way stop counting, as many as `stuckCap` leaves room for. */
  private hang(p: ProvenHost): boolean {
    const n = Math.min(p.under, this.opts.stuckCap - this.stuck);
    if (n <= 0) return false;
    p.hung = n;
    this.stickHost(p.host, n);
    return true;
  }

  /** An entry leaves `proven`: the sweep goes on watching what it has under way. */
  private retire(p: ProvenHost | undefined): void {
    if (p !== undefined && p.under > 0) this.retired.add(p);
  }

  /** An attempt is over. The caller starts what its slot allows (no `onFree` from here). */
  ended(a: RampHandle): void {
    if (a instanceof ProvenHost) {
      a.under--;
      // Which of a hung entry's attempts were stuck does not matter, only how many are left.
      if (a.hung > 0) {
        a.hung--;
        this.unstick(a.host);
      }
      return;
    }
    a.ended = true;
    clearTimeout(a.timer);
    if (!a.stuck) {
      this.unproven--;
      return;
    }
    this.unstick(a.host);
  }

  private unstick(host: string): void {
    this.stuck--;
    const n = this.stuckOf.get(host)! - 1;
    if (n === 0) this.stuckOf.delete(host);
    else this.stuckOf.set(host, n);
    // Room among the stuck: the oldest overdue attempt still under way takes it.
    while (this.overdue.length > 0) {
      const o = this.overdue.shift()!;
      if (o.ended) continue;
      this.unproven--;
      this.stick(o);
      break;
    }
  }

  /** Attempts under way that do not count against the cap on requests under way. */
  get stuckCount(): number {
    return this.stuck;
  }

  /** What an attempt's outcome said of its host (`hostVerdict`): `answered` or `unreachable` below. */
  observe(host: string, verdict: 'answered' | 'unreachable' | undefined): void {
    if (verdict === 'answered') this.answered(host);
    else if (verdict === 'unreachable') this.unreachable(host);
  }

  /** `host` answered (an HTTP status of any kind): its allowance doubles, up to the cap. */
  answered(host: string): void {
    const p = this.proven.get(host);
    if (p === undefined)
      this.proven.set(host, new ProvenHost(host, Math.min(this.opts.cap, 2 * this.opts.first), this.tick));
    else {
      if (p.limit < this.opts.cap) p.limit = Math.min(this.opts.cap, 2 * p.limit);
      p.seen = true;
      p.quietSince = this.tick;
    }
    // Attempts of a forgotten entry may be the ones answering.
    if (this.retired.size > 0) for (const r of this.retired) if (r.host === host) r.quietSince = this.tick;
  }

  /** An attempt could not reach `host`: it starts over, as a host that has not answered. */
  unreachable(host: string): void {
    this.retire(this.proven.get(host));
    this.proven.delete(host);
  }

  /**
   * Forgets hosts that have not answered since the last prune, at most every PRUNE_MS (call it
   * as often as you like): bounded as the hosts that answer are.
   */
  prune(now = Date.now()): void {
    if (now - this.prunedAt < PRUNE_MS) return;
    this.prunedAt = now;
    for (const [host, p] of this.proven) {
      if (p.seen) p.seen = false;
      else {
        this.retire(p);
        this.proven.delete(host);
      }
    }
  }

  /** What `host` may have under way now, stuck attempts aside (for tests). */
  limitOf(host: string): number {
    return this.proven.get(host)?.limit ?? this.opts.first;
  }
}
