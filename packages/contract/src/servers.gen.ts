// This file is auto-generated from spec/openapi.yaml by scripts/gen.mjs. Do not edit.

import type { paths } from './openapi.gen.js';

/** Where the API's paths are served under the host (the spec's `servers`). */
export const API_BASE_PATH = '/api/ver1.0';

/** The paths served from the host root instead (their own `servers: [{ url: / }]`). */
export const ROOT_PATHS = ['/oauth/token', '/healthz'] as const satisfies readonly (keyof paths)[];
