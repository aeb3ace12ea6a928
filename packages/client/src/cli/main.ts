// The `callhook` CLI: parses the arguments, runs the command the table in commands.ts names, and
// explains what went wrong in words a person can act on.
import { parseArgs } from 'node:util';
import { CallhookClient } from '../client.js';
import {
  CallhookApiError,
  CallhookAuthError,
  CallhookNetworkError,
  CallhookTimeoutError,
} from '../errors.js';
import { type CliEnvironment, type Command, integer, options, SECTIONS } from './commands.js';
import { ConfigError, type Connection, resolveConnection } from './config.js';
import { UsageError } from './usage.js';

export type { CliEnvironment };

function connect(connection: Connection, timeout: number | undefined): CallhookClient {
  const common = { baseUrl: connection.url, ...(timeout ? { timeoutMs: timeout } : {}) };
  if (connection.clientId && connection.clientSecret) {
    return new CallhookClient({
      ...common,
      clientId: connection.clientId,
      clientSecret: connection.clientSecret,
    });
  }
  if (connection.token) return new CallhookClient({ ...common, token: connection.token });
  const missing = connection.clientId
    ? 'client secret'
    : connection.clientSecret
      ? 'client id'
      : 'credentials';
  throw new ConfigError(
    `no ${missing}: pass --client-id and --client-secret, set CALLHOOK_CLIENT_ID and CALLHOOK_CLIENT_SECRET, ` +
      'or add them to a profile (see `callhook --help`)',
  );
}

/** Every command by its name and by its alias. */
const COMMANDS = new Map<string, Command>();
for (const { commands } of SECTIONS) {
  for (const [name, command] of Object.entries(commands)) {
    COMMANDS.set(name, command);
    if (command.alias) COMMANDS.set(command.alias, command);
  }
}

export const USAGE = `callhook: manage callhook subscriptions and watch events from the command line.

Usage: callhook <command> [options]

${SECTIONS.map(({ heading, commands }) =>
  [heading, ...Object.values(commands).flatMap((c) => c.help.split('\n').map((line) => `  ${line}`))].join(
    '\n',
  ),
).join('\n')}

Connection (flags win over the environment, which wins over the profile)
  --server URL          CALLHOOK_URL            default http://127.0.0.1:8080
  --client-id ID        CALLHOOK_CLIENT_ID
  --client-secret S     CALLHOOK_CLIENT_SECRET
  --token T             CALLHOOK_TOKEN          a ready access token instead of id and secret
  --profile NAME        CALLHOOK_PROFILE        a profile of the config file (wins over the
                                                environment when given as a flag)
  --config PATH         CALLHOOK_CLI_CONFIG     default ~/.config/callhook/config.json:
                        {"profiles": {"default": {"url": "...", "client_id": "...", "client_secret": "..."}}}
Output
  --json                machine-readable output (listen: one JSON object per line)
  --timeout MS          per request, default 30000
`;

async function run(argv: readonly string[], io: CliEnvironment): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options,
    allowPositionals: true,
    strict: true,
  });
  const [name, sub, arg] = positionals;
  if (values.help || name === undefined || name === 'help') {
    io.out(USAGE);
    return name === undefined && !values.help ? 2 : 0;
  }
  const command = COMMANDS.get(`${name} ${sub ?? ''}`.trim()) ?? COMMANDS.get(name);
  if (!command) throw new UsageError(`unknown command "${positionals.join(' ')}"`);
  const connection = resolveConnection(values, io.env);
  const client = command.anonymous
    ? new CallhookClient({ baseUrl: connection.url, token: '' })
    : connect(connection, integer(values.timeout, 'timeout'));
  return command.run({
    client,
    values,
    arg,
    extension: values.extension ?? '@me',
    connection,
    io,
    print: (data, human) => io.out(values.json ? JSON.stringify(data, null, 2) : human()),
  });
}

/** Runs one CLI invocation; resolves with the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliEnvironment): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    io.err(describe(error));
    return error instanceof UsageError || isArgError(error) ? 2 : 1;
  }
}

function isArgError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** What a person needs to read when something went wrong, with what to do about it. */
export function describe(error: unknown): string {
  if (error instanceof CallhookAuthError) {
    return `callhook: ${error.message}.\nCheck the client id and secret (--client-id/--client-secret, CALLHOOK_CLIENT_ID/CALLHOOK_CLIENT_SECRET, or the profile).`;
  }
  if (error instanceof CallhookApiError) {
    const lines = [`callhook: ${error.message}`];
    for (const e of error.body.errors ?? []) lines.push(`  ${e.field}: ${e.message} (${e.rule})`);
    if (error.status === 401)
      lines.push('The token was refused: check --token, or use a client id and secret.');
    if (error.requestId) lines.push(`  request id ${error.requestId}`);
    return lines.join('\n');
  }
  if (error instanceof CallhookNetworkError || error instanceof CallhookTimeoutError) {
    return `callhook: ${error.message}.\nIs the server running there? Point the CLI elsewhere with --server or CALLHOOK_URL.`;
  }
  if (error instanceof UsageError || error instanceof ConfigError || isArgError(error)) {
    return `callhook: ${(error as Error).message}\nSee \`callhook --help\`.`;
  }
  return `callhook: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}
