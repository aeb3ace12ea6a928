// The READMEs' shell commands, as written, against a server started the way the README says
// (`npm start`). Every command of every fenced shell block is planned below: run and checked,
// started and probed (servers, `listen`), or left out with the reason. A command no plan knows
// fails the first test, so a README cannot gain a command that nothing tries.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bare, type Command, commandsOf, readmes } from './commands.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

type Plan =
  /** Starts the server every other command talks to; stopped with Ctrl-C at the end. */
  | { how: 'server' }
  /** Runs to its end: exit 0, and its output matches `expect`. */
  | { how: 'run'; expect?: RegExp; timeoutMs?: number }
  /** `export …`: applies to the commands after it in the same README, as in one terminal. */
  | { how: 'env' }
  /** Runs until Ctrl-C: started, `ready` awaited, probed, then interrupted at the end of its README. */
  | { how: 'long'; ready: RegExp; probe?: 'calls' | 'receiver' }
  /** Deliberately not run. */
  | { how: 'skip'; reason: string };

const PLANS: Array<[RegExp, Plan]> = [
  [/^npm start$/, { how: 'server' }],
  [/^npm test$/, { how: 'skip', reason: 'it is the suite this test is part of' }],
  [
    /^npm run demo$/,
    {
      how: 'run',
      expect: /Done: dial-out, answer and hangup arrived in order, signatures ok/,
      timeoutMs: 150_000,
    },
  ],
  [/^export CALLHOOK_URL=/, { how: 'env' }],
  [
    /^npm run callhook -- listen -e 175$/,
    { how: 'long', ready: /they are removed when you press Ctrl-C/, probe: 'calls' },
  ],
  [
    /^npm run callhook -- listen -e 175 --events dial-in,hangup --forward /,
    { how: 'long', ready: /Forwarding each event to http:\/\/localhost:3000\/hook/ },
  ],
  [
    /^npm run callhook -- simulate -e 175 --scenario outgoing --number 00010005$/,
    { how: 'run', expect: /^Call [0-9a-f]{32}: 3 event\(s\) under way \(outgoing\)\.$/m },
  ],
  [
    /^npm run callhook -- simulate --mix --rate 5 --count 20 --speed 10$/,
    {
      how: 'run',
      expect: /^20 calls started in \d+\.\d s \(\d+\.\d\/s\), 0 refused, \d+ events$/m,
    },
  ],
  [
    /^npm run callhook -- events add -e 175 /,
    { how: 'run', expect: /^72\s+dial-in\s+POST\s+http:\/\/localhost:3000\/hook\s+yes\s+whsec_/m },
  ],
  [/^npm run callhook -- events list -e 175$/, { how: 'run', expect: /^72\s+dial-in/m }],
  [/^npm run callhook -- events update 72 -e 175 --enable$/, { how: 'run', expect: /72/ }],
  [/^npm run callhook -- deliveries list -e 175 --subscription 72 --status failed$/, { how: 'run' }],
  [
    /^npm run callhook -- deliveries recover -e 175 --subscription 72 --since /,
    { how: 'run', expect: /failed deliveries queued again/ },
  ],
  [/^npm run callhook -- secret rotate 72 -e 175 --grace 3600$/, { how: 'run', expect: /whsec_/ }],
  [/^npm run callhook -- --help$/, { how: 'run', expect: /Usage: callhook <command>/ }],
  [
    /^npm run callhook-receiver -- --port 8081 --secret whsec_\.\.\.$/,
    { how: 'long', ready: /listening on .* \(verifying signatures\)/, probe: 'receiver' },
  ],
  [/^node apps\/server\/dist\/cli\.js admin list$/, { how: 'run', expect: /^client 1 Demo$/m }],
  [/^npm run setup$/, { how: 'run', timeoutMs: 150_000 }],
  [
    /^npm run demo:sip$/,
    {
      how: 'skip',
      reason:
        'needs Kamailio, sipp and NATS: apps/server/test/sip/demo.test.ts runs it (and fails in CI without them)',
    },
  ],
  [
    /^npx pnpm@12\.4\.2 bench:/,
    {
      how: 'skip',
      reason: 'benchmarks run for minutes and print figures; the README quotes runs made by hand',
    },
  ],
  [
    /^npx pnpm@12\.4\.2 gen$/,
    {
      how: 'skip',
      reason: 'it rewrites the generated files of this checkout; npm run lint checks they match the spec',
    },
  ],
  [
    /^npx pnpm@12\.4\.2 --filter @callhook\/\w+ (bench:|screenshots|dev)/,
    { how: 'skip', reason: 'benchmarks, screenshots and the dev server run for minutes or rewrite files' },
  ],
  [/^npm run pack:release$/, { how: 'run', expect: /callhook-client-0\.1\.0\.tgz/, timeoutMs: 150_000 }],
  [
    /^(npm install \.\/callhook-|\.\/node_modules\/\.bin\/callhook-|npm install hono )/,
    {
      how: 'skip',
      reason:
        "they belong in the reader's own project: examples/test/packed.test.ts installs the packed tarballs with npm in an empty folder and runs the client, a receiver and the bins",
    },
  ],
  [
    /^(node client\/subscribe\.mjs |CALLHOOK_SECRET=whsec_\.\.\. (PORT=8081 node (express|hono|node-http)\/receiver\.mjs|sh send-signed\.sh ))/,
    {
      how: 'skip',
      reason:
        'examples/test runs each example (the client script, each receiver, send-signed.sh) against a real server, with the secret the client script printed',
    },
  ],
  [/^npm run lint$/, { how: 'skip', reason: 'CI runs it right after npm test (.ci/run)' }],
  [/^npm run format$/, { how: 'skip', reason: 'it rewrites files of this checkout' }],
];

