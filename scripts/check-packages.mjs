#!/usr/bin/env node
// Lint of what is published, not of the sources: packs @callhook/contract, /receiver and /client
// as a release would (scripts/pack.mjs) and checks each tarball with publint (package.json
// fields, exports, files) and "are the types wrong" (types resolve for every importer).
// attw runs with the esm-only profile: the packages are ESM only, and Node >=20.19 (their
// `engines`) loads them from CommonJS too (`require(esm)`), so CJS-only resolution modes are
// not a target.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, root } from './pack.mjs';

const bin = (name) => join(root, 'node_modules/.bin', name);
const out = mkdtempSync(join(tmpdir(), 'callhook-packed-'));
let failed = 0;
try {
  for (const tarball of pack(out)) {
    const name = tarball.slice(out.length + 1);
    for (const [tool, args] of [
      ['publint', [tarball, '--strict']],
      ['attw', [tarball, '--profile', 'esm-only', '--format', 'table-flipped']],
    ]) {
      try {
        execFileSync(bin(tool), args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        console.log(`${tool}: ${name} ok`);
      } catch (err) {
        failed++;
        console.error(`${tool}: ${name} FAILED\n${err.stdout ?? ''}${err.stderr ?? ''}`);
      }
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
