import { execFile, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './children.js';

/**
 * A private PostgreSQL cluster for one test: its own data directory in a temporary directory, its
 * own port on loopback, its own socket directory. A test may stop and start it at will without
 * touching the PostgreSQL other test files share.
 */
export interface PgCluster {
  readonly port: number;
  /** The temporary directory: `data/` (the cluster), the socket and `postgres.log`. */
  readonly dir: string;
  /** `postgres://postgres@127.0.0.1:<port>/<database>`. */
  url(database?: string): string;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Starts the cluster (same port, same data) and resolves once it accepts connections. */
  start(): Promise<void>;
  /** `fast` disconnects clients and shuts down cleanly; `immediate` is a crash, recovered at start. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops (if running), then removes the directory. Safe to call more than once. */
  destroy(): Promise<void>;
  /** The last lines of the server's log, for a failure's message. */
  logTail(lines?: number): string;
}

interface Binaries {
  bin: string;
  /** Run as this OS user (through runuser) when we are root: initdb refuses root. */
  asUser: { name: string; uid: number; gid: number } | null;
}

function findBinaries(): Binaries | string {
  const has = (dir: string) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)));
  let bin = process.env.CALLHOOK_TEST_PG_BIN ?? '';
  if (bin && !has(bin)) return `CALLHOOK_TEST_PG_BIN=${bin} lacks initdb, pg_ctl or postgres`;
  if (!bin) {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root)
      ? readdirSync(root)
          .filter((v) => has(join(root, v, 'bin')))
          .sort((a, b) => Number(b) - Number(a))
      : [];
    if (versions.length === 0)
      return `no PostgreSQL server binaries (initdb, pg_ctl, postgres) in ${root}/*/bin; set CALLHOOK_TEST_PG_BIN`;
    bin = join(root, versions[0]!, 'bin');
  }
  if (process.getuid?.() !== 0) return { bin, asUser: null };
  // As root, the cluster belongs to the `postgres` OS user.
  const runuser = spawnSync('runuser', ['--help'], { stdio: 'ignore' });
  if (runuser.error) return 'running as root and runuser is not available (initdb refuses root)';
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0)
    return 'running as root and there is no `postgres` OS user to own the cluster (initdb refuses root)';
  return { bin, asUser: { name: 'postgres', uid: Number(uid.stdout), gid: Number(gid.stdout) } };
}

const found = findBinaries();

/** Why no private cluster can be started here, or '' when one can. */
export const pgClusterUnavailable: string = typeof found === 'string' ? found : '';

/** Every cluster not yet destroyed: stopped at exit, even if a test never reached its cleanup. */
const live = new Set<() => void>();
process.once('exit', () => {
  for (const stop of live) stop();
});

/** Initialises and starts a private cluster. */
export async function startPgCluster(): Promise<PgCluster> {
  if (typeof found === 'string') throw new Error(`cannot start a private PostgreSQL cluster: ${found}`);
  const { bin, asUser } = found;
  const dir = mkdtempSync(join(tmpdir(), 'callhook-pg-'));
  if (asUser) chownSync(dir, asUser.uid, asUser.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const port = await freePort();

  const command = (tool: string, args: string[]): [string, string[]] =>
    asUser ? ['runuser', ['-u', asUser.name, '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  const logTail = (lines = 20) => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const run = (tool: string, args: string[], timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const [cmd, argv] = command(tool, args);
      execFile(cmd, argv, { cwd: dir, timeout: timeoutMs }, (err, stdout, stderr) => {
        if (!err) return resolve();
        reject(
          new Error(
            `${tool} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}\n--- postgres.log ---\n${logTail()}`,
          ),
        );
      });
    });
  const stopNow = () => {
    const [cmd, argv] = command('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
    spawnSync(cmd, argv, { cwd: dir, stdio: 'ignore', timeout: 30_000 });
  };

  let running = false;
  let destroyed = false;
  const cluster: PgCluster = {
    port,
    dir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: cluster.url() });
      await client.connect();
      try {
        await client.query(`create database ${name}`);
      } finally {
        await client.end();
      }
      return cluster.url(name);
    },
    async start() {
      if (running) return;
      await run('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '60']);
      running = true;
    },
    async stop(mode = 'fast') {
      if (!running) return;
      await run('pg_ctl', ['stop', '-D', data, '-m', mode, '-w', '-t', '60']);
      running = false;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      if (running) {
        try {
          await cluster.stop('immediate');
        } catch {
          stopNow();
        }
      }
      live.delete(stopNow);
      rmSync(dir, { recursive: true, force: true });
    },
    logTail,
  };

  live.add(stopNow);
  try {
    await run('initdb', [
      '-D',
      data,
      '-A',
      'trust',
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    // Loopback and a socket in our own directory only; durability is not what is tested here
    // (the operating system does not crash, so a stopped or crashed cluster keeps its commits).
    appendFileSync(
      join(data, 'postgresql.conf'),
      [
        '',
        '# callhook test cluster',
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        `unix_socket_directories = '${dir}'`,
        'fsync = off',
        'full_page_writes = off',
        'max_connections = 50',
        'shared_buffers = 32MB',
        '',
      ].join('\n'),
    );
    await cluster.start();
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}
