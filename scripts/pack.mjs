#!/usr/bin/env node
// Packs the published packages into release tarballs: `npm run pack:release` → packed/*.tgz.
// `pnpm pack` (not `npm pack`) because it rewrites `workspace:*` ranges to the versions they
// point at, which plain npm then installs; the three tarballs install together from files,
// before anything is on a registry. Usage: node scripts/pack.mjs [out-dir] (builds first).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The packages that are published, in dependency order. */
export const published = ['contract', 'receiver', 'client'];
const pnpm = join(root, 'node_modules/.bin/pnpm');

/** Builds the published packages and packs each into `out`; returns the tarballs' paths. */
export function pack(out = join(root, 'packed'), { build = true } = {}) {
  if (build) {
    execFileSync(
      pnpm,
      [
        'turbo',
        'run',
        'build',
        '--output-logs=errors-only',
        ...published.map((p) => `--filter=@callhook/${p}`),
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const name of published) {
    execFileSync(pnpm, ['pack', '--pack-destination', out], {
      cwd: join(root, 'packages', name),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return readdirSync(out)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(out, f));
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(root, 'packed'));
  for (const tarball of pack(out)) console.log(tarball);
}
