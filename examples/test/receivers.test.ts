import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  callhookEnv,
  clientOf,
  freePort,
  run,
  runToEnd,
  simulatePageCall,
  startCallhook,
  startRecorder,
} from './support.js';

let callhook: Awaited<ReturnType<typeof startCallhook>>;
beforeAll(async () => {
  callhook = await startCallhook();
});
afterAll(() => callhook.stop());
afterEach(() => clientOf(callhook).subscriptions.clear(175));

/** Subscribes `url` with the client example, as its README says; returns what it printed. */
async function subscribe(url: string, ...flags: string[]) {
  const done = await runToEnd(process.execPath, ['client/subscribe.mjs', url, ...flags], {
    env: callhookEnv(callhook),
  });
  expect(done.stderr).toBe('');
  expect(done.code).toBe(0);
  const secret = /^secret (whsec_\S+)$/m.exec(done.stdout)?.[1];
  return { stdout: done.stdout, secret };
}

describe.each([
  ['express', 'GET'],
  ['hono', 'POST'],
  ['node-http', 'GET'],
])('the %s receiver', (name, method) => {
  test(`receives the page's call (${method}), verified with the one secret, and assembles it`, async () => {
    const port = await freePort();
    const { secret } = await subscribe(`http://127.0.0.1:${port}/hook?myid=175`, '--method', method);
    expect(secret).toMatch(/^whsec_/);
    const receiver = run(process.execPath, [`${name}/receiver.mjs`], {
      env: { ...process.env, CALLHOOK_SECRET: secret, PORT: String(port), QUIET_MS: '300' },
    });
    try {
      await receiver.waitFor(/^listening on http:\/\/127\.0\.0\.1:\d+\/hook$/);
      const call = await simulatePageCall(callhook);
      const line = await receiver.waitFor(/^call /);
      expect(receiver.lines(/^event /)).toEqual([
        `event dial-out ${method} ${call.call_id}`,
        `event answer ${method} ${call.call_id}`,
        `event hangup ${method} ${call.call_id}`,
      ]);
      expect(receiver.lines(/^hangup /)).toEqual([`hangup ${call.call_id} ANSWER myid=175`]);
      expect(JSON.parse(line.slice('call '.length))).toMatchObject({
        callId: call.call_id,
        direction: 'out',
        caller: '000*099',
        callee: '00010005',
        answered: true,
        status: 'ANSWER',
      });
      expect(receiver.stderr).toBe('');
    } finally {
      await receiver.stop();
    }
  });
});

test('a receiver started without its secret says what to set', async () => {
  const done = await runToEnd(process.execPath, ['node-http/receiver.mjs'], {
    env: { ...process.env, CALLHOOK_SECRET: '' },
  });
  expect(done.code).toBe(2);
  expect(done.stderr).toMatch(/CALLHOOK_SECRET/);
});

test('the client script: one secret for the three subscriptions; --simulate plays the call', async () => {
  const rx = await startRecorder();
  try {
    const first = await subscribe(`${rx.url}/show.php?myid=175`, '--simulate');
    expect(first.stdout).toMatch(/^subscriptions \d+,\d+,\d+$/m);
    expect(first.stdout).toMatch(/^simulated [0-9a-f]{32}$/m);
    // The same URL again: its secret was shown already, and is not shown again.
    const again = await subscribe(`${rx.url}/show.php?myid=176`);
    expect(again.secret).toBeUndefined();
    expect(again.stdout).toMatch(/^secret \(shared: shown when this URL was first subscribed\)$/m);
  } finally {
    await rx.close();
  }
});
