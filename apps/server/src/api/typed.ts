import type { OperationId, operationSecurity, operations } from '@callhook/contract';
import type { Request } from 'express';
import type { Principal } from '../auth/tokens.js';

type ContentOf<T> = T extends { content: infer C } ? C[keyof C] : undefined;
type BodyOf<O> = O extends { requestBody?: infer B }
  ? ContentOf<NonNullable<B>> | (undefined extends B ? undefined : never)
  : undefined;
type PathOf<O> = O extends { parameters: { path: infer P } } ? NonNullable<P> : Record<string, never>;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? NonNullable<Q> : Record<string, never>;
type ResponsesOf<O> = O extends { responses: infer R } ? R : never;

/** The answers an operation may give, as the spec types them (errors are thrown as HttpErrors). */
export type Reply<O> = {
  [S in keyof ResponsesOf<O>]: S extends number
    ? { status: S; body: ContentOf<ResponsesOf<O>[S]>; headers?: Record<string, string> }
    : never;
}[keyof ResponsesOf<O>];

/** The caller of an operation the spec secures with the PBX key: a PBX service, not a tenant. */
export interface PbxCaller {
  readonly kind: 'pbx';
}

type SchemesOf<K extends OperationId> = (typeof operationSecurity)[K][number];

/**
 * What the credentials the spec asks for give the handler: a token's principal, or the PBX
 * caller. A required input, so a handler of a secured operation cannot be written without it,
 * and the dispatcher cannot call one without having checked them.
 */
export type Credentials<K extends OperationId> = [Extract<SchemesOf<K>, 'oauth2' | 'bearer'>] extends [never]
  ? [Extract<SchemesOf<K>, 'pbxKey'>] extends [never]
    ? unknown
    : { pbx: PbxCaller }
  : { principal: Principal };

export type Input<K extends OperationId> = {
  /** Path parameters, percent-decoded, as strings (the validator has checked them against the spec). */
  path: { [P in keyof PathOf<operations[K]>]: string };
  query: QueryOf<operations[K]>;
  body: BodyOf<operations[K]>;
  req: Request;
} & Credentials<K>;

export type Handler<K extends OperationId> = (input: Input<K>) => Promise<Reply<operations[K]>>;

/**
 * One handler per operation of the spec, by operationId: a missing or an unknown one is a type
 * error. Modules give their part with `satisfies Partial<Handlers>`; the app joins them.
 */
export type Handlers = { [K in OperationId]: Handler<K> };
