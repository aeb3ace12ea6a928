import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, describe, expect, test } from 'vitest';
import { consoleDir, consoleRoutes } from '../../src/api/console.js';

const servers: Server[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function serve(dir: string): Promise<string> {
  const app = express();
  app.use(consoleRoutes(dir));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the console at /console/', () => {
  test('is looked for in apps/console/dist', () => {
    expect(consoleDir()).toMatch(/apps\/console\/dist$/);
  });

  test('serves the built page, its hashed assets for a year, and /console redirects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callhook-console-dist-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>callhook console</title>');
    writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
    const url = await serve(dir);
    const page = await fetch(`${url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('callhook console');
    const asset = await fetch(`${url}/console/assets/index-abc.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    const bare = await fetch(`${url}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/console/');
  });

  test('says how to build it when it is not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callhook-console-none-'));
    dirs.push(dir);
    const res = await fetch(`${await serve(dir)}/console/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/not built[\s\S]*--filter=@callhook\/console/);
  });
});
