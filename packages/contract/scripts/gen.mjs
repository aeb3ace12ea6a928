#!/usr/bin/env node
// Generates the contract from spec/openapi.yaml:
//   src/openapi.gen.ts        types (paths, webhooks, components) by openapi-typescript
//   src/hey/zod.gen.ts        zod schemas by @hey-api/openapi-ts
//   src/security.gen.ts       each operation's security schemes, so the server's types can
//                             require a principal exactly where the spec asks for credentials
//   src/servers.gen.ts        where the paths are served (the spec's `servers`): the API's base
//                             path and the paths served from the host root instead
// With --check, generates into a scratch folder and fails if the committed files differ
// (someone edited the spec without regenerating).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClient } from '@hey-api/openapi-ts';
import openapiTS, { astToString } from 'openapi-typescript';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const specPath = createRequire(import.meta.url).resolve('@callhook/spec/openapi.yaml');
const check = process.argv.includes('--check');

const HEADER = '// This file is auto-generated from spec/openapi.yaml by scripts/gen.mjs. Do not edit.\n\n';

async function generate(outDir) {
  mkdirSync(outDir, { recursive: true });
  const ast = await openapiTS(pathToFileURL(specPath), {
    // Webhook payloads are form-encoded; keep `enum`s as unions (no runtime enums in types).
    exportType: false,
    alphabetize: false,
  });
  writeFileSync(join(outDir, 'openapi.gen.ts'), HEADER + astToString(ast));

  const heyOut = join(outDir, 'hey');
  await createClient({
    input: specPath,
    output: { path: heyOut, module: { extension: '.js' }, postProcess: [], clean: true },
    plugins: [{ name: 'zod', metadata: false, compatibilityVersion: 4 }],
    logs: { level: 'silent' },
  });
  // hey-api writes an index.ts re-exporting everything; our entry imports the files directly.
  rmSync(join(heyOut, 'index.ts'), { force: true });
  const spec = parse(readFileSync(specPath, 'utf8'));
  writeFileSync(join(outDir, 'security.gen.ts'), HEADER + securityModule(spec));
  writeFileSync(join(outDir, 'servers.gen.ts'), HEADER + serversModule(spec));
}

/**
 * `API_BASE_PATH` (the document's first server, a path on the host) and `ROOT_PATHS` (the paths
 * whose own `servers` is the host root). openapi-typescript leaves servers out of its types. A
 * server the clients could not reach relative to the host they are given (an absolute URL, a
 * path-level server other than `/`) has no form here, so the generator refuses it.
 */
function serversModule(spec) {
  const base = spec.servers?.[0]?.url;
  if (typeof base !== 'string' || !base.startsWith('/')) {
    throw new Error(`servers: the first server must be a path on the host (e.g. /api/v1), got ${base}`);
  }
  const rootPaths = [];
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    if (!item.servers) continue;
    const urls = item.servers.map((s) => s.url);
    if (urls.length !== 1 || urls[0] !== '/') {
      throw new Error(`${path}: a path's own servers can only be the host root [{ url: / }], got ${urls}`);
    }
    rootPaths.push(path);
  }
  return `import type { paths } from './openapi.gen.js';

/** Where the API's paths are served under the host (the spec's \`servers\`). */
export const API_BASE_PATH = '${base.replace(/\/+$/, '')}';

/** The paths served from the host root instead (their own \`servers: [{ url: / }]\`). */
export const ROOT_PATHS = [${rootPaths.map((p) => `'${p}'`).join(', ')}] as const satisfies readonly (keyof paths)[];
`;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * `operationSecurity`: for each operationId, the names of the security schemes that admit it
 * (alternatives: any one suffices; empty: none needed). openapi-typescript leaves security out
 * of its types. A requirement naming two schemes at once (both needed) has no form here, so
 * the generator refuses it rather than model it wrongly.
 */
function securityModule(spec) {
  const lines = [];
  for (const item of Object.values(spec.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const requirements = op.security ?? spec.security ?? [];
      const schemes = requirements.map((req) => {
        const names = Object.keys(req);
        if (names.length !== 1) {
          throw new Error(`${op.operationId}: a security requirement must name exactly one scheme`);
        }
        return names[0];
      });
      lines.push(`  ${op.operationId}: [${schemes.map((n) => `'${n}'`).join(', ')}],`);
    }
  }
  return `import type { operations } from './openapi.gen.js';

/**
 * The security schemes that admit each operation of the API's paths (webhooks are not served):
 * any one of them; none means no credentials.
 */
export const operationSecurity = {
${lines.join('\n')}
} as const satisfies { readonly [K in keyof operations]?: readonly string[] };
`;
}

function listFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.gen.ts'))
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

if (check) {
  const scratch = mkdtempSync(join(tmpdir(), 'callhook-gen-'));
  try {
    await generate(scratch);
    const fresh = listFiles(scratch);
    const committed = listFiles(join(pkg, 'src'));
    const drift = [];
    for (const f of new Set([...fresh, ...committed])) {
      let a = null;
      let b = null;
      try {
        a = readFileSync(join(scratch, f), 'utf8');
      } catch {}
      try {
        b = readFileSync(join(pkg, 'src', f), 'utf8');
      } catch {}
      if (a !== b) drift.push(f);
    }
    if (drift.length) {
      console.error(
        `Generated files are out of date with spec/openapi.yaml:\n  ${drift.join('\n  ')}\nRun \`pnpm gen\` and commit the result.`,
      );
      process.exit(1);
    }
    console.log(`contract: ${fresh.length} generated files match spec/openapi.yaml`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
} else {
  const scratch = mkdtempSync(join(tmpdir(), 'callhook-gen-'));
  await generate(scratch);
  rmSync(join(pkg, 'src', 'hey'), { recursive: true, force: true });
  cpSync(scratch, join(pkg, 'src'), { recursive: true });
  rmSync(scratch, { recursive: true, force: true });
  console.log(`contract: generated ${listFiles(join(pkg, 'src')).length} files from spec/openapi.yaml`);
}
