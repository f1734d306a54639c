import { ConfigError, IN_PROCESS_ENV_PREFIX, loadConfig, loadStreamsConfig, type Environment, type ServiceConfig, type StreamsConfig } from '../lib/config.js';
import { SERVICE_NAME } from '../lib/telemetry.js';
import { InvalidSettingError } from './settings.js';

/** Stack settings that become the functions' environment, and the variable each one sets. */
export const ENVIRONMENT_SETTINGS = {
  sessionTtlSeconds: 'SESSION_TTL_SECONDS',
  sessionMaxLifetimeSeconds: 'SESSION_MAX_LIFETIME_SECONDS',
  pruneScanLimit: 'PRUNE_SCAN_LIMIT',
  streamRetentionSeconds: 'STREAM_RETENTION_SECONDS',
} as const;

export type EnvironmentSettingName = keyof typeof ENVIRONMENT_SETTINGS;
export type EnvironmentSettings = Partial<Record<EnvironmentSettingName, number>>;

const settingNames = Object.keys(ENVIRONMENT_SETTINGS) as EnvironmentSettingName[];

/** Stands in for a table name that is a reference until deploy: every other variable is checked as it will be read. */
const PLACEHOLDER_TABLE = 'validated-at-synth';

/**
 * Runs lib/config.ts's `loadConfig` and `loadStreamsConfig` (what the functions run at start) over
 * `environment`, so a value the functions would refuse fails synth instead, and the message names the
 * stack setting (`sessionTtlSeconds`) rather than the variable the operator never typed.
 */
export function validateLikeTheFunctions(environment: Environment, options: { prefix?: string } = {}): { config: ServiceConfig; streams: StreamsConfig } {
  const prefix = options.prefix ?? '';
  try {
    return {
      config: loadConfig(environment, { prefix }),
      streams: loadStreamsConfig({ [`${prefix}STREAMS_TABLE_NAME`]: PLACEHOLDER_TABLE, ...environment }, { prefix }),
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    let message = error.message;
    for (const name of settingNames) message = message.replaceAll(ENVIRONMENT_SETTINGS[name], name);
    throw new InvalidSettingError(message);
  }
}

/** Parses `-c` strings with exactly the functions' rules; only the settings given are returned. */
export function environmentSettingsFromText(text: Partial<Record<EnvironmentSettingName, string>>): EnvironmentSettings {
  const { config, streams } = validateLikeTheFunctions({
    TABLE_NAME: PLACEHOLDER_TABLE,
    ...Object.fromEntries(settingNames.map((name) => [ENVIRONMENT_SETTINGS[name], text[name]])),
  });
  const parsed: Record<EnvironmentSettingName, number> = {
    sessionTtlSeconds: config.ttlSeconds,
    sessionMaxLifetimeSeconds: config.maxLifetimeSeconds,
    pruneScanLimit: config.pruneScanLimit,
    streamRetentionSeconds: streams.retentionSeconds,
  };
  return Object.fromEntries(settingNames.filter((name) => text[name] !== undefined).map((name) => [name, parsed[name]]));
}

/** The settings that are set, each variable name behind `prefix` (lib/config.ts reads them the same way). */
function settingsVariables(prefix: string, settings: EnvironmentSettings): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const name of settingNames) {
    const value = settings[name];
    if (value !== undefined) environment[`${prefix}${ENVIRONMENT_SETTINGS[name]}`] = String(value);
  }
  return environment;
}

/** The two tables' names (tokens until deploy). */
export interface TableNames {
  sessions: string;
  streams: string;
}

/**
 * The functions' environment, checked with the functions' own rules before anything is synthesised.
 * Every function gets both table names: the streams functions read the sessions config too
 * (lib/runtime.ts), and a name grants nothing (IAM does, per function).
 */
export function functionEnvironment(tables: TableNames, settings: EnvironmentSettings): Record<string, string> {
  const environment: Record<string, string> = {
    TABLE_NAME: tables.sessions,
    STREAMS_TABLE_NAME: tables.streams,
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    ...settingsVariables('', settings),
  };
  validateLikeTheFunctions(environment);
  return environment;
}

/**
 * What a user's function needs to run the library in-process: the same settings as the service's
 * functions, behind IN_PROCESS_ENV_PREFIX (`MCP_SESSIONS_TABLE_NAME`, `MCP_SESSIONS_STREAMS_TABLE_NAME`,
 * ...), so they never collide with the function's own variables. No Powertools variables: logging and
 * metrics are the function's own. Checked with the loaders `sessionStoreFromEnvironment` and
 * `sessionStreamsFromEnvironment` run (lib/in-process.ts), so what is set here is exactly what they read.
 */
export function inProcessEnvironment(tables: TableNames, settings: EnvironmentSettings): Record<string, string> {
  const environment = {
    [`${IN_PROCESS_ENV_PREFIX}TABLE_NAME`]: tables.sessions,
    [`${IN_PROCESS_ENV_PREFIX}STREAMS_TABLE_NAME`]: tables.streams,
    ...settingsVariables(IN_PROCESS_ENV_PREFIX, settings),
  };
  validateLikeTheFunctions(environment, { prefix: IN_PROCESS_ENV_PREFIX });
  return environment;
}
