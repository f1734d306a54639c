import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createStartHandler } from '../lib/handlers/start.js';
import { StoreUnavailableError } from '../lib/errors.js';
import { startLocalApi, type LocalApi } from '../scripts/local/api-server.js';
import { SessionClient, SessionServiceError, parseRetryAfter, regionFromHost } from '../lib/session-client.js';
import { createTestTable, storeOn, type StoreFixture } from './support/dynamo.js';
import { DEAD_ENDPOINT } from './support/fakes.js';
import { TEST_CREDENTIALS, expectedAuthorization, scriptedServer, signedHeadersOf, type TestServer } from './support/session-client-doubles.js';

const recordSleeps = () => {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms: number) => void sleeps.push(ms) };
};

/** Closes the scripted servers a test opened, pass or fail. */
const servers: TestServer[] = [];
const serve = async (...args: Parameters<typeof scriptedServer>) => {
  const server = await scriptedServer(...args);
  servers.push(server);
  return server;
};
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const API_GATEWAY_NOT_FOUND = { status: 404, body: '{"message":"Not Found"}' };
const INACTIVE = { status: 404, body: '{"active":false}' };

describe('SessionClient against the local API', () => {
  let fixture: StoreFixture;
  let api: LocalApi;
  let client: SessionClient;

  beforeAll(async () => {
    fixture = storeOn(await createTestTable('client'));
    api = await startLocalApi(
      {
        start: createStartHandler(fixture.store, fixture.logger),
        check: createCheckHandler(fixture.store, fixture.logger),
        destroy: createDestroyHandler(fixture.store, fixture.logger),
      },
      { port: 0 },
    );
    client = new SessionClient({ baseUrl: api.url, signing: { kind: 'none' } });
  });
  afterAll(() => api.close());

  it('has the store interface: start, check with owner and metadata, destroy', async () => {
    const metadata = { protocolVersion: '2025-06-18', clientInfo: { name: 'x', version: '1' } };
    const started = await client.start({ owner: 'alice', metadata });
    expect(started.expiresAt).toBe(fixture.clock.seconds + 3600);
    expect(await client.check(started.sessionId, { owner: 'alice' })).toEqual({ active: true, expiresAt: started.expiresAt, metadata });
    expect(await client.check(started.sessionId, { owner: 'bob' })).toEqual({ active: false });
    await client.destroy(started.sessionId, { owner: 'alice' });
    expect(await client.check(started.sessionId, { owner: 'alice' })).toEqual({ active: false });
  });

  it('destroy() returns true when it ended a live session, false when there was none (unknown, already ended, someone else\'s)', async () => {
    const started = await client.start({ owner: 'alice' });
    expect(await client.destroy(started.sessionId, { owner: 'bob' })).toBe(false);
    expect(await client.check(started.sessionId, { owner: 'alice' })).toMatchObject({ active: true });
    expect(await client.destroy(started.sessionId, { owner: 'alice' })).toBe(true);
    expect(await client.destroy(started.sessionId, { owner: 'alice' })).toBe(false);
    expect(await client.destroy(crypto.randomUUID())).toBe(false);
  });

  it('does not send the caller\'s signal as start input: only owner and metadata travel', async () => {
    const started = await client.start({ owner: 'alice', metadata: { a: 1 }, signal: new AbortController().signal });
    expect(await client.check(started.sessionId, { owner: 'alice' })).toMatchObject({ active: true, metadata: { a: 1 } });
  });

  it('404 from a wrong base URL is not "inactive": check and destroy throw SessionServiceError naming the URL, never the session id', async () => {
    const wrong = new SessionClient({ baseUrl: `${api.url}/v2`, signing: { kind: 'none' } });
    const sessionId = (await client.start()).sessionId;
    for (const call of [() => wrong.check(sessionId), () => wrong.destroy(sessionId)]) {
      const error = await call().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(SessionServiceError);
      expect(error).toMatchObject({ status: 404, code: 'route_not_found' });
      const message = (error as SessionServiceError).message;
      expect(message).toMatch(new RegExp(`(GET|DELETE) ${api.url}/v2/sessions/\\{sessionId\\}`));
      expect(message).not.toContain(sessionId);
    }
    expect(await client.check(sessionId)).toMatchObject({ active: true });
  });

  it('owners no header can carry match no session, without a request: check inactive, destroy false, start refused', async () => {
    fixture.requests.reset();
    expect(await client.check('nope')).toEqual({ active: false });
    expect(await client.destroy('nope')).toBe(false);
    for (const owner of ['naïve', 'bad\n', ' alice', 'alice ', 'x'.repeat(300)]) {
      expect(await client.check(crypto.randomUUID(), { owner })).toEqual({ active: false });
      expect(await client.destroy(crypto.randomUUID(), { owner })).toBe(false);
      await expect(client.start({ owner })).rejects.toMatchObject({ problem: 'invalid_owner' });
    }
    await expect(client.start({ metadata: { b: 'x'.repeat(9000) } })).rejects.toMatchObject({ problem: 'metadata_too_large' });
    expect(fixture.requests.total).toBe(0);
  });
});

