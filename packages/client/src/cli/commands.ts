// The CLI's commands: each one's lines in `callhook --help` and what it runs, in one table.
import type { parseArgs } from 'node:util';
import type {
  Delivery,
  DeliveryDetail,
  DeliveryStatus,
  HangupStatus,
  SimulationRequest,
  SimulationScenario,
  Subscription,
  SubscriptionCreated,
  SubscriptionMethod,
  SubscriptionUpdate,
} from '@callhook/contract';
import type { CallhookClient } from '../client.js';
import type { Connection } from './config.js';
import type { Output } from './listen.js';
import { type Column, record, table } from './output.js';
import { parseEventTypes, UsageError } from './usage.js';

export const options = {
  server: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  token: { type: 'string' },
  profile: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  extension: { type: 'string', short: 'e' },
  url: { type: 'string' },
  event: { type: 'string' },
  events: { type: 'string' },
  method: { type: 'string' },
  enable: { type: 'boolean' },
  disable: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  grace: { type: 'string' },
  subscription: { type: 'string', short: 's' },
  status: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  page: { type: 'string' },
  'per-page': { type: 'string' },
  'call-id': { type: 'string' },
  cursor: { type: 'string' },
  client: { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  tag: { type: 'string' },
  scenario: { type: 'string' },
  number: { type: 'string' },
  did: { type: 'string' },
  'forward-to': { type: 'string' },
  outcome: { type: 'string' },
  'answered-by': { type: 'string' },
  text: { type: 'string' },
  'ring-ms': { type: 'string' },
  'talk-ms': { type: 'string' },
  speed: { type: 'string' },
  mix: { type: 'boolean' },
  rate: { type: 'string' },
  count: { type: 'string' },
  duration: { type: 'string' },
  extensions: { type: 'string' },
  seed: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  forward: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  port: { type: 'string' },
  'public-url': { type: 'string' },
} as const;

export type Values = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>['values'];

export function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?[0-9]+$/.test(value)) throw new UsageError(`--${flag} takes a whole number, got "${value}"`);
  return Number(value);
}

function decimal(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${flag} takes a number, got "${value}"`);
  return n;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new UsageError(`${what} is required`);
  return value;
}

/** The value of `--name`, or else the command's next positional argument. */
function idArgument(positional: string | undefined, what: string): number {
  return required(integer(positional, what), `the ${what} (e.g. \`callhook … 72\`)`);
}

/** The server checks values against the spec; the CLI only has to pass the words through. */
const asMethod = (v: string) => v.toUpperCase() as SubscriptionMethod;

const subscriptionColumns: Column<Subscription & { secret?: string }>[] = [
  ['id', (s) => s.id],
  ['event', (s) => s.event_type],
  ['method', (s) => s.method],
  ['url', (s) => s.url],
  ['enabled', (s) => s.enabled ?? true],
];

const deliveryColumns: Column<Delivery>[] = [
  ['id', (d) => d.id],
  ['event', (d) => d.event_type],
  ['status', (d) => d.status],
  ['attempts', (d) => d.attempts],
  [
    'last',
    (d) => (d.last_outcome ? `${d.last_outcome}${d.last_status_code ? ` ${d.last_status_code}` : ''}` : '-'),
  ],
  ['created', (d) => d.created_at],
  ['next attempt', (d) => d.next_attempt_at],
];

const extensionDeliveryColumns: Column<Delivery>[] = [
  ['id', (d) => d.id],
  ['sub', (d) => d.subscription_id],
  ['event', (d) => d.event_type],
  ['status', (d) => d.status],
  ['attempts', (d) => d.attempts],
  [
    'last',
    (d) => (d.last_outcome ? `${d.last_outcome}${d.last_status_code ? ` ${d.last_status_code}` : ''}` : '-'),
  ],
  ['created', (d) => d.created_at],
  ['call id', (d) => d.call_id ?? '-'],
];

export interface CliEnvironment extends Output {
  env: NodeJS.ProcessEnv;
  /** Whether a person is at the terminal (asks before `events clear`). */
  interactive: boolean;
}

/** What a command is run with. */
export interface Invocation {
  /** The client: with the connection's credentials, or none for an `anonymous` command. */
  client: CallhookClient;
  values: Values;
  /** The positional argument after the command's name (an id). */
  arg: string | undefined;
  /** `--extension`, default `@me`. */
  extension: string;
  connection: Connection;
  io: CliEnvironment;
  /** `data` as JSON with `--json`, else what `human` makes of it. */
  print(data: unknown, human: () => string): void;
}

export interface Command {
  /** Its lines in `callhook --help` (the first starts with its name). */
  help: string;
  /** Another name that runs it (`events` for `events list`). */
  alias?: string;
  /** Runs without credentials. */
  anonymous?: true;
  /** Resolves with the exit code. */
  run(cli: Invocation): Promise<number>;
}

