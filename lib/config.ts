import { DEFAULT_MAX_LIFETIME_SECONDS, DEFAULT_PRUNE_SCAN_LIMIT, DEFAULT_TTL_SECONDS } from './dynamo-session-store.js';
import { DEFAULT_STREAM_RETENTION_SECONDS } from './session-streams.js';

export interface ServiceConfig {
  tableName: string;
  ttlSeconds: number;
  maxLifetimeSeconds: number;
  pruneScanLimit: number;
  /** DynamoDB Local, for local use; unset in AWS. */
  dynamodbEndpoint: string | undefined;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** A setting is missing or malformed; the message names the variable so the fix is obvious. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const present = (env: Environment, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

function integer(env: Environment, name: string, fallback: number, min: number): number {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return Number(raw);
}

export interface LoadConfigOptions {
  /**
   * Prepended to every variable name. The session functions use none (`TABLE_NAME`); a user's own
   * function using the library in-process uses IN_PROCESS_ENV_PREFIX (`MCP_SESSIONS_TABLE_NAME`), so
   * our settings never collide with its own.
   */
  prefix?: string;
}

/** The prefix of the variables McpSessionService gives a user's function for in-process use. */
export const IN_PROCESS_ENV_PREFIX = 'MCP_SESSIONS_';

function required(env: Environment, name: string, what: string): string {
  const value = present(env, name);
  if (value === undefined) throw new ConfigError(`${name} is required: ${what}`);
  return value;
}

function dynamodbEndpoint(env: Environment, prefix: string): string | undefined {
  const endpointVariable = `${prefix}DYNAMODB_ENDPOINT`;
  const endpoint = present(env, endpointVariable);
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    throw new ConfigError(`${endpointVariable} must be a URL such as http://127.0.0.1:8000, got "${endpoint}"`);
  }
  return endpoint;
}

/** Parses and validates the service's environment once, failing fast on the first bad variable. */
export function loadConfig(env: Environment, options: LoadConfigOptions = {}): ServiceConfig {
  const prefix = options.prefix ?? '';
  const tableName = required(env, `${prefix}TABLE_NAME`, 'the name of the sessions table');
  const endpoint = dynamodbEndpoint(env, prefix);
  return {
    tableName,
    ttlSeconds: integer(env, `${prefix}SESSION_TTL_SECONDS`, DEFAULT_TTL_SECONDS, 1),
    maxLifetimeSeconds: integer(env, `${prefix}SESSION_MAX_LIFETIME_SECONDS`, DEFAULT_MAX_LIFETIME_SECONDS, 1),
    pruneScanLimit: integer(env, `${prefix}PRUNE_SCAN_LIMIT`, DEFAULT_PRUNE_SCAN_LIMIT, 0),
    dynamodbEndpoint: endpoint,
  };
}

/** What the session streams need; a config of its own, so the session functions that use no streams need none of it. */
export interface StreamsConfig {
  streamsTableName: string;
  /** How long a stream message is kept (the streams table's TTL). */
  retentionSeconds: number;
  /** DynamoDB Local, for local use; unset in AWS. */
  dynamodbEndpoint: string | undefined;
}

/**
 * Parses the streams' variables (`STREAMS_TABLE_NAME`, `STREAM_RETENTION_SECONDS`,
 * `DYNAMODB_ENDPOINT`; with the in-process prefix `MCP_SESSIONS_STREAMS_TABLE_NAME` and so on).
 */
export function loadStreamsConfig(env: Environment, options: LoadConfigOptions = {}): StreamsConfig {
  const prefix = options.prefix ?? '';
  return {
    streamsTableName: required(env, `${prefix}STREAMS_TABLE_NAME`, 'the name of the session streams table'),
    retentionSeconds: integer(env, `${prefix}STREAM_RETENTION_SECONDS`, DEFAULT_STREAM_RETENTION_SECONDS, 1),
    dynamodbEndpoint: dynamodbEndpoint(env, prefix),
  };
}
