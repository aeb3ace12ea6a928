#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { type RunningServer, startServer } from './index.js';
import { ListenError } from './listen.js';
import type { ExtensionKind } from './store/index.js';
import { openStore } from './store/index.js';

const ADMIN_HELP = `  callhook-server admin client add --name NAME [--limit N]
  callhook-server admin app add --client ID --name NAME [--extension ID]
  callhook-server admin extension add --client ID --id N --name XXX*YYY [--domain D]
        [--caller-name NAME] [--recording] [--kind phone|ivr|queue] [--agents 201,202] [--forward-to NUMBER]
  callhook-server admin list
      Manage clients (accounts), their applications (OAuth2 credentials) and extensions, in the
      store the server uses: DATABASE_URL, or SQLite in CALLHOOK_DATA_DIR (by default
      apps/server/.callhook-data, whatever the working directory). The store is named on stderr.
`;

const HELP = `callhook-server: the callhook API server

Usage:
  callhook-server start [--demo] [--port N] [--host H]
      Start the server. Settings come from the environment (PORT, HOST, CALLHOOK_DATA_DIR,
      DATABASE_URL, CALLHOOK_TOKEN_TTL, CALLHOOK_EXTENSION_LIMIT, CALLHOOK_CLIENT_LIMIT,
      CALLHOOK_ALLOW_TARGETS, CALLHOOK_PUBLIC_URL, CALLHOOK_PBX_KEY, ...; see the README) or
      a JSON file named by CALLHOOK_CONFIG. --demo seeds the page's example client and
      extensions, enables the simulator and allows loopback targets.

${ADMIN_HELP}
  Calls on the simulated PBX are played with the client's CLI: callhook simulate (one scenario)
  and callhook simulate --mix (a random mix at a rate); see callhook --help.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return command ? 0 : 1;
  }
  if (command === 'start') return start(rest);
  if (command === 'admin') return admin(rest);
  if (command === 'simulate') {
    process.stderr.write(
      'callhook-server simulate is now the client CLI\'s "callhook simulate" (npm run callhook -- simulate --help).\n',
    );
    return 2;
  }
  process.stderr.write(`Unknown command "${command}".\n\n${HELP}`);
  return 2;
}

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { demo: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string' } },
  });
  const running = await startServer({
    ...(values.demo ? { demo: true } : {}),
    ...(values.port ? { port: Number(values.port) } : {}),
    ...(values.host ? { host: values.host } : {}),
  });
  printBanner(running);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, 'shutting down: finishing requests and deliveries under way');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await running.close();
    running.logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return new Promise<number>(() => {});
}

function printBanner(s: RunningServer): void {
  const lines = [
    '',
    `  callhook is listening on ${s.url}`,
    `  store:        ${s.store.dialect} (${s.store.location})`,
    `  sending:      ${s.sendThreads === 0 ? 'on the main thread' : `${s.sendThreads} thread${s.sendThreads === 1 ? '' : 's'}`} (CALLHOOK_SEND_THREADS=${s.config.sendThreads})`,
    `  API docs:     ${s.url}/docs`,
    `  console:      ${s.url}/console/   (sign in with the client credentials)`,
    `  health:       ${s.url}/healthz     metrics: ${s.url}/metrics`,
  ];
  if (s.demo) {
    lines.push(
      '',
      "  Demo mode: the client of the provider's example, extensions 175 (000*099, Iggy Pop), 200,",
      '  201-203 (agents), 300 (IVR), 400 (queue), 500 (forwards outside); loopback targets allowed.',
      `  client_id:     ${s.demo.clientId}`,
      `  client_secret: ${s.demo.clientSecret}`,
      `  PBX key:       ${s.pbxKey}`,
      '',
      "  Get a token, then list extension 175's subscriptions (paste both lines):",
      `    TOKEN=$(curl -s -d grant_type=client_credentials -d client_id=${s.demo.clientId} -d client_secret=${s.demo.clientSecret} ${s.url}/oauth/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`,
      `    curl -H "Authorization: Bearer $TOKEN" ${s.apiUrl}/extension/175/event/`,
      '',
      "  Or watch the provider's example call end to end: npm run demo",
    );
  } else {
    lines.push(
      `  PBX key:      ${s.config.pbxKey === s.pbxKey && process.env.CALLHOOK_PBX_KEY ? '(from CALLHOOK_PBX_KEY)' : `${s.pbxKey} (set CALLHOOK_PBX_KEY to fix it)`}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

async function admin(args: string[]): Promise<number> {
  const [what, verb, ...rest] = args;
  if (!what || what === 'help' || args.includes('--help') || args.includes('-h')) {
    (what ? process.stdout : process.stderr).write(`Usage:\n${ADMIN_HELP}`);
    return what ? 0 : 2;
  }
  const config = loadConfig();
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, poolSize: 2 });
  process.stderr.write(
    `store: ${store.dialect} (${store.location.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')})\n`,
  );
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        name: { type: 'string' },
        limit: { type: 'string' },
        client: { type: 'string' },
        extension: { type: 'string' },
        id: { type: 'string' },
        domain: { type: 'string' },
        'caller-name': { type: 'string' },
        recording: { type: 'boolean' },
        kind: { type: 'string' },
        agents: { type: 'string' },
        'forward-to': { type: 'string' },
      },
    });
    const need = (key: keyof typeof values): string => {
      const v = values[key];
      if (typeof v !== 'string' || v === '') throw new UsageError(`--${key} is required`);
      return v;
    };
    const num = (key: keyof typeof values): number => {
      const n = Number(need(key));
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${key} must be a positive whole number`);
      return n;
    };
    if (what === 'client' && verb === 'add') {
      const id = await store.tenants.createClient(need('name'), values.limit ? num('limit') : null);
      process.stdout.write(`client ${id} created\n`);
    } else if (what === 'app' && verb === 'add') {
      const clientId = num('client');
      if (!(await store.tenants.getClient(clientId)))
        throw new UsageError(`client ${clientId} does not exist`);
      const app = await store.tenants.createApplication({
        clientId,
        name: need('name'),
        extensionId: values.extension ? num('extension') : null,
      });
      process.stdout.write(
        `application created; keep the secret, it is not shown again\nclient_id=${app.publicId}\nclient_secret=${app.secret}\n`,
      );
    } else if (what === 'extension' && verb === 'add') {
      const clientId = num('client');
      if (!(await store.tenants.getClient(clientId)))
        throw new UsageError(`client ${clientId} does not exist`);
      const kind = (values.kind ?? 'phone') as ExtensionKind;
      if (!['phone', 'ivr', 'queue'].includes(kind))
        throw new UsageError('--kind must be phone, ivr or queue');
      await store.tenants.createExtension({
        id: num('id'),
        clientId,
        name: need('name'),
        domain: values.domain ?? 'sip.domain',
        ...(values['caller-name'] ? { callerIdName: values['caller-name'] } : {}),
        recording: values.recording === true,
        kind,
        ...(values.agents ? { agents: values.agents.split(',').map(Number) } : {}),
        ...(values['forward-to'] ? { forwardTo: values['forward-to'] } : {}),
      });
      process.stdout.write(`extension ${values.id} created\n`);
    } else if (what === 'list') {
      for (const c of await store.tenants.listClients()) {
        process.stdout.write(
          `client ${c.id} ${c.name}${c.subscriptionLimit ? ` (limit ${c.subscriptionLimit})` : ''}\n`,
        );
        for (const a of await store.tenants.listApplications(c.id)) {
          process.stdout.write(
            `  application ${a.name}: client_id=${a.publicId}${a.extensionId ? ` @me=${a.extensionId}` : ''}\n`,
          );
        }
        for (const e of await store.tenants.listExtensions(c.id)) {
          process.stdout.write(
            `  extension ${e.id} ${e.name}@${e.domain} ${e.kind}${e.callerIdName ? ` "${e.callerIdName}"` : ''}${e.recording ? ' recording' : ''}\n`,
          );
        }
      }
    } else {
      throw new UsageError(`unknown admin command "${[what, verb].filter(Boolean).join(' ')}"`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof ListenError) {
      process.stderr.write(`callhook-server: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`callhook-server: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
