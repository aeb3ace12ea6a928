import type { AttemptRecord } from '../store/outbox-records.js';
import { requestRecord, type SendJob, type SendResult } from './sender.js';

/**
 * How attempts and their outcomes cross between the main thread and a sending thread
 * (`ThreadedSender`, send-worker.ts): as flat arrays of what the other side lacks. A message is
 * copied field by field, the name of every field of every object with it, so an attempt crosses
 * as the ten values the sender reads, not the claim's 25 columns, and its outcome without the
 * request the log shows (the main thread has the delivery, and rebuilds it from the time and the
 * redacted signatures). Each way, the copy and the read-back cost 1.5-3x less than the objects
 * did (docs/benchmarks-history.md, "Attempts and outcomes cross as flat arrays").
 */

/** An attempt as it crosses to a sending thread: its number, then the job's fields. */
export type AttemptTuple = [
  id: number,
  deliveryId: SendJob['id'],
  url: SendJob['url'],
  method: SendJob['method'],
  payload: SendJob['payload'],
  secret: SendJob['secret'],
  previousSecret: SendJob['previousSecret'],
  previousSecretExpiresAt: SendJob['previousSecretExpiresAt'],
  migratedSecret: SendJob['migratedSecret'],
  migratedSecretExpiresAt: SendJob['migratedSecretExpiresAt'],
];

/** An attempt's result as it comes back (`answerOut`). */
export type ResultTuple = [
  id: number,
  outcome: AttemptRecord['outcome'],
  attemptedAt: AttemptRecord['attemptedAt'],
  statusCode: AttemptRecord['statusCode'],
  latencyMs: AttemptRecord['latencyMs'],
  error: AttemptRecord['error'],
  responseBody: AttemptRecord['responseBody'],
  /** The request's `webhook-signature` as the log keeps it (redacted); null: no request was made. */
  signatures: string | null,
  response: AttemptRecord['response'] | null,
  retryAfterSeconds: SendResult['retryAfterSeconds'] | null,
  gone: SendResult['gone'],
];

/**
 * An attempt's outcome as it comes back: `[id]` when it was withdrawn before it began, `[id,
 * error]` when sending threw (it never does by design), else its result.
 */
export type AnswerTuple = [id: number] | [id: number, thrown: string] | ResultTuple;

export function attemptOut(id: number, d: SendJob): AttemptTuple {
  return [
    id,
    d.id,
    d.url,
    d.method,
    d.payload,
    d.secret,
    d.previousSecret,
    d.previousSecretExpiresAt,
    d.migratedSecret,
    d.migratedSecretExpiresAt,
  ];
}

export function attemptIn(t: AttemptTuple): SendJob {
  return {
    id: t[1],
    url: t[2],
    method: t[3],
    payload: t[4],
    secret: t[5],
    previousSecret: t[6],
    previousSecretExpiresAt: t[7],
    migratedSecret: t[8],
    migratedSecretExpiresAt: t[9],
  };
}

export function answerOut(id: number, r: SendResult): ResultTuple {
  const a = r.attempt;
  return [
    id,
    a.outcome,
    a.attemptedAt,
    a.statusCode,
    a.latencyMs,
    a.error,
    a.responseBody,
    a.request ? (a.request.headers['webhook-signature'] ?? '') : null,
    a.response ?? null,
    r.retryAfterSeconds ?? null,
    r.gone,
  ];
}

/** The result `answerOut` was given, for the delivery `d` it was sent for. */
export function answerIn(t: ResultTuple, d: SendJob): SendResult {
  const attempt: AttemptRecord = {
    attemptedAt: t[2],
    outcome: t[1],
    statusCode: t[3],
    latencyMs: t[4],
    error: t[5],
    responseBody: t[6],
  };
  if (t[7] !== null) attempt.request = requestRecord(d, t[2], t[7]);
  if (t[8] !== null) attempt.response = t[8];
  const result: SendResult = { attempt, gone: t[10] };
  if (t[9] !== null) result.retryAfterSeconds = t[9];
  return result;
}
