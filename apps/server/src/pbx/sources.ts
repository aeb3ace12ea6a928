import type { EventSource, ExtensionDirectory, IntakeSink, SourceLogger } from '@callhook/pbx';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { TenantStore } from '../store/index.js';

/** What the server gives the sources it hosts: the intake, its tenant data, its log, its settings. */
export interface SourceHost {
  intake: IntakeSink;
  store: { tenants: Pick<TenantStore, 'listExtensions'> };
  logger: SourceLogger;
  config: Config;
}

/**
 * The PBX event sources a server hosts beside the simulator (today: a Kamailio switch through
 * NATS JetStream, when CALLHOOK_KAMAILIO_NATS_URL is set), plugged into the intake through the
 * `@callhook/pbx` seam.
 */

/** callhook's tenant data as the PBX sees it: every extension, read fresh on each call. */
export function extensionDirectory(ctx: SourceHost): ExtensionDirectory {
  return { list: () => ctx.store.tenants.listExtensions() };
}

/** Starts the configured sources; each is stopped by the returned function, before the store closes. */
export async function startSources(
  ctx: SourceHost,
  registry: Registry,
): Promise<{ sources: EventSource[]; stop(): Promise<void> }> {
  const { config } = ctx;
  const sources: EventSource[] = [];
  if (config.kamailioNatsUrl) {
    const { KamailioSource } = await import('@callhook/kamailio');
    const source = new KamailioSource({
      servers: config.kamailioNatsUrl.split(',').map((s) => s.trim()),
      stream: config.kamailioStream,
      subject: config.kamailioSubject,
      consumer: config.kamailioConsumer,
      ackWaitMs: config.kamailioAckWaitSeconds * 1000,
    });
    const stats = source.stats;
    new Counter({
      name: 'callhook_kamailio_total',
      help: 'The Kamailio source: messages taken, events stored, repeats skipped, calls of unknown users, malformed messages, failed intake batches',
      labelNames: ['what'] as const,
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ what: 'messages' }, stats.messages);
        this.inc({ what: 'events' }, stats.events);
        this.inc({ what: 'repeats' }, stats.repeats);
        this.inc({ what: 'unknown_calls' }, stats.unknownCalls);
        this.inc({ what: 'malformed' }, stats.malformed);
        this.inc({ what: 'failed_batches' }, stats.failedBatches);
      },
    });
    try {
      await source.start({ sink: ctx.intake, directory: extensionDirectory(ctx), logger: ctx.logger });
    } catch (err) {
      throw new Error(
        `CALLHOOK_KAMAILIO_NATS_URL: cannot consume the switch's events from ${withoutPassword(config.kamailioNatsUrl)}: ${(err as Error).message}`,
      );
    }
    sources.push(source);
  }
  return {
    sources,
    async stop() {
      await Promise.all(sources.map((s) => s.stop()));
    },
  };
}

/** A NATS URL as it may be shown in a log: `nats://user:secret@host` loses its secret. */
function withoutPassword(urls: string): string {
  return urls
    .split(',')
    .map((u) => {
      try {
        const url = new URL(u.trim());
        if (url.password) url.password = '***';
        return url.toString();
      } catch {
        return '(a URL that does not parse)';
      }
    })
    .join(',');
}
