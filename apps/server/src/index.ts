import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ServerContext } from './api/context.js';
import { loadApiSpec } from './api/routes.js';
import { StreamHub } from './api/stream.js';
import { createApp } from './app.js';
import { TokenService } from './auth/tokens.js';
import { type Config, type ConfigInput, loadConfig } from './config.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { Intake } from './delivery/intake.js';
import { type SendPort, sendThreadsFor, ThreadedSender } from './delivery/send-threads.js';
import { Sender } from './delivery/sender.js';
import { type Resolver, TargetPolicy } from './delivery/target.js';
import { type DemoCredentials, seedDemo } from './demo.js';
import { applyHeapGrowth } from './heap.js';
import { listen } from './listen.js';
import { createLogger } from './log.js';
import { Metrics } from './metrics.js';
import { openStore, type Store } from './store/index.js';
import { randomAlphanumeric } from './store/secrets.js';

export { type Config, ConfigError, type ConfigInput, loadConfig } from './config.js';
/** The cores `CALLHOOK_SEND_THREADS=auto` counts: the affinity mask's, no more than a container's CPU quota. */
export { usableCores } from './cores.js';
export { ListenError } from './listen.js';
export type { Store } from './store/index.js';

export interface StartOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  databaseUrl?: string;
  demo?: boolean;
  logLevel?: Config['logLevel'];
  /** Any other setting (see config.ts); wins over the environment. */
  config?: ConfigInput;
  /** Read settings from this environment instead of process.env (tests). */
  env?: NodeJS.ProcessEnv;
  /** Resolves target host names at creation and at delivery (tests: DNS that changes its answer). */
  resolve?: Resolver;
}

export interface RunningServer {
  /** `http://host:port`, where /oauth/token, /docs and /healthz live. */
  url: string;
  /** The API base: `url` + `/api/ver1.0`. */
  apiUrl: string;
  config: Config;
  store: Store;
  context: ServerContext;
  demo?: DemoCredentials;
  pbxKey: string;
  /** Threads sending deliveries (`CALLHOOK_SEND_THREADS`, `auto` resolved); 0: the main thread sends. */
  sendThreads: number;
  logger: Logger;
  /** Stops accepting, finishes requests and attempts under way, closes the store. */
  close(): Promise<void>;
}

