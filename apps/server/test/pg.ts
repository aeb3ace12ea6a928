import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The admin URL of the PostgreSQL server the tests run against, when they do. */
export const pgAdminUrl = process.env.CALLHOOK_TEST_DATABASE_URL ?? '';

/**
 * Creates a fresh database on the server named by `adminUrl` and returns its URL and a function
 * that drops it (closing what is still connected to it).
 */
export async function freshDatabase(
  adminUrl = pgAdminUrl,
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `callhook_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
