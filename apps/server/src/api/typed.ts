import type { paths } from '@callhook/contract';
import type { Request, RequestHandler } from 'express';

type Method = 'get' | 'post' | 'put' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

type ContentOf<T> = T extends { content: infer C } ? C[keyof C] : undefined;
type BodyOf<O> = O extends { requestBody?: infer B }
  ? ContentOf<NonNullable<B>> | (undefined extends B ? undefined : never)
  : undefined;
type PathOf<O> = O extends { parameters: { path: infer P } } ? NonNullable<P> : Record<string, never>;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? NonNullable<Q> : Record<string, never>;
type ResponsesOf<O> = O extends { responses: infer R } ? R : never;

/** The successful answers an operation may give, as the spec types them. */
export type Reply<O> = {
  [S in keyof ResponsesOf<O>]: S extends 200 | 201 | 202 | 204
    ? { status: S; body: ContentOf<ResponsesOf<O>[S]>; headers?: Record<string, string> }
    : never;
}[keyof ResponsesOf<O>];

export interface Input<O> {
  /** Path parameters, as strings (the validator has checked them against the spec). */
  path: { [K in keyof PathOf<O>]: string };
  query: QueryOf<O>;
  body: BodyOf<O>;
  req: Request;
}

/**
 * An Express handler typed by the spec's operation: its input is the operation's parameters and
 * body, its result one of the operation's responses. Errors are thrown as `HttpError`s.
 */
export function operation<P extends keyof paths, M extends Method>(
  _path: P,
  _method: M,
  handler: (input: Input<Operation<P, M>>) => Promise<Reply<Operation<P, M>>>,
): RequestHandler {
  return async (req, res, next) => {
    try {
      const reply = (await handler({
        path: req.params as Input<Operation<P, M>>['path'],
        query: req.query as Input<Operation<P, M>>['query'],
        body: req.body as Input<Operation<P, M>>['body'],
        req,
      })) as { status: number; body: unknown; headers?: Record<string, string> };
      if (reply.headers) res.set(reply.headers);
      res.status(reply.status);
      if (reply.body === undefined) res.end();
      else res.json(reply.body);
    } catch (err) {
      next(err);
    }
  };
}