const subscriptionId = (values: Values) =>
  required(integer(values.subscription, 'subscription'), '--subscription ID');

/** The commands, by section of the help, in its order: help and dispatch both come from here. */
export const SECTIONS: readonly { heading: string; commands: Readonly<Record<string, Command>> }[] = [
  {
    heading: 'Subscriptions ("events") of an extension (--extension N, default @me: the token\'s own)',
    commands: {
      'events list': {
        help: 'events list                                  list them',
        alias: 'events',
        async run({ client, extension, print }) {
          const list = await client.subscriptions.list(extension);
          print(list, () =>
            list.length ? table(list, subscriptionColumns) : `No subscriptions on extension ${extension}.`,
          );
          return 0;
        },
      },
      'events add': {
        help: `events add --url URL --event TYPE[,TYPE] [--method GET|POST]
                                             subscribe URL (prints the signing secret, shown once)`,
        async run({ client, values, extension, print }) {
          const url = required(values.url, '--url');
          const types = await parseEventTypes(required(values.event ?? values.events, '--event'));
          const method = asMethod(values.method ?? 'POST');
          const created: SubscriptionCreated[] = [];
          for (const event_type of types) {
            created.push(await client.subscriptions.create(extension, { url, event_type, method }));
          }
          print(created.length === 1 ? created[0] : created, () =>
            [
              table(created, [
                ...subscriptionColumns,
                ['secret', (s) => s.secret ?? "(the endpoint's, shown with its first subscription)"],
              ]),
              '',
              created.some((s) => s.secret !== undefined)
                ? 'Keep the signing secret: it is shown only now, and signs every subscription to this URL ' +
                  '(without its query). `callhook secret rotate ID` makes a new one for all of them.'
                : 'These sign with the secret this URL (without its query) already has.',
            ].join('\n'),
          );
          return 0;
        },
      },
      'events get': {
        help: 'events get ID',
        async run({ client, arg, extension, print }) {
          const s = await client.subscriptions.get(extension, idArgument(arg, 'subscription id'));
          print(s, () => record(Object.entries(s)));
          return 0;
        },
      },
      'events update': {
        help: 'events update ID [--url URL] [--event TYPE] [--method M] [--enable | --disable]',
        async run({ client, values, arg, extension, print }) {
          if (values.enable && values.disable)
            throw new UsageError('--enable and --disable contradict each other');
          const change: SubscriptionUpdate = {
            ...(values.url !== undefined ? { url: values.url } : {}),
            ...(values.event !== undefined ? { event_type: (await parseEventTypes(values.event))[0]! } : {}),
            ...(values.method !== undefined ? { method: asMethod(values.method) } : {}),
            ...(values.enable ? { enabled: true } : values.disable ? { enabled: false } : {}),
          };
          if (Object.keys(change).length === 0) {
            throw new UsageError('say what to change: --url, --event, --method, --enable or --disable');
          }
          const s = await client.subscriptions.update(extension, idArgument(arg, 'subscription id'), change);
          print(s, () => record(Object.entries(s)));
          return 0;
        },
      },
      'events rm': {
        help: 'events rm ID',
        async run({ client, arg, extension, print }) {
          const id = idArgument(arg, 'subscription id');
          await client.subscriptions.delete(extension, id);
          print({ deleted: id }, () => `Deleted subscription ${id}.`);
          return 0;
        },
      },
      'events clear': {
        help: 'events clear [--yes]                         delete them all',
        async run({ client, values, extension, io, print }) {
          if (io.interactive && !values.yes) {
            throw new UsageError(
              `this deletes every subscription of extension ${extension}: add --yes to go ahead`,
            );
          }
          await client.subscriptions.clear(extension);
          print({ cleared: extension }, () => `Deleted every subscription of extension ${extension}.`);
          return 0;
        },
      },
      'secret rotate': {
        help: 'secret rotate ID [--grace SECONDS]           a new signing secret; the old one signs on for the grace',
        async run({ client, values, arg, extension, print }) {
          const id = idArgument(arg, 'subscription id');
          const grace = integer(values.grace, 'grace');
          const rotated = await client.subscriptions.rotateSecret(
            extension,
            id,
            grace === undefined ? undefined : { grace_seconds: grace },
          );
          print(rotated, () =>
            record([
              ['secret', rotated.secret],
              ['previous secret signs until', rotated.previous_expires_at],
              ['subscriptions signing with it', rotated.subscription_ids.join(', ')],
            ]),
          );
          return 0;
        },
      },
    },
  },
  {
    heading: 'Delivery log of the extension, or of one subscription (--subscription ID)',
    commands: {
      'deliveries list': {
        help: `deliveries list [--status S] [--event TYPE] [--call-id ID] [--since ISO] [--until ISO]
                [--cursor C] [--per-page N]  newest first; --cursor continues where a page ended
deliveries list --subscription ID [--status S] [--since ISO] [--page N] [--per-page N]`,
        alias: 'deliveries',
        async run({ client, values, extension, print }) {
          // The whole extension's log, unless one subscription's (paged by number) is asked for.
          const extensionWide =
            values.subscription === undefined ||
            values['call-id'] !== undefined ||
            values.event !== undefined ||
            values.until !== undefined ||
            values.cursor !== undefined;
          if (extensionWide) {
            const sub = integer(values.subscription, 'subscription');
            const log = await client.deliveries.log(extension, {
              ...(values.status !== undefined ? { status: values.status as DeliveryStatus } : {}),
              ...(values.event !== undefined
                ? { event_type: (await parseEventTypes(values.event))[0]! }
                : {}),
              ...(values['call-id'] !== undefined ? { call_id: values['call-id'] } : {}),
              ...(sub !== undefined ? { subscription_id: sub } : {}),
              ...(values.since !== undefined ? { since: values.since } : {}),
              ...(values.until !== undefined ? { until: values.until } : {}),
              ...(values.cursor !== undefined ? { cursor: values.cursor } : {}),
              ...(values['per-page'] !== undefined
                ? { per_page: integer(values['per-page'], 'per-page')! }
                : {}),
            });
            print(log, () =>
              log.items.length
                ? `${table(log.items, extensionDeliveryColumns)}${
                    log.next_cursor ? `\n\nolder ones: add --cursor ${log.next_cursor}` : ''
                  }`
                : 'No deliveries.',
            );
            return 0;
          }
          const page = await client.deliveries.list(extension, subscriptionId(values), {
            ...(values.status !== undefined ? { status: values.status as DeliveryStatus } : {}),
            ...(values.since !== undefined ? { since: values.since } : {}),
            ...(values.page !== undefined ? { page: integer(values.page, 'page')! } : {}),
            ...(values['per-page'] !== undefined
              ? { per_page: integer(values['per-page'], 'per-page')! }
              : {}),
          });
          print(page, () =>
            page.items.length
              ? `${table(page.items, deliveryColumns)}\n\npage ${page.page}, ${page.items.length} of ${page.total}`
              : 'No deliveries.',
          );
          return 0;
        },
      },
      'deliveries get': {
        help: 'deliveries get DELIVERY_ID --subscription ID one delivery with every attempt: request and response',
        async run({ client, values, arg, extension, print }) {
          const d = await client.deliveries.get(
            extension,
            subscriptionId(values),
            required(arg, 'the delivery id'),
          );
          print(d, () => deliveryDetail(d));
          return 0;
        },
      },
      'deliveries retry': {
        help: 'deliveries retry DELIVERY_ID                 send it again now',
        async run({ client, values, arg, extension, print }) {
          const d = await client.deliveries.retry(
            extension,
            subscriptionId(values),
            required(arg, 'the delivery id'),
          );
          print(d, () => `Delivery ${d.id} queued (${d.status}).`);
          return 0;
        },
      },
      'deliveries recover': {
        help: 'deliveries recover --since ISO [--until ISO] send again every failed one since then',
        async run({ client, values, extension, print }) {
          const since = required(values.since, '--since');
          const result = await client.deliveries.recover(extension, subscriptionId(values), {
            since,
            ...(values.until !== undefined ? { until: values.until } : {}),
          });
          print(result, () => `${result.recovered} failed deliveries queued again.`);
          return 0;
        },
      },
    },
  },
  {
    heading: 'Calls and the rest',
    commands: {
      listen: {
        help: `listen [--events dial-in,hangup] [--forward URL] [--verbose] [--port N] [--public-url URL]
                                             a local receiver, subscribed until Ctrl-C`,
        async run({ client, values, extension, io }) {
          const port = integer(values.port, 'port');
          // The receiver (and zod) load only for this command.
          const { listen } = await import('./listen.js');
          return listen(
            client,
            {
              extension,
              events: values.events ?? values.event,
              forward: values.forward,
              verbose: values.verbose ?? false,
              json: values.json ?? false,
              ...(port !== undefined ? { port } : {}),
              publicUrl: values['public-url'],
            },
            io,
          );
        },
      },
      simulate: {
        help: `simulate --extension N [--scenario outgoing] [--number N] [--did N] [--forward-to N]
         [--outcome S] [--answered-by EXT] [--text T] [--ring-ms MS] [--talk-ms MS] [--speed X]
                                             play a call on the demo server's simulated PBX
simulate --mix --rate CALLS_PER_S (--count N | --duration S) [--extensions 175,200]
         [--speed X] [--seed N] [--quiet]    a random mix of every scenario over your
                                             extensions, at a rate (Ctrl-C stops); a summary`,
        async run(cli) {
          const { client, values, print } = cli;
          if (values.mix) {
            const { simulateMix } = await import('./mix.js');
            return simulateMix(cli);
          }
          for (const flag of ['rate', 'count', 'duration', 'extensions', 'seed'] as const) {
            if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --mix`);
          }
          const request = simulationRequest(values);
          const result = await client.simulate(request);
          print(
            result,
            () => `Call ${result.call_id}: ${result.events} event(s) under way (${request.scenario}).`,
          );
          return 0;
        },
      },
      callback: {
        help: 'callback --to NUMBER --from EXT[,EXT] [--tag T]   start a call',
        async run({ client, values, extension, print }) {
          const result = await client.callback(extension, {
            dst_num: required(values.to, '--to NUMBER'),
            src_num: required(values.from, '--from EXT')
              .split(',')
              .map((s) => s.trim()),
            ...(values.tag !== undefined ? { tag: values.tag } : {}),
          });
          print(result, () => record(Object.entries(result)));
          return 0;
        },
      },
      limits: {
        help: 'limits [--client ID]                         subscription limits',
        async run({ client, values, connection, print }) {
          const limits = await client.limits(values.client ?? '@me');
          // The API numbers accounts; the person knows the client id they signed in with.
          const own =
            values.client === undefined && connection.token === undefined ? connection.clientId : undefined;
          print(limits, () => {
            const s = limits.subscriptions;
            return [
              record([
                ['client', own ? `${own} (account ${limits.client_id})` : `account ${limits.client_id}`],
                ['subscriptions', `${s.client_used} of ${s.client_limit}`],
                ['per extension', s.extension_limit],
              ]),
              '',
              table(s.extensions, [
                ['extension', (e) => e.extension_id],
                ['used', (e) => e.used],
                ['available', (e) => e.available],
              ]),
            ].join('\n');
          });
          return 0;
        },
      },
      health: {
        help: 'health                                       is the server up',
        // No credentials needed for this one.
        anonymous: true,
        async run({ client, print }) {
          const health = await client.health();
          print(health, () => record(Object.entries(health)));
          return health.status === 'ok' ? 0 : 1;
        },
      },
      token: {
        help: 'token                                        print an access token (for curl)',
        async run({ client, io }) {
          io.out(await client.token());
          return 0;
        },
      },
    },
  },
];

/** `callhook deliveries get`'s human form: the delivery, and what each attempt sent and got back. */
function deliveryDetail(d: DeliveryDetail): string {
  const { attempt_log, payload, ...rest } = d;
  const attempts = attempt_log.length
    ? table(attempt_log, [
        ['at', (a) => a.attempted_at],
        ['outcome', (a) => a.outcome],
        ['status', (a) => a.status_code],
        ['ms', (a) => Math.round(a.latency_ms)],
        ['error', (a) => a.error],
      ])
    : 'No attempts yet.';
  // What each attempt sent and what came back: the receiver's own words say why it failed.
  const exchanges = attempt_log.flatMap((a, i) => {
    const lines = [''];
    if (a.request) lines.push(`attempt ${i + 1}  ${a.request.method} ${a.request.url}`);
    else lines.push(`attempt ${i + 1}`);
    if (a.response) {
      lines.push(`  response HTTP ${a.response.status}`);
      for (const [k, v] of Object.entries(a.response.headers)) lines.push(`    ${k}: ${v}`);
    }
    const body = a.response?.body ?? a.response_body;
    if (body) {
      lines.push('  body:');
      for (const line of body.split('\n')) lines.push(`    ${line}`);
      if (a.response?.body_truncated) lines.push('    … (cut at 4 KB)');
    } else if (a.error) lines.push(`  ${a.error}`);
    return lines;
  });
  return [record(Object.entries(rest)), `payload  ${payload ?? '-'}`, '', attempts, ...exchanges].join('\n');
}

function simulationRequest(values: Values): SimulationRequest {
  const extensionId = required(integer(values.extension, 'extension'), '--extension N (a numeric id)');
  const optional = <K extends keyof SimulationRequest>(key: K, value: SimulationRequest[K] | undefined) =>
    value === undefined ? {} : { [key]: value };
  return {
    scenario: (values.scenario ?? 'outgoing') as SimulationScenario,
    extension_id: extensionId,
    ...optional('number', values.number),
    ...optional('did', values.did),
    ...optional('forward_to', values['forward-to']),
    ...optional('outcome', values.outcome as HangupStatus | undefined),
    ...optional('answered_by', integer(values['answered-by'], 'answered-by')),
    ...optional('text', values.text),
    ...optional('ring_ms', integer(values['ring-ms'], 'ring-ms')),
    ...optional('talk_ms', integer(values['talk-ms'], 'talk-ms')),
    ...optional('speed', decimal(values.speed, 'speed')),
  };
}
