import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { Router } from 'express';
import type { ApiSpec } from './routes.js';

const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

// Swagger UI's own initializer points at the petstore; ours points at this server's spec and
// keeps the token a user gets from "Authorize" across reloads.
const initializer = `window.onload = () => {
  window.ui = SwaggerUIBundle({
    url: '../openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    tryItOutEnabled: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;

/** The API browser at /docs and the raw spec at /openapi.yaml and /openapi.json. */
export function docsRoutes(spec: ApiSpec): Router {
  // Matched as exactly as the API: letter case counts, a trailing slash is another path.
  const r = Router({ caseSensitive: true, strict: true });
  const json = JSON.stringify(spec.document);
  r.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(spec.text);
  });
  r.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(json);
  });
  // Swagger UI's page loads its files relative to /docs/.
  r.get('/docs', (_req, res) => res.redirect(301, '/docs/'));
  r.get('/docs/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(initializer);
  });
  r.use('/docs/', express.static(swaggerDir, { index: 'index.html', maxAge: '1h' }));
  return r;
}
