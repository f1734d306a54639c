import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../lib/config.js';

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
