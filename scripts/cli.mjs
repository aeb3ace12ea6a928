#!/usr/bin/env node
// `npm run callhook -- …` and `npm run callhook-receiver -- …`: a package's CLI from the root of
// this checkout, right after `npm start`. Builds what the CLI needs first (quietly: turbo's cache
// makes that a moment once built; its output is shown only if the build fails), then runs the
// package's own built bin with the arguments given, and exits with its exit code.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLIS = {
  client: { name: '@callhook/client', bin: 'packages/client/dist/cli.js' },
  receiver: { name: '@callhook/receiver', bin: 'packages/receiver/dist/cli.js' },
  server: { name: '@callhook/server', bin: 'apps/server/dist/cli.js' },
};

const [which, ...args] = process.argv.slice(2);
const cli = CLIS[which];
if (!cli) {
  console.error(`usage: node scripts/cli.mjs ${Object.keys(CLIS).join('|')} [arguments]`);
  process.exit(2);
}

const turbo = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'turbo.cmd' : 'turbo');
if (!existsSync(turbo)) {
  // Not installed yet (a fresh clone): install as `npm run setup` does, its output on stderr.
  const setup = spawnSync(process.execPath, [join(root, 'scripts', 'bootstrap.mjs')], {
    cwd: root,
    stdio: ['ignore', 2, 2],
  });
  if (setup.status !== 0) process.exit(setup.status ?? 1);
}
const build = spawnSync(
  turbo,
  ['run', 'build', `--filter=${cli.name}...`, '--output-logs=errors-only', '--ui=stream'],
  { cwd: root, encoding: 'utf8', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } },
);
if (build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`);
  console.error(`\ncallhook: building ${cli.name} failed (exit ${build.status}); see above.`);
  process.exit(build.status ?? 1);
}

// The CLI runs in the caller's directory (relative paths in its arguments mean what they say).
const child = spawn(process.execPath, [join(root, cli.bin), ...args], { stdio: 'inherit' });
// Ctrl-C reaches the CLI from the terminal itself: let it finish its own clean-up and exit as it
// chooses. A signal sent to this process alone is passed on.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGHUP', () => child.kill('SIGHUP'));
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
