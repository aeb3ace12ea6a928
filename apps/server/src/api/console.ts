import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';

/**
 * Where the built console is: apps/console/dist, beside this package (the same from src/api under
 * the tests and from dist/api when built).
 */
export function consoleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '../../../console/dist');
}

/** The web console (apps/console, built by Vite) at /console/. */
export function consoleRoutes(dir = consoleDir()): Router {
  const r = Router({ caseSensitive: true, strict: true });
  r.get('/console', (_req, res) => res.redirect(301, '/console/'));
  const index = join(dir, 'index.html');
  if (!existsSync(index)) {
    r.use('/console/', (_req, res) => {
      res
        .status(503)
        .type('text/plain')
        .send(
          `The console is not built (no ${index}).\n` +
            'Build it with `npx pnpm@12.4.2 turbo run build --filter=@callhook/console`; `npm start` does it too.\n',
        );
    });
    return r;
  }
  // Hashed assets never change; the page itself is always checked again.
  r.use(
    '/console/assets/',
    express.static(join(dir, 'assets'), { immutable: true, maxAge: '365d', fallthrough: false }),
  );
  r.get('/console/', (_req, res) => {
    res.set('Cache-Control', 'no-cache').sendFile(index);
  });
  return r;
}
