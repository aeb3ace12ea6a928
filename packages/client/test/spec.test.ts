import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { API_BASE_PATH, ROOT_PATHS } from '../src/client.js';

// The two routing facts the generated `paths` type cannot carry, checked against the spec text.
const spec = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '../../../spec/openapi.yaml'),
  'utf8',
);

describe('routing facts from spec/openapi.yaml', () => {
  it('serves the API under the base path of the top-level servers', () => {
    expect(spec).toMatch(
      new RegExp(`^servers:\\n {2}- url: ${API_BASE_PATH.replaceAll('.', '\\.')}\\n`, 'm'),
    );
  });

  it('serves exactly the operations that override servers with "/" from the host root', () => {
    const rootPaths = [...spec.matchAll(/^ {2}(\/\S*):\n {4}servers:\n {6}- url: \/\n/gm)].map((m) => m[1]);
    expect(rootPaths.sort()).toEqual([...ROOT_PATHS].sort());
  });
});
