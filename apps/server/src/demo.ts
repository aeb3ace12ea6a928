import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from './config.js';
import type { Extension, Store } from './store/index.js';
import { randomAlphanumeric } from './store/secrets.js';

const DEMO_CLIENT = 'Demo';

/**
 * The page's example world: extension 175 (`000*099@sip.domain`, Iggy Pop, recording on) and
 * 200, plus agents, an IVR, a queue and a forwarding desk for the simulator's scenarios.
 */
export const demoExtensions: Array<Omit<Extension, 'clientId'>> = [
  {
    id: 175,
    name: '000*099',
    domain: 'sip.domain',
    callerIdName: 'Iggy Pop',
    recording: true,
    kind: 'phone',
  },
  {
    id: 200,
    name: '000*200',
    domain: 'sip.domain',
    callerIdName: 'David Bowie',
    recording: false,
    kind: 'phone',
  },
  {
    id: 201,
    name: '000*201',
    domain: 'sip.domain',
    callerIdName: 'Lou Reed',
    recording: true,
    kind: 'phone',
  },
  { id: 202, name: '000*202', domain: 'sip.domain', callerIdName: 'Nico', recording: true, kind: 'phone' },
  {
    id: 203,
    name: '000*203',
    domain: 'sip.domain',
    callerIdName: 'John Cale',
    recording: true,
    kind: 'phone',
  },
  {
    id: 300,
    name: '000*300',
    domain: 'sip.domain',
    callerIdName: 'Main menu',
    recording: false,
    kind: 'ivr',
  },
  {
    id: 400,
    name: '000*400',
    domain: 'sip.domain',
    callerIdName: 'Support queue',
    recording: true,
    kind: 'queue',
    agents: [201, 202, 203],
  },
  {
    id: 500,
    name: '000*500',
    domain: 'sip.domain',
    callerIdName: 'Night desk',
    recording: false,
    kind: 'phone',
    forwardTo: '+79817654321',
  },
];

export interface DemoCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * Creates the demo client once, and returns its application's credentials. Secrets are stored
 * hashed, so the demo's own secret is also kept in the data directory (demo mode only) to be
 * shown again at the next start; CALLHOOK_DEMO_CLIENT_ID/SECRET fix both instead.
 */
export async function seedDemo(store: Store, config: Config): Promise<DemoCredentials> {
  const file = join(resolve(config.dataDir), 'demo-credentials.json');
  let clientRow = await store.tenants.findClientByName(DEMO_CLIENT);
  let saved: DemoCredentials | undefined;
  if (existsSync(file)) saved = JSON.parse(readFileSync(file, 'utf8')) as DemoCredentials;
  const wanted: DemoCredentials = {
    clientId: config.demoClientId ?? saved?.clientId ?? 'demo',
    clientSecret: config.demoClientSecret ?? saved?.clientSecret ?? randomAlphanumeric(32),
  };
  if (!clientRow) {
    const clientId = await store.tenants.createClient(DEMO_CLIENT);
    clientRow = { id: clientId };
    for (const ext of demoExtensions) {
      if (!(await store.tenants.getExtension(ext.id)))
        await store.tenants.createExtension({ ...ext, clientId });
    }
    await store.subscriptions.startIdsAt(72);
  }
  const app = await store.tenants.findApplication(wanted.clientId);
  if (!app) {
    await store.tenants.createApplication({
      clientId: clientRow.id,
      name: 'Demo application',
      extensionId: 175,
      publicId: wanted.clientId,
      secret: wanted.clientSecret,
    });
  } else {
    await store.tenants.setApplicationSecret(wanted.clientId, wanted.clientSecret);
  }
  mkdirSync(resolve(config.dataDir), { recursive: true });
  writeFileSync(file, `${JSON.stringify(wanted, null, 2)}\n`, { mode: 0o600 });
  return wanted;
}
