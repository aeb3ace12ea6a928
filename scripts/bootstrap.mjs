#!/usr/bin/env node
// Installs the workspace with the pinned pnpm, needing nothing but Node and npm.
// pnpm itself comes from npx (pinned to packageManager), so a fresh machine needs no global install.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const env = { ...process.env };

// better-sqlite3 builds from source when its prebuilt binary cannot be fetched; node-gyp then
// wants Node's headers. Point it at the headers the system's Node ships, when they are there,
// so the build needs no download. pnpm ignores `nodedir` in .npmrc, so it goes in the environment.
const systemHeaders = '/usr/include/node/node_version.h';
if (!env.npm_config_nodedir && existsSync(systemHeaders)) {
  const header = readFileSync(systemHeaders, 'utf8');
  const v = (name) => header.match(new RegExp(`#define ${name} (\\d+)`))?.[1];
  if (
    `v${v('NODE_MAJOR_VERSION')}.${v('NODE_MINOR_VERSION')}.${v('NODE_PATCH_VERSION')}` === process.version
  ) {
    env.npm_config_nodedir = '/usr';
  }
}

const frozen = env.CI ? ['--frozen-lockfile'] : [];
const result = spawnSync('npx', ['--yes', packageManager, 'install', ...frozen], {
  cwd: root,
  env,
  stdio: 'inherit',
});
if (result.status !== 0) {
  console.error(`\ncallhook: "${packageManager} install" failed (exit ${result.status}).`);
  process.exit(result.status ?? 1);
}