describe('SessionClient: only the service\'s 404 {"active": false} means inactive', () => {
  it('destroy(): 204 is true, the service\'s 404 {"active": false} is false', async () => {
    const server = await serve([{ status: 204 }, INACTIVE]);
    const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' } });
    expect(await client.destroy(crypto.randomUUID())).toBe(true);
    expect(await client.destroy(crypto.randomUUID())).toBe(false);
    expect(server.seen.map((seen) => seen.method)).toEqual(['DELETE', 'DELETE']);
  });

  it('API Gateway\'s own 404 {"message":"Not Found"} (wrong stage) throws SessionServiceError naming the URL, not the id, without retrying', async () => {
    const server = await serve([API_GATEWAY_NOT_FOUND]);
    const client = new SessionClient({ baseUrl: `${server.url}/prod`, signing: { kind: 'none' } });
    const sessionId = crypto.randomUUID();
    await expect(client.check(sessionId)).rejects.toThrow(new SessionServiceError(404, undefined, `GET ${server.url}/prod/sessions/{sessionId}`));
    await expect(client.destroy(sessionId)).rejects.toThrow(new SessionServiceError(404, undefined, `DELETE ${server.url}/prod/sessions/{sessionId}`));
    await expect(client.check(sessionId)).rejects.not.toThrow(sessionId);
    expect(server.seen).toHaveLength(3);
  });

  it('a 404 with an empty or non-JSON body is not "inactive" either', async () => {
    const server = await serve([{ status: 404, body: '' }, { status: 404, headers: { 'content-type': 'text/html' }, body: '<h1>Not Found</h1>' }]);
    const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' } });
    await expect(client.check(crypto.randomUUID())).rejects.toBeInstanceOf(SessionServiceError);
    await expect(client.check(crypto.randomUUID())).rejects.toBeInstanceOf(SessionServiceError);
  });

  it('answers that are not the service\'s shape throw SessionServiceError instead of being cast', async () => {
    const server = await serve([
      { status: 201, body: '{"sessionId":"not-a-uuid","expiresAt":"2026-11-24T11:00:00.000Z"}' },
      { status: 200, body: '{"active":true,"expiresAt":"soon"}' },
    ]);
    const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' } });
    await expect(client.start()).rejects.toMatchObject({ name: 'SessionServiceError', status: 201 });
    await expect(client.check(crypto.randomUUID())).rejects.toMatchObject({ name: 'SessionServiceError', status: 200 });
  });
});

describe('SessionClient signing and region', () => {
  const signingTime = new Date('2026-11-24T10:20:30Z');

  it('signs every request with SigV4 for execute-api, covering host, date, body and the owner header', async () => {
    const server = await serve([
      { status: 201, body: JSON.stringify({ sessionId: crypto.randomUUID(), expiresAt: '2026-11-24T11:20:30.000Z' }) },
      INACTIVE,
    ]);
    const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'sigv4', region: 'eu-west-1', credentials: TEST_CREDENTIALS }, now: () => signingTime });
    await client.start({ owner: 'alice', metadata: { a: 1 } });
    await client.check(crypto.randomUUID(), { owner: 'alice' });
    expect(server.seen).toHaveLength(2);
    const mustSign = [
      ['host', 'x-amz-date', 'x-amz-content-sha256', 'content-type'],
      ['host', 'x-amz-date', 'x-session-owner'],
    ];
    for (const [i, seen] of server.seen.entries()) {
      expect(seen.headers['x-amz-date']).toBe('20261124T102030Z');
      expect(signedHeadersOf(seen)).toEqual(expect.arrayContaining(mustSign[i] ?? []));
      expect(seen.headers.authorization).toBe(expectedAuthorization(seen, 'eu-west-1'));
    }
    expect(server.seen[0]?.body).toBe('{"owner":"alice","metadata":{"a":1}}');
  });

  it('sends no signature in unsigned mode', async () => {
    const server = await serve([{ status: 204 }]);
    await new SessionClient({ baseUrl: server.url, signing: { kind: 'none' } }).destroy(crypto.randomUUID());
    expect(server.seen[0]?.headers.authorization).toBeUndefined();
  });

  describe('region: inferred from execute-api hostnames only', () => {
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
    beforeAll(() => {
      // Set on purpose: the client must not fall back to them for a host that names no region.
      process.env.AWS_REGION = 'us-east-1';
      process.env.AWS_DEFAULT_REGION = 'us-east-1';
    });
    afterAll(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('reads the region from execute-api hostnames (public and VPC endpoint) and from no other', () => {
      expect(regionFromHost('abc123.execute-api.eu-west-1.amazonaws.com')).toBe('eu-west-1');
      expect(regionFromHost('abc123-vpce-0123456789abcdef0.execute-api.ap-southeast-2.vpce.amazonaws.com')).toBe('ap-southeast-2');
      expect(regionFromHost('abc123.execute-api.cn-north-1.amazonaws.com.cn')).toBe('cn-north-1');
      expect(regionFromHost('sessions.example.com')).toBeUndefined();
      expect(regionFromHost('abc.execute-api.eu-west-1.amazonaws.com.attacker.example')).toBeUndefined();
      expect(regionFromHost('localhost')).toBeUndefined();
    });

    it('a custom domain or localhost with SigV4 and no signing.region fails at construction, saying so (no AWS_REGION fallback)', () => {
      for (const baseUrl of ['https://sessions.example.com/v1', 'http://127.0.0.1:3000']) {
        expect(() => new SessionClient({ baseUrl, signing: { kind: 'sigv4', credentials: TEST_CREDENTIALS } })).toThrow(
          /SigV4 needs signing\.region for (sessions\.example\.com|127\.0\.0\.1:3000): only execute-api hostnames/,
        );
      }
      expect(() => new SessionClient({ baseUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com', signing: { kind: 'sigv4', credentials: TEST_CREDENTIALS } })).not.toThrow();
      expect(() => new SessionClient({ baseUrl: 'http://127.0.0.1:3000', signing: { kind: 'none' } })).not.toThrow();
    });

    it('an explicit signing.region is the one signed with on any host', async () => {
      const server = await serve([INACTIVE]);
      const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'sigv4', region: 'eu-central-1', credentials: TEST_CREDENTIALS } });
      await client.check(crypto.randomUUID());
      expect(server.seen).toHaveLength(1);
      expect(server.seen[0]?.headers.authorization).toContain('/eu-central-1/execute-api/aws4_request');
      expect(server.seen.map((seen) => seen.headers.authorization)).toEqual(server.seen.map((seen) => expectedAuthorization(seen, 'eu-central-1')));
    });
  });

  it('refuses a base URL with credentials, a query or a fragment at construction', () => {
    for (const baseUrl of ['https://user:pw@sessions.example.com', 'https://sessions.example.com/v1?stage=x', 'https://sessions.example.com/#x', 'ftp://x']) {
      expect(() => new SessionClient({ baseUrl, signing: { kind: 'none' } })).toThrow(/baseUrl/);
    }
  });
});

