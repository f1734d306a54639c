import { ConfigError, IN_PROCESS_ENV_PREFIX, loadConfig, type Environment } from '../lib/config.js';
import { SERVICE_NAME } from '../lib/telemetry.js';
import { InvalidSettingError } from './settings.js';

/** Stack settings that become the functions' environment, and the variable each one sets. */
export const ENVIRONMENT_SETTINGS = {
  sessionTtlSeconds: 'SESSION_TTL_SECONDS',
  sessionMaxLifetimeSeconds: 'SESSION_MAX_LIFETIME_SECONDS',
  pruneScanLimit: 'PRUNE_SCAN_LIMIT',
} as const;

export type EnvironmentSettingName = keyof typeof ENVIRONMENT_SETTINGS;
export type EnvironmentSettings = Partial<Record<EnvironmentSettingName, number>>;

const settingNames = Object.keys(ENVIRONMENT_SETTINGS) as EnvironmentSettingName[];

/**
 * Runs lib/config.ts's `loadConfig` (what every function runs at start) over `environment`, so a value
 * the functions would refuse fails synth instead, and the message names the stack setting
 * (`sessionTtlSeconds`) rather than the variable the operator never typed.
 */
export function validateLikeTheFunctions(environment: Environment): ReturnType<typeof loadConfig> {
  try {
    return loadConfig(environment);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    let message = error.message;
    for (const name of settingNames) message = message.replaceAll(ENVIRONMENT_SETTINGS[name], name);
    throw new InvalidSettingError(message);
  }
}

/** Parses `-c` strings with exactly the functions' rules; only the settings given are returned. */
export function environmentSettingsFromText(text: Partial<Record<EnvironmentSettingName, string>>): EnvironmentSettings {
  const config = validateLikeTheFunctions({
    TABLE_NAME: 'validated-at-synth',
    ...Object.fromEntries(settingNames.map((name) => [ENVIRONMENT_SETTINGS[name], text[name]])),
  });
  const parsed = { sessionTtlSeconds: config.ttlSeconds, sessionMaxLifetimeSeconds: config.maxLifetimeSeconds, pruneScanLimit: config.pruneScanLimit };
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

/** The functions' environment, checked with the functions' own rules before anything is synthesised. */
export function functionEnvironment(tableName: string, settings: EnvironmentSettings): Record<string, string> {
  const environment: Record<string, string> = {
    TABLE_NAME: tableName,
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    ...settingsVariables('', settings),
  };
  validateLikeTheFunctions(environment);
  return environment;
}

/**
 * What a user's function needs to run the library in-process: the same settings as the service's
 * functions, behind IN_PROCESS_ENV_PREFIX (`MCP_SESSIONS_TABLE_NAME`, ...), so they never collide with
 * the function's own variables. No Powertools variables: logging and metrics are the function's own.
 * Checked with the loader `sessionStoreFromEnvironment` runs (lib/in-process.ts), so what is set here is
 * exactly what it reads.
 */
export function inProcessEnvironment(tableName: string, settings: EnvironmentSettings): Record<string, string> {
  const environment = { [`${IN_PROCESS_ENV_PREFIX}TABLE_NAME`]: tableName, ...settingsVariables(IN_PROCESS_ENV_PREFIX, settings) };
  loadConfig(environment, { prefix: IN_PROCESS_ENV_PREFIX });
  return environment;
}
