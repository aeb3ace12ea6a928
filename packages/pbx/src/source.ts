import type { IntakeEvent } from '@callhook/contract';

/**
 * The seam between the places call events come from (the simulator, a real switch's bridge, an
 * HTTP client of the PBX intake) and callhook's intake. A source turns what its PBX saw into the
 * page's events and hands them to the sink; the server hosts the sources and owns the sink.
 */

/** An extension as a PBX knows it: the number people dial and the SIP identity it registers with. */
export interface PbxExtension {
  id: number;
  /** The tenant (client) that owns it: a number is internal only between one client's extensions. */
  clientId: number;
  /** The page's extension name, `000*099`: the SIP user. */
  name: string;
  /** The SIP domain, `sip.domain`. */
  domain: string;
  callerIdName?: string;
  recording: boolean;
  kind: 'phone' | 'ivr' | 'queue';
  /** A queue's agents (extension ids). */
  agents?: number[];
  /** Forwarding on busy or no answer: an outside number. */
  forwardTo?: string;
}

/** The extensions a source may name, as the server's tenant data has them now. */
export interface ExtensionDirectory {
  /** Every extension; a source re-reads it when `refresh` tells it the data changed. */
  list(): Promise<PbxExtension[]>;
}

/** An event as a source hands it over: the page's intake event and, optionally, its identity. */
export type SourceEvent = IntakeEvent & {
  /**
   * The source's own stable id for this event (e.g. the switch's event id). The intake commits
   * the first event with a key and skips later ones with the same key, so a source that may send
   * an event twice (a broker redelivering after a crash) never makes two webhooks of it.
   */
  key?: string;
};

export interface IngestReceipt {
  /** Ids of the events stored, in order; an event skipped as a repeat has the id stored first. */
  eventIds: number[];
  /** Deliveries created (one per matching subscription). */
  deliveries: number;
  /** Events skipped because their key was committed before. */
  repeats: number;
}

/** Where sources hand events: callhook's intake. */
export interface IntakeSink {
  /**
   * Stores the events and their deliveries in one transaction and resolves once it committed:
   * a source may acknowledge its PBX (or broker) only then. Rejects with `UnknownExtensionError`
   * (nothing stored) when an event names an extension callhook does not have.
   */
  ingest(events: readonly SourceEvent[]): Promise<IngestReceipt>;
}

export interface SourceLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SourceContext {
  sink: IntakeSink;
  directory: ExtensionDirectory;
  logger: SourceLogger;
}

/** A PBX event source hosted by the server. */
export interface EventSource {
  /** Short and stable (`simulator`, `kamailio`): logs and metrics name the source by it. */
  readonly name: string;
  /** Begins taking events; resolves once the source is ready (connected, subscribed). */
  start(ctx: SourceContext): Promise<void>;
  /** The tenant data changed (an extension added or edited). */
  refresh?(): Promise<void>;
  /**
   * Stops taking new events and resolves once everything the source has acknowledged to its
   * PBX is in the intake (or, for a broker, left unacknowledged for redelivery): nothing
   * acknowledged is ever lost by a stop.
   */
  stop(): Promise<void>;
}