describe('SessionClient retries', () => {
  const unavailable = { status: 503, headers: { 'retry-after': '1' }, body: '{"error":"store_unavailable","message":"x"}' };
  const active = { status: 200, body: JSON.stringify({ sessionId: 'x', active: true, expiresAt: '2026-11-24T11:00:00.000Z' }) };

  it('retries a 503, waiting what Retry-After says, and succeeds on the third attempt', async () => {
    const server = await serve([unavailable, unavailable, active]);
    const { sleeps, sleep } = recordSleeps();
    const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' }, maxAttempts: 3, sleep });
    expect(await client.check(crypto.randomUUID())).toMatchObject({ active: true });
    expect(server.seen).toHaveLength(3);
    expect(sleeps).toEqual([1000, 1000]);
  });

  it('gives up after maxAttempts with StoreUnavailableError - never "inactive"', async () => {
    const server = await serve([unavailable]);
    const { sleeps, sleep } = recordSleeps();
    const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' }, maxAttempts: 4, sleep });
    await expect(client.check(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(server.seen).toHaveLength(4);
    expect(sleeps).toEqual([1000, 1000, 1000]);
  });

  it('uses jittered exponential backoff when there is no Retry-After (429), and does not wait out a Retry-After beyond its cap', async () => {
    const server = await serve([{ status: 429 }, { status: 429 }, { status: 204 }]);
    const { sleeps, sleep } = recordSleeps();
    const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' }, baseDelayMs: 100, sleep });
    expect(await client.destroy(crypto.randomUUID())).toBe(true);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeLessThanOrEqual(100);
    expect(sleeps[1]).toBeLessThanOrEqual(200);
    const slow = await serve([{ status: 503, headers: { 'retry-after': '120' } }]);
    const capped = new SessionClient({ baseUrl: slow.url, signing: { kind: 'none' }, sleep });
    await expect(capped.check(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(slow.seen).toHaveLength(1);
  });

  it('network failures and timeouts are retried, then StoreUnavailableError', async () => {
    const { sleeps, sleep } = recordSleeps();
    const dead = new SessionClient({ baseUrl: DEAD_ENDPOINT, signing: { kind: 'none' }, maxAttempts: 2, sleep });
    await expect(dead.check(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(sleeps).toHaveLength(1);
    const hanging = await serve([{ status: 200, hang: true }]);
    const client = new SessionClient({ baseUrl: hanging.url, signing: { kind: 'none' }, maxAttempts: 2, timeoutMs: 200, sleep });
    await expect(client.check(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(hanging.seen).toHaveLength(2);
  });

  it('does not retry what a retry cannot fix: 403 throws SessionServiceError at once, with API Gateway\'s error type', async () => {
    const server = await serve([{ status: 403, headers: { 'x-amzn-errortype': 'AccessDeniedException' }, body: '{"message":"Forbidden"}' }]);
    const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' } });
    await expect(client.check(crypto.randomUUID())).rejects.toMatchObject({ name: 'SessionServiceError', status: 403, code: 'AccessDeniedException' });
    expect(server.seen).toHaveLength(1);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = new Date('2026-11-24T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
