// Compiled by `npm run lint` (tsc over test/): what the handler table's type refuses. Each
// `@ts-expect-error` fails the type check if the line below it stops being an error.
import type { Handler, Handlers } from '../../src/api/typed.js';

declare const all: Handlers;
declare const health: Handler<'getHealth'>;
const { getHealth: _dropped, ...withoutHealth } = all;

// @ts-expect-error a table missing an operation of the spec is not a Handlers
export const missing: Handlers = withoutHealth;

// @ts-expect-error a handler for no operation of the spec is refused
export const extra: Handlers = { ...all, getHealthz: health };

// A secured operation's handler gets the principal, and may use it without checking.
export const secured: Handler<'listSubscriptions'> = async ({ principal }) => ({
  status: 200,
  body: [{ url: 'https://x/', method: 'GET', event_type: 'hangup', id: principal.clientId }],
});

// An open operation's handler has no principal to read...
// @ts-expect-error
export const open: Handler<'getHealth'> = async ({ principal }) => ({
  status: 200,
  body: { status: 'ok', store: principal },
});

// ...and the PBX intake's caller is the PBX, not a tenant.
export const pbx: Handler<'ingestEvent'> = async ({ pbx }) => ({
  status: 202,
  body: { event_id: pbx.kind.length, deliveries: 0, repeats: 0 },
});
// @ts-expect-error
export const pbxNoPrincipal: Handler<'ingestEvent'> = async ({ principal }) => ({
  status: 202,
  body: { event_id: principal.clientId, deliveries: 0, repeats: 0 },
});
