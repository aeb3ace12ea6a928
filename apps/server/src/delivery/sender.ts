import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher, errors } from 'undici';
// Not the store's index: a sending thread loads this module, and needs none of the store's
// queries (Kysely, the drivers).
import { activeSecrets, type SigningSecrets } from '../store/endpoints.js';
import type { AttemptRecord, AttemptRequestRecord, ClaimedDelivery } from '../store/outbox-records.js';
import { getRequestUrl } from './encoding.js';
import { parseRetryAfter } from './schedule.js';
import { sign } from './signing.js';
import { type TargetPolicy, TargetRefusedError } from './target.js';

export const USER_AGENT = 'callhook/0.1 (+https://github.com/callhook/callhook)';
/** How much of a response body the delivery log keeps. */
export const RESPONSE_CAP = 4096;
/** How many response headers, and how long a value, the delivery log keeps. */
const HEADER_COUNT_CAP = 50;
const HEADER_VALUE_CAP = 1000;

/** What an attempt reads of its delivery: where and how it goes, what it carries, what signs it. */
export type SendJob = Pick<ClaimedDelivery, 'id' | 'url' | 'method' | 'payload'> & SigningSecrets;

export interface SendResult {
  attempt: AttemptRecord;
  retryAfterSeconds?: number;
  gone: boolean;
}

export interface SenderOptions {
  targets: TargetPolicy;
  connectTimeoutMs: number;
  timeoutMs: number;
  perHostConnections: number;
}

/** Sends deliveries: one HTTP request each, signed, to a checked address, never following redirects. */
export class Sender {
  private readonly agent: Agent;
  /**
   * POST targets already checked, by URL: a subscription's URL is the same on every delivery, and
   * the policy does not change while the server runs, so its verdict does not either. Only what
   * passed is kept, as strings. A GET's URL carries its event, so it is checked every time.
   */
  private readonly checked = new Map<string, Target>();

  constructor(private readonly opts: SenderOptions) {
    this.agent = new Agent({
      connect: { timeout: opts.connectTimeoutMs, lookup: opts.targets.lookup },
      connections: opts.perHostConnections,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  async send(d: SendJob, now = Date.now()): Promise<SendResult> {
    const payload = d.payload ?? '';
    const isGet = d.method === 'GET';
    const url = isGet ? getRequestUrl(d.url, payload) : d.url;
    const timestamp = Math.floor(now / 1000);
    const secrets = activeSecrets(d, now);
    const started = performance.now();
    const attempt = (
      outcome: AttemptRecord['outcome'],
      fields: Partial<AttemptRecord> = {},
    ): AttemptRecord => ({
      attemptedAt: now,
      outcome,
      statusCode: null,
      latencyMs: Math.round((performance.now() - started) * 100) / 100,
      error: null,
      responseBody: null,
      ...fields,
    });

    let target: Target;
    try {
      // A literal address is checked here (it never reaches the agent's lookup); a name is
      // checked by that lookup as the connection is made, on the very address it connects to.
      target = this.checked.get(url) ?? (await this.check(url, !isGet));
    } catch (err) {
      const outcome =
        err instanceof TargetRefusedError && !['format', 'scheme', 'host'].includes(err.rule)
          ? 'refused_target'
          : 'invalid_url';
      return { attempt: attempt(outcome, { error: (err as Error).message }), gone: false };
    }
    // A GET signs the query exactly as it goes on the wire: the parsed URL's serialisation,
    // which percent-encodes what the subscriber wrote raw (`?name=José` is sent as `Jos%C3%A9`).
    const signature = sign(d.id, timestamp, isGet ? target.query : payload, secrets);
    const headers = requestHeaders(d, now, signature);
    const sent = requestRecord(d, now, redactSignatures(signature));

    // The whole attempt (connect, answer, body) has one deadline, with a timer cleared when the
    // attempt ends (`AbortSignal.timeout` kept its timer armed for the whole timeout after the
    // answer: tens of thousands at once at thousands of deliveries a second).
    let reader: AnswerReader | undefined;
    const timer = setTimeout(
      () => reader?.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      this.opts.timeoutMs,
    ).unref();
    try {
      // The agent's own `dispatch`, given origin and path: undici's top-level `request(url, opts)`
      // parses the URL again and copies the options, and `agent.request` hands the answer over as
      // a Readable stream; the handler reads it as it comes (see AnswerReader). No redirect is
      // followed: undici 7 follows none without its redirect interceptor, which this agent does
      // not have.
      const answer = await new Promise<Answer>((resolve, reject) => {
        reader = new AnswerReader(resolve, reject);
        this.agent.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: isGet ? 'GET' : 'POST',
            headers,
            body: isGet ? null : payload,
          },
          reader,
        );
      });
      const status = answer.statusCode;
      const ok = status >= 200 && status < 300;
      // An HTTP-date Retry-After is read against the time of the answer, as its seconds form is:
      // against the attempt's start, the retry came as much later than the date as the
      // receiver took to answer.
      const retryAfter =
        status === 429 || status === 503
          ? parseRetryAfter(answer.headers['retry-after'], Date.now())
          : undefined;
      return {
        attempt: attempt(ok ? 'success' : 'http_error', {
          statusCode: status,
          responseBody: answer.text,
          error: ok ? null : `HTTP ${status}`,
          request: sent,
          response: { headers: cappedHeaders(answer.headers), truncated: answer.truncated },
        }),
        ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
        gone: status === 410,
      };
    } catch (err) {
      const [outcome, fields] = classify(err);
      return { attempt: attempt(outcome, { ...fields, request: sent }), gone: false };
    } finally {
      clearTimeout(timer);
    }
  }

  private async check(url: string, keep: boolean): Promise<Target> {
    const parsed = await this.opts.targets.checkUrl(url, false);
    const target = {
      origin: parsed.origin,
      path: `${parsed.pathname}${parsed.search}`,
      query: parsed.search.slice(1),
    };
    if (keep) {
      if (this.checked.size >= 10_000) this.checked.clear();
      this.checked.set(url, target);
    }
    return target;
  }

  /**
   * Closes the connections. Called once every attempt has settled (the dispatcher stops first and
   * waits for them): what the agent may still hold is a request given up at its deadline while
   * its connection was being made, which closing gently would wait for until the connect timeout.
   */
  close(): Promise<void> {
    return this.agent.destroy();
  }
}

/** An attempt's request headers at `now`, with `signature` as its `webhook-signature`. */
function requestHeaders(
  d: Pick<SendJob, 'id' | 'method'>,
  now: number,
  signature: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    'webhook-id': d.id,
    'webhook-timestamp': String(Math.floor(now / 1000)),
    'webhook-signature': signature,
  };
  if (d.method !== 'GET') headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
  return headers;
}

