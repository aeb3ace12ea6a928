import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configPath, resolveConnection } from '../src/cli/config.js';

function configFile(profiles: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'callhook-config-')), 'config.json');
  writeFileSync(path, JSON.stringify(profiles));
  return path;
}

const file = configFile({
  profiles: {
    default: { url: 'http://file-default', client_id: 'file-id', client_secret: 'file-secret' },
    staging: { url: 'http://file-staging', client_id: 'staging-id', client_secret: 'staging-secret' },
  },
});
const env = {
  CALLHOOK_CLI_CONFIG: file,
  CALLHOOK_URL: 'http://env',
  CALLHOOK_CLIENT_ID: 'env-id',
  CALLHOOK_CLIENT_SECRET: 'env-secret',
};

describe('connection settings', () => {
  it('takes flags over the environment over the default profile, and says where each came from', () => {
    expect(resolveConnection({ 'client-secret': 'flag-secret' }, env)).toEqual({
      url: 'http://env',
      clientId: 'env-id',
      clientSecret: 'flag-secret',
      sources: { url: 'CALLHOOK_URL', clientId: 'CALLHOOK_CLIENT_ID', clientSecret: '--client-secret' },
    });
    expect(resolveConnection({}, { CALLHOOK_CLI_CONFIG: file, CALLHOOK_CLIENT_ID: 'env-id' })).toMatchObject({
      url: 'http://file-default',
      clientId: 'env-id',
      clientSecret: 'file-secret',
      sources: { url: `profile "default" in ${file}` },
    });
  });

  it('lets a profile asked for by flag win over the environment', () => {
    expect(resolveConnection({ profile: 'staging', server: 'http://flag' }, env)).toMatchObject({
      url: 'http://flag',
      clientId: 'staging-id',
      clientSecret: 'staging-secret',
    });
    // Named through the environment it is only a default, below the other variables.
    expect(resolveConnection({}, { ...env, CALLHOOK_PROFILE: 'staging' })).toMatchObject({
      clientId: 'env-id',
    });
  });

  it('falls back to the local demo server and no credentials when nothing is configured', () => {
    expect(resolveConnection({}, { HOME: '/nonexistent' })).toEqual({
      url: 'http://127.0.0.1:8080',
      sources: { url: 'the default' },
    });
  });

  it('finds the file by --config, CALLHOOK_CLI_CONFIG, XDG_CONFIG_HOME, then HOME', () => {
    expect(configPath({ config: '/a.json' }, { CALLHOOK_CLI_CONFIG: '/b.json' })).toBe('/a.json');
    expect(configPath({}, { CALLHOOK_CLI_CONFIG: '/b.json', XDG_CONFIG_HOME: '/x' })).toBe('/b.json');
    expect(configPath({}, { XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/callhook/config.json');
    expect(configPath({}, { HOME: '/h' })).toBe('/h/.config/callhook/config.json');
    // CALLHOOK_CONFIG is the server's settings file, never the CLI's profiles.
    expect(configPath({}, { CALLHOOK_CONFIG: '/server.json', HOME: '/h' })).toBe(
      '/h/.config/callhook/config.json',
    );
  });

  it('explains a broken or missing file', () => {
    expect(() => resolveConnection({ profile: 'x' }, { HOME: '/nonexistent' })).toThrow(
      /cannot read the config file \/nonexistent\/\.config\/callhook\/config\.json/,
    );
    const broken = configFile({ default: { url: 'x' } });
    expect(() => resolveConnection({ config: broken }, {})).toThrow(ConfigError);
    expect(() => resolveConnection({ config: broken }, {})).toThrow('has no "profiles" object');
  });
});
