import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the CLI needs to reach the API, from wherever it came. */
export interface Connection {
  url: string;
  clientId?: string;
  clientSecret?: string;
  token?: string;
  /** Where each value came from, for error messages ("from CALLHOOK_CLIENT_SECRET"). */
  sources: Partial<Record<'url' | 'clientId' | 'clientSecret' | 'token', string>>;
}

export interface ConnectionFlags {
  server?: string | undefined;
  'client-id'?: string | undefined;
  'client-secret'?: string | undefined;
  token?: string | undefined;
  profile?: string | undefined;
  config?: string | undefined;
}

/** A profile in the config file; the keys are the API's own names. */
interface Profile {
  url?: string;
  client_id?: string;
  client_secret?: string;
  token?: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The CLI's profiles file. Its variable is CALLHOOK_CLI_CONFIG: CALLHOOK_CONFIG is the server's
 * settings file, and one shell often runs both.
 */
export function configPath(flags: ConnectionFlags, env: NodeJS.ProcessEnv): string {
  if (flags.config) return flags.config;
  if (env.CALLHOOK_CLI_CONFIG) return env.CALLHOOK_CLI_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'callhook', 'config.json');
}

function readProfiles(path: string, required: boolean): Record<string, Profile> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`the config file ${path} is not JSON: ${(error as Error).message}`);
  }
  const profiles = (parsed as { profiles?: unknown } | null)?.profiles;
  if (typeof profiles !== 'object' || profiles === null) {
    throw new ConfigError(`the config file ${path} has no "profiles" object`);
  }
  return profiles as Record<string, Profile>;
}

/**
 * Flags win, then the environment, then the profile (`default` unless named). A profile named
 * with `--profile` wins over the environment: asking for it by name says which one is meant.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv): Connection {
  const named = flags.profile ?? env.CALLHOOK_PROFILE;
  const path = configPath(flags, env);
  const profiles = readProfiles(path, named !== undefined || flags.config !== undefined);
  const name = named ?? 'default';
  const profile = profiles[name];
  if (named !== undefined && !profile) {
    const known = Object.keys(profiles);
    throw new ConfigError(
      `no profile "${name}" in ${path}${known.length ? ` (it has: ${known.join(', ')})` : ''}`,
    );
  }
  const fromProfile = `profile "${name}" in ${path}`;
  const explicitProfile = flags.profile !== undefined;
  const sources: Connection['sources'] = {};
  const pick = (
    key: keyof Connection['sources'],
    flag: string | undefined,
    flagName: string,
    envName: string,
    fromFile: string | undefined,
  ): string | undefined => {
    const candidates: [string | undefined, string][] = [[flag, `--${flagName}`]];
    const envValue: [string | undefined, string] = [env[envName] || undefined, envName];
    const fileValue: [string | undefined, string] = [fromFile, fromProfile];
    if (explicitProfile) candidates.push(fileValue, envValue);
    else candidates.push(envValue, fileValue);
    for (const [value, source] of candidates) {
      if (value) {
        sources[key] = source;
        return value;
      }
    }
    return undefined;
  };
  const url = pick('url', flags.server, 'server', 'CALLHOOK_URL', profile?.url) ?? DEFAULT_URL;
  sources.url ??= 'the default';
  const clientId = pick(
    'clientId',
    flags['client-id'],
    'client-id',
    'CALLHOOK_CLIENT_ID',
    profile?.client_id,
  );
  const clientSecret = pick(
    'clientSecret',
    flags['client-secret'],
    'client-secret',
    'CALLHOOK_CLIENT_SECRET',
    profile?.client_secret,
  );
  const token = pick('token', flags.token, 'token', 'CALLHOOK_TOKEN', profile?.token);
  return {
    url,
    sources,
    ...(clientId ? { clientId } : {}),
    ...(clientSecret ? { clientSecret } : {}),
    ...(token ? { token } : {}),
  };
}
