// What a newcomer does: the release tarballs (scripts/pack.mjs, `pnpm pack`) installed with plain
// npm into an empty project outside the workspace, then the client script and the Express
// receiver of these examples run from there against a real server, and the bins run with npx.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { pack } from '../../scripts/pack.mjs';
import {
  callhookEnv,
  examples,
  freePort,
  run,
  runToEnd,
  simulatePageCall,
  startCallhook,
} from './support.js';

let project: string;
let callhook: Awaited<ReturnType<typeof startCallhook>>;

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'callhook-newcomer-'));
  // The workspace's dist is built (turbo builds dependencies before tests): pack it as a release would.
  const tarballs = (pack(join(project, 'packed'), { build: false }) as string[]).sort();
  expect(tarballs.map((t) => t.slice(t.lastIndexOf('/') + 1))).toEqual([
    'callhook-client-0.1.0.tgz',
    'callhook-contract-0.1.0.tgz',
    'callhook-receiver-0.1.0.tgz',
  ]);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'newcomer', private: true, type: 'module' }),
  );
  const installed = await runToEnd(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      ...tarballs,
      'express@5.3.0',
      'typescript@5.9.3',
      '@types/node@20',
    ],
    { cwd: project },
  );
  if (installed.code !== 0) throw new Error(`npm install failed:\n${installed.stdout}\n${installed.stderr}`);
  // The examples, copied as they are: their imports resolve to the installed packages.
  for (const file of ['shared.mjs', 'express/receiver.mjs', 'client/subscribe.mjs']) {
    mkdirSync(join(project, file, '..'), { recursive: true });
    cpSync(join(examples, file), join(project, file));
  }
  callhook = await startCallhook();
}, 240_000);

afterAll(async () => {
  await callhook?.stop();
  rmSync(project, { recursive: true, force: true });
});

test('the client script and the Express receiver, installed from the tarballs, receive and assemble the call', async () => {
  const port = await freePort();
  const subscribed = await runToEnd(
    process.execPath,
    ['client/subscribe.mjs', `http://127.0.0.1:${port}/hook?myid=175`],
    { cwd: project, env: callhookEnv(callhook) },
  );
  expect(subscribed.code).toBe(0);
  const secret = /^secret (whsec_\S+)$/m.exec(subscribed.stdout)?.[1];
  expect(secret).toBeDefined();
  const receiver = run(process.execPath, ['express/receiver.mjs'], {
    cwd: project,
    env: { ...process.env, CALLHOOK_SECRET: secret, PORT: String(port), QUIET_MS: '300' },
  });
  try {
    await receiver.waitFor(/^listening on /);
    const call = await simulatePageCall(callhook);
    const line = await receiver.waitFor(/^call /);
    expect(JSON.parse(line.slice(5))).toMatchObject({
      callId: call.call_id,
      answered: true,
      status: 'ANSWER',
    });
    expect(receiver.lines(/^event /)).toHaveLength(3);
  } finally {
    await receiver.stop();
  }
});

test('the bins run with npx from the installed tarballs', async () => {
  const client = await runToEnd('npx', ['--no-install', 'callhook', '--help'], { cwd: project });
  expect(client.code).toBe(0);
  expect(client.stdout + client.stderr).toMatch(/callhook/i);
  const receiver = await runToEnd('npx', ['--no-install', 'callhook-receiver', '--help'], { cwd: project });
  expect(receiver.code).toBe(0);
  expect(receiver.stdout).toMatch(/^Usage: callhook-receiver/);
});

test('types resolve for a TypeScript user (NodeNext), and CommonJS can require the ESM packages', async () => {
  writeFileSync(
    join(project, 'check.ts'),
    [
      "import { createCallhookClient } from '@callhook/client';",
      "import { WebhookReceiver } from '@callhook/receiver';",
      "import type { EventType, SubscriptionCreated } from '@callhook/contract';",
      "const type: EventType = 'hangup';",
      "const receiver = new WebhookReceiver({ secret: 'whsec_AAAA' });",
      'receiver.on(type, (event) => console.log(event.CallStatus, event.Duration));',
      "const client = createCallhookClient({ baseUrl: 'http://127.0.0.1', token: 't' });",
      'export const created: Promise<SubscriptionCreated> = client.subscriptions.create(175, { url: "https://x/", event_type: type, method: "GET" });',
      '',
    ].join('\n'),
  );
  const tsc = await runToEnd(
    process.execPath,
    [
      join(project, 'node_modules/typescript/bin/tsc'),
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--types',
      'node',
      'check.ts',
    ],
    { cwd: project },
  );
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.code).toBe(0);
  // Node >= 20.19 (the packages' engines) loads ESM from require(): no CommonJS build needed.
  const cjs = await runToEnd(
    process.execPath,
    [
      '-e',
      "const r = require('@callhook/receiver'); const c = require('@callhook/client'); console.log(typeof r.WebhookReceiver, typeof c.createCallhookClient)",
    ],
    { cwd: project },
  );
  expect(cjs.stdout.trim()).toBe('function function');
});
