import { describe, expect, it } from 'vitest';
import { ConfigError, IN_PROCESS_ENV_PREFIX, loadConfig, loadStreamsConfig } from '../lib/config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig({ TABLE_NAME: 'sessions' })).toEqual({ tableName: 'sessions', ttlSeconds: 3600, maxLifetimeSeconds: 86400, pruneScanLimit: 100, dynamodbEndpoint: undefined });
  });

  it('reads every variable', () => {
    expect(
      loadConfig({ TABLE_NAME: 't', SESSION_TTL_SECONDS: '60', SESSION_MAX_LIFETIME_SECONDS: '600', PRUNE_SCAN_LIMIT: '0', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }),
    ).toEqual({ tableName: 't', ttlSeconds: 60, maxLifetimeSeconds: 600, pruneScanLimit: 0, dynamodbEndpoint: 'http://127.0.0.1:8000' });
  });

  it.each([
    [{}, /TABLE_NAME is required/],
    [{ TABLE_NAME: '  ' }, /TABLE_NAME is required/],
    [{ TABLE_NAME: 't', SESSION_TTL_SECONDS: '0' }, /SESSION_TTL_SECONDS must be an integer >= 1, got "0"/],
    [{ TABLE_NAME: 't', SESSION_TTL_SECONDS: '1h' }, /SESSION_TTL_SECONDS/],
    [{ TABLE_NAME: 't', SESSION_TTL_SECONDS: '-5' }, /SESSION_TTL_SECONDS/],
    [{ TABLE_NAME: 't', SESSION_TTL_SECONDS: '1.5' }, /SESSION_TTL_SECONDS/],
    [{ TABLE_NAME: 't', PRUNE_SCAN_LIMIT: 'all' }, /PRUNE_SCAN_LIMIT must be an integer >= 0/],
    [{ TABLE_NAME: 't', SESSION_MAX_LIFETIME_SECONDS: '0' }, /SESSION_MAX_LIFETIME_SECONDS must be an integer >= 1/],
    [{ TABLE_NAME: 't', DYNAMODB_ENDPOINT: 'localhost 8000' }, /DYNAMODB_ENDPOINT must be a URL/],
  ])('fails fast naming the variable: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('loadStreamsConfig', () => {
  it('applies the documented defaults, and needs none of the sessions settings', () => {
    expect(loadStreamsConfig({ STREAMS_TABLE_NAME: 'streams' })).toEqual({ streamsTableName: 'streams', retentionSeconds: 3600, dynamodbEndpoint: undefined });
  });

  it('reads every variable, and the in-process prefixed ones', () => {
    const expected = { streamsTableName: 's', retentionSeconds: 60, dynamodbEndpoint: 'http://127.0.0.1:8000' };
    expect(loadStreamsConfig({ STREAMS_TABLE_NAME: 's', STREAM_RETENTION_SECONDS: '60', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' })).toEqual(expected);
    expect(
      loadStreamsConfig(
        { MCP_SESSIONS_STREAMS_TABLE_NAME: 's', MCP_SESSIONS_STREAM_RETENTION_SECONDS: '60', MCP_SESSIONS_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', STREAMS_TABLE_NAME: 'theirs' },
        { prefix: IN_PROCESS_ENV_PREFIX },
      ),
    ).toEqual(expected);
  });

  it('the sessions config is unchanged by the streams settings', () => {
    expect(loadConfig({ TABLE_NAME: 't', STREAMS_TABLE_NAME: 's' })).toEqual({ tableName: 't', ttlSeconds: 3600, maxLifetimeSeconds: 86400, pruneScanLimit: 100, dynamodbEndpoint: undefined });
  });

  it.each([
    [{}, /STREAMS_TABLE_NAME is required/],
    [{ TABLE_NAME: 't' }, /STREAMS_TABLE_NAME is required/],
    [{ STREAMS_TABLE_NAME: 's', STREAM_RETENTION_SECONDS: '0' }, /STREAM_RETENTION_SECONDS must be an integer >= 1, got "0"/],
    [{ STREAMS_TABLE_NAME: 's', DYNAMODB_ENDPOINT: 'nope' }, /DYNAMODB_ENDPOINT must be a URL/],
  ])('fails fast naming the variable: %j', (env, message) => {
    expect(() => loadStreamsConfig(env)).toThrow(ConfigError);
    expect(() => loadStreamsConfig(env)).toThrow(message);
  });

  it('in-process: names the prefixed variable', () => {
    expect(() => loadStreamsConfig({ STREAMS_TABLE_NAME: 's' }, { prefix: IN_PROCESS_ENV_PREFIX })).toThrow(/MCP_SESSIONS_STREAMS_TABLE_NAME is required/);
  });
});
