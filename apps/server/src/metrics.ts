import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The server's Prometheus metrics; one registry per server so tests can run several. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'callhook_http_requests_total',
    help: 'HTTP requests by method, route (the spec path) and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'callhook_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly attempts = new Counter({
    name: 'callhook_delivery_attempts_total',
    help: 'Delivery attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly taken = new Counter({
    name: 'callhook_delivery_taken_total',
    help: 'Deliveries this instance took to attempt: leased by the intake with its commit, or found by a claim',
    labelNames: ['by'] as const,
    registers: [this.registry],
  });
  readonly claims = new Counter({
    name: 'callhook_delivery_claims_total',
    help: 'Claims of due deliveries by this instance, by whether they found any',
    labelNames: ['found'] as const,
    registers: [this.registry],
  });
  readonly endToEndSeconds = new Histogram({
    name: 'callhook_delivery_end_to_end_seconds',
    help: 'From intake to the receiver acknowledging, for delivered events',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600, 36000],
    registers: [this.registry],
  });
  readonly attemptSeconds = new Histogram({
    name: 'callhook_delivery_attempt_duration_seconds',
    help: 'How long one delivery attempt took',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [this.registry],
  });

  readonly walHoldSeconds = new Histogram({
    name: 'callhook_sqlite_wal_hold_seconds',
    help: "SQLite: how long the connection's users were held for the last checkpoint that lets the WAL start over",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  constructor(gauges: {
    queueDepth: () => Promise<number>;
    inFlight: () => number;
    unanswered: () => number;
    heldHosts: () => number;
  }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'callhook_' });
    /** A gauge read from the server when /metrics is scraped. */
    const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          this.set(await read());
        },
      });
    gauge(
      'callhook_delivery_queue_depth',
      'Deliveries waiting for an attempt (pending or retrying)',
      gauges.queueDepth,
    );
    gauge(
      'callhook_delivery_in_flight',
      'Delivery attempts under way on this instance, with those queued in a sending thread',
      gauges.inFlight,
    );
    gauge(
      'callhook_delivery_in_flight_unanswered',
      'Of the attempts in flight, those whose host has not answered for a second: they hold a connection, not a slot of the concurrency cap',
      gauges.unanswered,
    );
    gauge(
      'callhook_delivery_hosts_held',
      'Receiving hosts that stopped answering: their deliveries wait while one probe at a time tries them',
      gauges.heldHosts,
    );
  }
}