function planOf(command: Command): Plan | undefined {
  return PLANS.find(([pattern]) => pattern.test(bare(command.text)))?.[1];
}

/** Which README's commands run first: the client's numbers the first subscription 72, as it says. */
const ORDER = ['packages/client/README.md', 'packages/receiver/README.md', 'README.md'];

/** A port nothing holds now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A command in `bash -c`, in its own process group as a terminal's foreground job is. */
class Shell {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly text: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn('bash', ['-c', text], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.output += d;
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.output += d;
    });
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => resolve({ code, signal })),
    );
  }

  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.output);
      if (match) return match;
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`\`${this.text}\`: no ${pattern} (exit ${this.child.exitCode}) in:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ctrl-C: SIGINT to the whole foreground group, as a terminal sends it. */
  interrupt(): void {
    this.signal('SIGINT');
  }

  signal(signal: NodeJS.Signals): void {
    try {
      if (this.child.pid) process.kill(-this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }
}

async function run(
  text: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 90_000,
): Promise<{ code: number | null; output: string }> {
  const shell = new Shell(text, env);
  const timer = setTimeout(() => shell.signal('SIGKILL'), timeoutMs);
  const { code } = await shell.exited;
  clearTimeout(timer);
  return { code, output: shell.output };
}

const commands = readmes(ROOT).flatMap((file) => commandsOf(ROOT, file));
let port: number;
let receiverPort: number;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let server: Shell | undefined;
let clientSecret = '';
let receiverSecret = '';
const leftovers: Shell[] = [];

/**
 * What the test changes in a command before running it, and why. Nothing else is changed.
 * - `127.0.0.1:8080` → the test server's port: another server may hold 8080 on a shared machine
 *   (the test starts `npm start` with PORT set to that port, which the README's table documents).
 * - `<printed by npm start>` → the client_secret `npm start` printed.
 * - `whsec_...` → the signing secret of a subscription the test makes for the receiver.
 * - `--port 8081` → a free port, for the same reason as 8080.
 */
function substitute(text: string): string {
  return text
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)
    .replaceAll('<printed by npm start>', clientSecret)
    .replaceAll('whsec_...', receiverSecret)
    .replaceAll('--port 8081', `--port ${receiverPort}`);
}

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const token = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'demo',
      client_secret: clientSecret,
    }),
  });
  const { access_token } = (await token.json()) as { access_token: string };
  return fetch(`http://127.0.0.1:${port}/api/ver1.0${path}`, {
    ...init,
    headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json', ...init.headers },
  });
}

