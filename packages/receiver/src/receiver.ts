import type { EventType, WebhookPayload } from '@callhook/contract';
import { type DeliveryIdStore, MemoryDeliveryIdStore } from './dedupe.js';
import { InProgressError, InvalidFieldError, WebhookError } from './errors.js';
import {
  type AnyWebhookDelivery,
  type ParserOptions,
  type WebhookDelivery,
  WebhookParser,
  type WebhookRequest,
} from './parse.js';

export type EventHandler<E extends EventType> = (
  event: WebhookPayload<E>,
  delivery: WebhookDelivery<E>,
) => unknown;

export interface ReceiverOptions extends ParserOptions {
  /** Where delivery ids are remembered; `false` turns deduplication off. Default: the last 10,000 in memory. */
  dedupe?: DeliveryIdStore | false;
}

/** What to answer the sender, for any framework to write out. */
export interface WebhookResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The delivery, when the request was one. */
  delivery?: AnyWebhookDelivery;
  /** True when this delivery id was handled before, so no handler ran. */
  duplicate?: boolean;
  /** Why the request was refused (4xx). */
  error?: WebhookError;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function refusal(error: WebhookError): WebhookResponse {
  const detail = error instanceof InvalidFieldError ? { field: error.field, rule: error.rule } : {};
  const body = JSON.stringify({ error: error.code, message: error.message, ...detail });
  return { status: error.status, headers: JSON_HEADERS, body, error };
}

/**
 * Receives webhook deliveries: verifies, validates, drops retries of what was already handled, and
 * calls the handlers registered for the event type. Handlers are awaited before the 2xx goes out, so
 * one that throws makes the sender retry instead of losing the event; keep them quick (enqueue
 * slow work) because the sender gives up on a slow answer.
 */
export class WebhookReceiver {
  readonly parser: WebhookParser;
  private readonly store: DeliveryIdStore | undefined;
  private readonly handlers = new Map<EventType, EventHandler<EventType>[]>();
  private readonly inFlight = new Set<string>();
  private readonly anyHandlers: ((delivery: AnyWebhookDelivery) => unknown)[] = [];

  constructor(options: ReceiverOptions = {}) {
    this.parser = new WebhookParser(options);
    this.store = options.dedupe === false ? undefined : (options.dedupe ?? new MemoryDeliveryIdStore());
  }

  /** Runs `handler` for each event of `type`, with the event narrowed to that type. */
  on<E extends EventType>(type: E, handler: EventHandler<E>): this {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as unknown as EventHandler<EventType>);
    this.handlers.set(type, list);
    return this;
  }

  /** Runs `handler` for every event, after the handlers of its type. */
  onAny(handler: (delivery: AnyWebhookDelivery) => unknown): this {
    this.anyHandlers.push(handler);
    return this;
  }

  /**
   * Handles one request end to end. Refusals come back as 4xx responses; an error thrown by a
   * handler is rethrown (after the delivery id is released, so the retry is handled).
   */
  async handle(request: WebhookRequest): Promise<WebhookResponse> {
    let delivery: AnyWebhookDelivery;
    try {
      delivery = this.parser.parse(request);
    } catch (error) {
      if (error instanceof WebhookError) return refusal(error);
      throw error;
    }
    const { id } = delivery;
    if (id !== undefined && this.store && !(await this.store.claim(id))) {
      // A retry that overtakes a slow first attempt must not be acknowledged: if that attempt then
      // fails, the event would be lost. Refusing it makes the sender try again later.
      if (this.inFlight.has(id)) return refusal(new InProgressError(id));
      return { status: 204, headers: {}, body: '', delivery, duplicate: true };
    }
    if (id !== undefined) this.inFlight.add(id);
    try {
      for (const handler of this.handlers.get(delivery.event.EventType) ?? []) {
        await handler(delivery.event, delivery);
      }
      for (const handler of this.anyHandlers) await handler(delivery);
    } catch (error) {
      if (id !== undefined) await this.store?.release(id);
      throw error;
    } finally {
      if (id !== undefined) this.inFlight.delete(id);
    }
    return { status: 204, headers: {}, body: '', delivery, duplicate: false };
  }
}