/**
 * What the delivery log shows of an attempt's request made at `now`: everything but the
 * signatures (they prove nothing to a reader and are better kept from one), `redacted` as
 * `redactSignatures` leaves them. A sending thread's main thread rebuilds it from the delivery,
 * the time and that string, so that it does not cross between them (see crossing.ts).
 */
export function requestRecord(
  d: Pick<SendJob, 'id' | 'method' | 'url'>,
  now: number,
  redacted: string,
): AttemptRequestRecord {
  return {
    method: d.method === 'GET' ? 'GET' : 'POST',
    url: d.url,
    headers: requestHeaders(d, now, redacted),
  };
}

/** A checked target's request line: what undici is given, and what a GET signs. */
interface Target {
  origin: string;
  /** The path and query as they go on the wire (the URL parser's serialisation). */
  path: string;
  /** The query without its `?`. */
  query: string;
}

function classify(err: unknown): [AttemptRecord['outcome'], Partial<AttemptRecord>] {
  const e = err as NodeJS.ErrnoException & { cause?: unknown };
  if (err instanceof TargetRefusedError || e.cause instanceof TargetRefusedError) {
    const refusal = (err instanceof TargetRefusedError ? err : e.cause) as TargetRefusedError;
    return ['refused_target', { error: refusal.message }];
  }
  if (
    err instanceof errors.ConnectTimeoutError ||
    err instanceof errors.HeadersTimeoutError ||
    err instanceof errors.BodyTimeoutError ||
    e.name === 'TimeoutError' ||
    e.name === 'AbortError'
  ) {
    return ['timeout', { error: e.message || 'timed out' }];
  }
  const code = e.code ?? (e.cause as NodeJS.ErrnoException | undefined)?.code;
  return ['connection_error', { error: code ? `${code}: ${e.message}` : e.message }];
}

/** An attempt's answer: its status and headers, and its body kept to RESPONSE_CAP. */
export interface Answer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** The body's first RESPONSE_CAP bytes as UTF-8; null when there was no body. */
  text: string | null;
  truncated: boolean;
}

/** How far an answer's body is read: a receiver that answers with a flood is not read to the end. */
const READ_CAP = 64 * 1024;

/**
 * undici's handler for one attempt: it keeps the status and headers, keeps the body up to
 * RESPONSE_CAP as it arrives and reads it up to READ_CAP, then settles once: at the end, at the
 * cut (and aborts the rest), or on an error (the deadline's abort among them). `agent.request`
 * hands the body over as a Readable stream instead: `bench:send --against` that build, 7 rounds,
 * 31.9 → 26.2 µs of CPU per attempt.
 */
export class AnswerReader implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  /** The deadline's reason, when it came before undici started the request. */
  private reason: Error | undefined;
  private statusCode = 0;
  private headers: IncomingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private settled = false;

  constructor(
    private readonly resolve: (answer: Answer) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  /**
   * Ends the attempt with `reason`. Under way, through undici (which reports it back through
   * onResponseError). Not started yet (queued behind the origin's busy connections): it settles
   * now, so that the deadline holds from the moment the attempt was given to undici, and the
   * request is stopped when undici gets to it.
   */
  abort(reason: Error): void {
    if (this.settled) return;
    if (this.controller) {
      this.controller.abort(reason);
      return;
    }
    this.reason = reason;
    this.settled = true;
    this.reject(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.reason) controller.abort(this.reason);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.statusCode = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (this.size < RESPONSE_CAP) this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > READ_CAP) {
      this.finish();
      controller.abort(new Error('the answer was read as far as it is kept'));
    }
  }

  onResponseEnd(): void {
    this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    const { statusCode, headers, size } = this;
    const text =
      size === 0
        ? null
        : (this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks))
            .subarray(0, RESPONSE_CAP)
            .toString('utf8');
    this.resolve({ statusCode, headers, text, truncated: size > RESPONSE_CAP });
  }
}

/** `v1,<sig>` entries with the signature left out: which versions were sent, not their values. */
export function redactSignatures(value: string): string {
  return value.replace(SIGNATURE_VALUES, ',…');
}
/** What follows each entry's version: `v1,<sig> v1,<sig>` → `v1,… v1,…` (sign() writes every entry so). */
const SIGNATURE_VALUES = /,[^ ]*/g;

function cappedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (n++ >= HEADER_COUNT_CAP) break;
    const text = Array.isArray(value) ? value.join(', ') : value;
    out[name] = text.length > HEADER_VALUE_CAP ? `${text.slice(0, HEADER_VALUE_CAP)}…` : text;
  }
  return out;
}