beforeAll(async () => {
  port = await freePort();
  receiverPort = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'callhook-readme-'));
  // A terminal of someone who just cloned: none of the settings of the `npm test` running this.
  env = { ...process.env, PORT: String(port), CALLHOOK_DATA_DIR: dataDir, NO_COLOR: '1' };
  for (const name of Object.keys(env))
    if (/^(npm_|CALLHOOK_(?!DATA_DIR)|DATABASE_URL$|PG)/.test(name)) delete env[name];

  const start = commands.find((c) => planOf(c)?.how === 'server');
  if (!start) throw new Error('no README says `npm start`');
  server = new Shell(bare(start.text), env);
  const banner = await server.waitFor(/client_secret: (\S+)/, 400_000);
  clientSecret = banner[1]!;
}, 420_000);

afterAll(async () => {
  for (const shell of leftovers) shell.signal('SIGKILL');
  if (server) {
    server.interrupt();
    const stopped = await Promise.race([server.exited, new Promise((r) => setTimeout(r, 40_000))]);
    if (!stopped) server.signal('SIGKILL');
  }
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe("the READMEs' commands, as written", () => {
  test('every shell command of every README is planned here: run, started and probed, or left out with a reason', () => {
    const unplanned = commands.filter((c) => !planOf(c)).map((c) => `${c.file}:${c.line}: ${c.text}`);
    expect(unplanned).toEqual([]);
    // Never a bare npx of a package name that is not published (anyone could publish it).
    const npx = commands.filter((c) => /\bnpx\s+(?!--yes\s+pnpm@|pnpm@)/.test(c.text));
    expect(npx.map((c) => `${c.file}:${c.line}: ${c.text}`)).toEqual([]);
    const installs = readmes(ROOT).flatMap((file) =>
      commandsOf(ROOT, file).filter((c) =>
        /\b(npm (install|i)|pnpm add|yarn add)\s+@callhook\//.test(c.text),
      ),
    );
    expect(installs).toEqual([]);
    const skipped = commands.flatMap((c) => {
      const plan = planOf(c);
      return plan?.how === 'skip' ? [`${c.text} — ${plan.reason}`] : [];
    });
    console.log(`README commands not run:\n  ${skipped.join('\n  ')}`);
  });

  test('npm start: the server it starts answers, in the data folder it names, with the credentials it printed', async () => {
    expect(server!.output).toContain(`callhook is listening on http://127.0.0.1:${port}`);
    expect(server!.output).toContain(`store:        sqlite (${join(dataDir, 'callhook.db')})`);
    // CALLHOOK_SEND_THREADS's row: `auto` by default, one sending thread if there is a second core
    // (a container's CPU quota counted).
    // Imported here: the server package is built by the `npm start` above.
    const { usableCores } = await import('@callhook/server');
    const sending = usableCores() > 1 ? '1 thread' : 'on the main thread';
    expect(server!.output).toContain(`sending:      ${sending} (CALLHOOK_SEND_THREADS=auto)`);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await api('/extension/175/event/')).status).toBe(200);
  });

  const files = [...new Set(commands.map((c) => c.file))].sort(
    (a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99),
  );
  const ran = new Set<string>();
  for (const file of files) {
    const runnable = commands.filter(
      (c) => c.file === file && !['skip', 'server'].includes(planOf(c)?.how ?? ''),
    );
    if (runnable.length === 0) continue;
    test(`${file}: its commands in order`, async () => {
      let exports = '';
      const running: Array<{ shell: Shell; plan: Extract<Plan, { how: 'long' }> }> = [];
      for (const command of commands.filter((c) => c.file === file)) {
        const plan = planOf(command)!;
        const text = substitute(command.text);
        const where = `${file}:${command.line}: ${command.text}`;
        if (plan.how === 'env') {
          exports += `${text}\n`;
          continue;
        }
        if (plan.how === 'skip' || plan.how === 'server') continue;
        if (plan.how === 'run') {
          const result = await run(`${exports}${text}`, env, plan.timeoutMs);
          expect(result.code, `${where}\n${result.output}`).toBe(0);
          if (plan.expect) expect(result.output, where).toMatch(plan.expect);
          if (bare(command.text) === 'npm run demo') await demoHint(result.output);
          continue;
        }
        // A server or listener shown in two READMEs is tried once.
        if (ran.has(bare(command.text))) continue;
        ran.add(bare(command.text));
        if (plan.probe === 'receiver') {
          // Something for it to receive: a subscription of its own, whose secret the command takes.
          const created = await api('/extension/175/event/', {
            method: 'POST',
            body: JSON.stringify({
              url: `http://127.0.0.1:${receiverPort}/hook`,
              event_type: 'hangup',
              method: 'POST',
            }),
          });
          expect(created.status).toBe(200);
          receiverSecret = ((await created.json()) as { secret: string }).secret;
        }
        const shell = new Shell(`${exports}${substitute(command.text)}`, env);
        leftovers.push(shell);
        running.push({ shell, plan });
        await shell.waitFor(plan.ready, 90_000);
        if (plan.probe === 'receiver') {
          const call = await api('/pbx/simulate/', {
            method: 'POST',
            body: JSON.stringify({ scenario: 'outgoing', extension_id: 175, number: '00010005', speed: 20 }),
          });
          expect(call.status).toBe(202);
          await shell.waitFor(/EventType => hangup/, 60_000);
          await shell.waitFor(/====== call [0-9a-f]{32}/, 60_000);
        }
      }
      // What runs until Ctrl-C: what it showed, then Ctrl-C, which it answers by cleaning up.
      for (const { shell, plan } of running) {
        if (plan.probe === 'calls') {
          // The simulate command above played the page's call: listen printed its events.
          for (const type of ['dial-out', 'answer', 'hangup'])
            await shell.waitFor(new RegExp(`${type}\\s+000\\*099 \\(Iggy Pop\\) → 00010005`), 60_000);
        }
        shell.interrupt();
        await shell.exited;
        // Deliveries already on their way when Ctrl-C came are still answered and printed, so event
        // lines may fall between the two messages; anything else there (an error) fails.
        if (/callhook -- listen/.test(shell.text))
          expect(shell.output).toMatch(
            /Removing the \d+ subscription\(s\)…\n(?:\d\d:\d\d:\d\d\.\d{3} .*\n)*Done\./,
          );
      }
    });
  }

  /** The demo's closing hint is a command too: run it as it is printed, with the server's secret. */
  async function demoHint(output: string): Promise<void> {
    const hint =
      /^\s*(CALLHOOK_CLIENT_ID=demo CALLHOOK_CLIENT_SECRET=\.\.\. npm run callhook -- listen -e 175)\s*$/m.exec(
        output,
      );
    expect(hint, output).not.toBeNull();
    const shell = new Shell(hint![1]!.replace('...', clientSecret), {
      ...env,
      CALLHOOK_URL: `http://127.0.0.1:${port}`,
    });
    leftovers.push(shell);
    await shell.waitFor(/they are removed when you press Ctrl-C/, 90_000);
    shell.interrupt();
    await shell.exited;
    expect(shell.output).toMatch(/Done\./);
  }

  test('the README and the receiver’s README say the same about order', () => {
    const main = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const receiver = readFileSync(join(ROOT, 'packages/receiver/README.md'), 'utf8');
    expect(main).toMatch(
      /Events of one call reach one endpoint \(URL without its query\) in the\s+order they happened/,
    );
    expect(receiver).toMatch(
      /one call's events to one endpoint \(the URL without its query\) in the\s+order they happened/,
    );
    expect(receiver).not.toMatch(/no ordering promise/);
  });

  test("the README's package map is the tree: every package and server room it names exists, and none is left out", () => {
    const main = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const map = /## The packages\n\n```\n([\s\S]*?)```/.exec(main)?.[1] ?? '';
    const named = (re: RegExp) => new Set([...map.matchAll(re)].map((m) => m[1]!));
    const dirs = (path: string) =>
      readdirSync(join(ROOT, path), { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(ROOT, path, e.name, 'package.json')))
        .map((e) => `${path}/${e.name}`);
    // Workspace packages: every one in the map, and nothing in the map that is not one.
    expect([...named(/((?:packages|apps)\/[a-z]+)/g)].sort()).toEqual(
      [...dirs('packages'), ...dirs('apps')].sort(),
    );
    // The server's rooms (apps/server/src/*/), each on its own line of the map.
    const rooms = readdirSync(join(ROOT, 'apps/server/src'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect([...named(/^ {3}([a-z]+)\/ /gm)].sort()).toEqual(rooms.sort());
  });
});