/**
 * Starts the API, the delivery engine and the event sources. The server takes its process as its
 * own in one respect: it sets V8's heap growth (`heapGrowthPercent`, heap.ts), which is process-wide;
 * an embedder that wants V8's own passes `heapGrowthPercent: 0`.
 */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const config = loadConfig(
    {
      ...opts.config,
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      ...(opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {}),
      ...(opts.demo !== undefined ? { demo: opts.demo } : {}),
      ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}),
    },
    opts.env,
  );
  const logger = await createLogger(config);
  const heapGrowth = applyHeapGrowth(config.heapGrowthPercent);
  logger.debug({ heapGrowth }, 'JS heap growth between full collections');
  const pbxKey = config.pbxKey ?? randomAlphanumeric(32);
  config.pbxKey = pbxKey;
  // Demo mode sends to the local receivers a newcomer starts: loopback is allowed, nothing else.
  const allow = config.demo
    ? ['127.0.0.0/8', '::1/128', 'localhost', ...config.allowTargets]
    : config.allowTargets;
  const targets = new TargetPolicy(allow, opts.resolve);
  // No more threads than requests may be under way at once: a thread beyond would have none.
  const sendThreads = Math.min(
    sendThreadsFor(config.sendThreads, opts.resolve !== undefined, config.dispatcher),
    config.deliveryConcurrency,
  );
  logger.debug({ sendThreads }, 'threads sending deliveries (0: the main thread)');

  // The metrics are made once the store is open (their gauges read it): holds before are not counted.
  let walHeld: ((ms: number) => void) | undefined;
  const store = await openStore({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    poolSize: config.databasePoolSize,
    prepared: config.databasePrepared,
    checkpointMs: config.sqliteCheckpointMs,
    onCheckpointFailure: (err) =>
      logger.warn({ err }, 'background WAL checkpoints stopped; SQLite checkpoints in its commits again'),
    onWalHold: (ms) => {
      walHeld?.(ms);
      // The copy syncs both files on the event loop: a hold this long is a slow or stalled disk.
      if (ms > 100)
        logger.warn({ ms: Math.round(ms) }, 'SQLite held its users this long for a WAL checkpoint');
    },
  });
  const spec = loadApiSpec();
  const demo = config.demo ? await seedDemo(store, config) : undefined;

  let dispatcher: Dispatcher | undefined;
  const metrics = new Metrics({
    queueDepth: async () => (await store.outbox.stats()).open,
    inFlight: () => dispatcher?.active ?? 0,
    unanswered: () => dispatcher?.unanswered ?? 0,
    heldHosts: () => dispatcher?.heldHosts.length ?? 0,
  });
  walHeld = (ms) => metrics.walHoldSeconds.observe(ms / 1000);
  const sending = {
    connectTimeoutMs: config.deliveryConnectTimeoutSeconds * 1000,
    timeoutMs: config.deliveryTimeoutSeconds * 1000,
    perHostConnections: config.deliveryPerHostConcurrency,
  };
  const sender: SendPort =
    sendThreads > 0
      ? new ThreadedSender(
          sendThreads,
          {
            ...sending,
            allow,
            concurrency: config.deliveryConcurrency,
            breakerFailures: config.breakerFailures,
            breakerMaxSeconds: config.breakerMaxSeconds,
          },
          (code, replacedInMs) =>
            logger.error(
              { code, replacedInMs },
              'a sending thread exited: the attempts it had are tried again, the rest wait for its replacement',
            ),
        )
      : new Sender({ targets, ...sending });
  if (config.dispatcher) {
    dispatcher = new Dispatcher({
      outbox: store.outbox,
      sender,
      config,
      metrics,
      logger,
      exclusive: store.dialect === 'sqlite',
    });
  }
  const streams = new StreamHub();
  const ctx: ServerContext = {
    config,
    store,
    tokens: new TokenService(store.tenants, config.tokenTtlSeconds),
    targets,
    logger,
    basePath: spec.basePath,
    intake: new Intake(store, dispatcher, { stored: (extensionIds) => streams.stored(extensionIds) }),
    streams,
    ...(dispatcher ? { dispatcher } : {}),
  };
  // The simulated PBX: on in demo mode unless switched off, off otherwise unless switched on.
  if (config.simulator ?? config.demo) {
    const { createSimulatorPort } = await import('./pbx/port.js');
    ctx.pbx = await createSimulatorPort(ctx);
  }
  await dispatcher?.start();

  // Retention: payloads of closed deliveries and old tokens go after their time.
  const sweep = async () => {
    try {
      const now = Date.now();
      const swept = await store.outbox.sweep(now - config.retentionDays * 86_400_000);
      const tokens = await store.tenants.sweepTokens(now);
      if (swept.payloads + swept.events + tokens > 0) logger.info({ ...swept, tokens }, 'retention sweep');
    } catch (err) {
      logger.warn({ err }, 'retention sweep failed');
    }
  };
  const sweeper = setInterval(sweep, 3_600_000);
  sweeper.unref();
  void sweep();

  const app = createApp(ctx, spec, metrics);
  let server: Server;
  try {
    server = await listen(app, config.port, config.host);
  } catch (err) {
    // Nothing was promised yet: stop what started, so that the caller sees only the reason.
    clearInterval(sweeper);
    await ctx.pbx?.stop();
    await dispatcher?.stop();
    await sender.close();
    await store.close();
    throw err;
  }
  server.keepAliveTimeout = 5_000;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  if (config.port === 0) config.publicBaseUrl = url;

  let sources: { stop(): Promise<void> } | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(sweeper);
      // Open event streams would keep the server from closing.
      ctx.streams.closeAll();
      // The API answered simulated calls with the events they will make: what is left of the
      // calls under way goes to the intake now, while it and the store are still up.
      const calls = ctx.pbx?.stop();
      // What a source acknowledged to its switch is in the intake before the store closes.
      await sources?.stop();
      // Keep-alive connections that go idle after the close began would otherwise linger until
      // their timeout: close them as they go quiet.
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      clearInterval(idle);
      await calls;
      await dispatcher?.stop();
      await sender.close();
      await store.close();
    })();
    return closing;
  };

  // PBX event sources beside the simulator (a Kamailio switch), when configured: last, once the
  // rest is up, so that their first messages do not wait behind the server's own start.
  try {
    const { startSources } = await import('./pbx/sources.js');
    sources = await startSources(ctx, metrics.registry);
  } catch (err) {
    await close();
    throw err;
  }

  return {
    url,
    apiUrl: `${url}${spec.basePath}`,
    config,
    store,
    context: ctx,
    ...(demo ? { demo } : {}),
    pbxKey,
    sendThreads,
    logger,
    close,
  };
}
