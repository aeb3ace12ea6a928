import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';
import * as z from 'zod';

const csv = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => (typeof v === 'boolean' ? v : ['true', '1', 'yes'].includes(v)));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const seconds = z.coerce.number().positive();

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
/**
 * Express's `trust proxy`, limited to forms that name the proxies: a hop count, or addresses,
 * CIDRs and `loopback`/`linklocal`/`uniquelocal`. `true` (believe any X-Forwarded-For) is
 * refused: it lets every client choose the address the token throttle counts.
 */
const trustProxy = z
  .union([z.coerce.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
  .refine(
    (list) =>
      (list.length === 1 && /^[0-9]{1,2}$/.test(list[0]!)) ||
      (list.length > 0 &&
        list.every((e) => PROXY_NAMES.has(e) || ipaddr.isValid(e) || ipaddr.isValidCIDR(e))),
    'a hop count, or addresses, CIDRs, loopback, linklocal, uniquelocal (comma-separated)',
  )
  .transform((list): number | string[] => (/^[0-9]+$/.test(list[0]!) ? Number(list[0]) : list));

/** apps/server (this file is src/config.ts, or dist/config.js once built). */
const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Where the SQLite file lives unless CALLHOOK_DATA_DIR says otherwise: one place whatever the
 * working directory, so that `npm start` at the root and `node apps/server/dist/cli.js admin` from
 * anywhere use the same data. In a checkout, `apps/server/.callhook-data`; installed under
 * node_modules (where nothing should be written), the XDG data directory.
 */
export function defaultDataDir(packageDir = PACKAGE_DIR, env: NodeJS.ProcessEnv = process.env): string {
  if (!packageDir.split(sep).includes('node_modules')) return join(packageDir, '.callhook-data');
  const dataHome = env.XDG_DATA_HOME?.startsWith('/')
    ? env.XDG_DATA_HOME
    : join(homedir(), '.local', 'share');
  return join(dataHome, 'callhook');
}

/**
 * Every setting, with its environment variable and default. Values come from a JSON config file
 * (`CALLHOOK_CONFIG`), then the environment, then what the caller passes, later ones winning.
 */
export const configSchema = z.object({
  port: int(0, 65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  /**
   * Where the embedded SQLite file lives, when `databaseUrl` is not a postgres:// URL. A relative
   * path is taken from the working directory; the default is the same from anywhere.
   */
  dataDir: z
    .string()
    .min(1)
    .default(() => defaultDataDir())
    .transform((dir) => resolve(dir)),
  /** `postgres://...` selects PostgreSQL; empty means SQLite in `dataDir`. */
  databaseUrl: z.string().default(''),
  databasePoolSize: int(1, 200).default(10),
  /**
   * PostgreSQL: keep the delivery path's batched writes prepared on each connection (parsed once,
   * not per call). Off behind a pooler in transaction mode that does not keep prepared statements
   * (PgBouncer before 1.21, or without max_prepared_statements).
   */
  databasePrepared: bool.default(true),
  publicBaseUrl: z.string().url().optional(),
  tokenTtlSeconds: int(5, 30 * 24 * 3600).default(3600),
  extensionSubscriptionLimit: int(1, 100000).default(20),
  clientSubscriptionLimit: int(1, 10000000).default(100),
  /** CIDRs or host names that may be targets even though they are not global addresses. */
  allowTargets: csv.default([]),
  /** Demo mode: seed the demo client, enable the simulator, allow loopback targets. */
  demo: bool.default(false),
  demoClientId: z.string().min(1).max(128).optional(),
  demoClientSecret: z.string().min(1).max(256).optional(),
  /** The key PBX services present in `X-PBX-Key` to the intake. Generated (and printed) when unset. */
  pbxKey: z.string().min(16).optional(),
  simulator: bool.optional(),
  /**
   * The most bytes one request body may have; the batch intake takes its schema's `maxItems`
   * times as many, so a full batch of the largest events fits (see app.ts).
   */
  maxBodyBytes: int(1024, 10 * 1024 * 1024).default(64 * 1024),
  /** The proxies whose X-Forwarded-For gives the caller's address; unset: the peer is the caller. */
  trustProxy: trustProxy.optional(),
  validateResponses: bool.default(false),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Delivery
  deliveryConnectTimeoutSeconds: seconds.default(5),
  deliveryTimeoutSeconds: seconds.default(15),
  /** Delays before each retry after a failure, in seconds. */
  retrySchedule: z
    .union([z.string(), z.array(z.coerce.number())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',').map(Number)))
    .pipe(z.array(z.number().nonnegative()).min(0).max(50))
    .default([5, 300, 1800, 7200, 18000, 36000, 36000]),
  retryJitter: z.coerce.number().min(0).max(1).default(0.2),
  disableAfterFailingSeconds: seconds.default(5 * 24 * 3600),
  deliveryConcurrency: int(1, 10000).default(64),
  deliveryPerHostConcurrency: int(1, 10000).default(16),
  deliveryBatchSize: int(1, 5000).default(200),
  deliveryLeaseSeconds: seconds.default(60),
  deliveryPollMs: int(5, 60000).default(250),
  /**
   * Worker threads that send deliveries (sign, check the target, HTTP), leaving the main thread
   * the intake, the store and the dispatcher; 0: send on the main thread. `auto`: one where the
   * machine has a second core and the server runs built (a thread runs the built JavaScript).
   */
  sendThreads: z.union([z.literal('auto'), int(0, 64)]).default('auto'),
  /**
   * SQLite: checkpoint the WAL from a background thread this often (ms), so that no commit on
   * the event loop copies pages and syncs files; 0: SQLite's own, inside the commit that fills it.
   */
  sqliteCheckpointMs: int(0, 60000).default(500),
  /**
   * Consecutive unreachable attempts (refused, reset, timed out) after which a receiving host's
   * deliveries are held and the host is probed with one attempt at a time; 0: never.
   */
  breakerFailures: int(0, 10000).default(5),
  /** The longest wait between two probes of a held host, in seconds (the first is 1 s, then doubling). */
  breakerMaxSeconds: seconds.default(30),
  retentionDays: z.coerce.number().positive().default(30),
  /** How far the JS heap may grow past its live size between full collections, in percent (heap.ts); 0: V8's own. */
  heapGrowthPercent: int(0, 1000).default(100),
  dispatcher: bool.default(true),
  /** A Kamailio switch's call events, through NATS JetStream (deploy/kamailio): off when empty. */
  kamailioNatsUrl: z.string().default(''),
  kamailioStream: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('CALLHOOK_SIP'),
  kamailioSubject: z
    .string()
    .regex(/^[^\s*>]+$/)
    .default('callhook.sip.events'),
  kamailioConsumer: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('callhook'),
  kamailioAckWaitSeconds: seconds.default(10),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

const ENV: Record<keyof Config, string> = {
  port: 'PORT',
  host: 'HOST',
  dataDir: 'CALLHOOK_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  databasePoolSize: 'CALLHOOK_DB_POOL_SIZE',
  databasePrepared: 'CALLHOOK_DB_PREPARED',
  publicBaseUrl: 'CALLHOOK_PUBLIC_URL',
  tokenTtlSeconds: 'CALLHOOK_TOKEN_TTL',
  extensionSubscriptionLimit: 'CALLHOOK_EXTENSION_LIMIT',
  clientSubscriptionLimit: 'CALLHOOK_CLIENT_LIMIT',
  allowTargets: 'CALLHOOK_ALLOW_TARGETS',
  demo: 'CALLHOOK_DEMO',
  demoClientId: 'CALLHOOK_DEMO_CLIENT_ID',
  demoClientSecret: 'CALLHOOK_DEMO_CLIENT_SECRET',
  pbxKey: 'CALLHOOK_PBX_KEY',
  simulator: 'CALLHOOK_SIMULATOR',
  maxBodyBytes: 'CALLHOOK_MAX_BODY_BYTES',
  trustProxy: 'CALLHOOK_TRUST_PROXY',
  validateResponses: 'CALLHOOK_VALIDATE_RESPONSES',
  logLevel: 'LOG_LEVEL',
  deliveryConnectTimeoutSeconds: 'CALLHOOK_CONNECT_TIMEOUT',
  deliveryTimeoutSeconds: 'CALLHOOK_DELIVERY_TIMEOUT',
  retrySchedule: 'CALLHOOK_RETRY_SCHEDULE',
  retryJitter: 'CALLHOOK_RETRY_JITTER',
  disableAfterFailingSeconds: 'CALLHOOK_DISABLE_AFTER',
  deliveryConcurrency: 'CALLHOOK_DELIVERY_CONCURRENCY',
  deliveryPerHostConcurrency: 'CALLHOOK_DELIVERY_PER_HOST',
  deliveryBatchSize: 'CALLHOOK_DELIVERY_BATCH',
  deliveryLeaseSeconds: 'CALLHOOK_DELIVERY_LEASE',
  deliveryPollMs: 'CALLHOOK_DELIVERY_POLL_MS',
  sendThreads: 'CALLHOOK_SEND_THREADS',
  sqliteCheckpointMs: 'CALLHOOK_SQLITE_CHECKPOINT_MS',
  breakerFailures: 'CALLHOOK_BREAKER_FAILURES',
  breakerMaxSeconds: 'CALLHOOK_BREAKER_MAX_WAIT',
  retentionDays: 'CALLHOOK_RETENTION_DAYS',
  heapGrowthPercent: 'CALLHOOK_HEAP_GROWTH',
  dispatcher: 'CALLHOOK_DISPATCHER',
  kamailioNatsUrl: 'CALLHOOK_KAMAILIO_NATS_URL',
  kamailioStream: 'CALLHOOK_KAMAILIO_STREAM',
  kamailioSubject: 'CALLHOOK_KAMAILIO_SUBJECT',
  kamailioConsumer: 'CALLHOOK_KAMAILIO_CONSUMER',
  kamailioAckWaitSeconds: 'CALLHOOK_KAMAILIO_ACK_WAIT',
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the configuration; a bad value names its variable. */
export function loadConfig(overrides: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  let fromFile: Record<string, unknown> = {};
  if (env.CALLHOOK_CONFIG) {
    const path = resolve(env.CALLHOOK_CONFIG);
    try {
      fromFile = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`CALLHOOK_CONFIG: cannot read ${path}: ${(err as Error).message}`);
    }
  }
  const fromEnv: Record<string, string> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const merged = { ...fromFile, ...fromEnv, ...stripUndefined(overrides) };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const source = key in fromEnv ? ENV[key as keyof Config] : key;
      return `  ${source}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  if (config.publicBaseUrl === undefined) {
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    config.publicBaseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
  }
  return config;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
