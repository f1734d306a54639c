import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createStartHandler } from '../lib/handlers/start.js';
import { StoreUnavailableError } from '../lib/errors.js';
import { startLocalApi, type LocalApi } from '../lib/local/api-server.js';
import { SessionClient, SessionServiceError, parseRetryAfter } from '../lib/session-client.js';
import { createTestTable, storeOn, type StoreFixture } from './support/dynamo.js';
import { DEAD_ENDPOINT } from './support/fakes.js';

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A fault-injecting stand-in for the API: answers each request with the next scripted reply. */
async function scriptedServer(replies: { status: number; headers?: Record<string, string>; body?: string; hang?: boolean }[]) {
  const seen: Seen[] = [];
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
    seen.push({ method: request.method ?? '', path: request.url ?? '', headers, body: Buffer.concat(chunks).toString() });
    const reply = replies[Math.min(seen.length - 1, replies.length - 1)] ?? { status: 500 };
    if (reply.hang) return;
    response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    response.end(reply.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

const recordSleeps = () => {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms: number) => void sleeps.push(ms) };
};

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
    await client.destroy(started.sessionId, { owner: 'alice' });
  });

  it('reports malformed ids inactive without sending anything, and validates start input locally', async () => {
    fixture.requests.reset();
    expect(await client.check('nope')).toEqual({ active: false });
    await client.destroy('nope');
    // An owner that start would refuse (and no header could carry) matches no session.
    expect(await client.check(crypto.randomUUID(), { owner: 'naïve\n' })).toEqual({ active: false });
    await client.destroy(crypto.randomUUID(), { owner: 'x'.repeat(300) });
    await expect(client.start({ metadata: { b: 'x'.repeat(9000) } })).rejects.toMatchObject({ problem: 'metadata_too_large' });
    expect(fixture.requests.total).toBe(0);
  });
});

describe('SessionClient signing', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const signingTime = new Date('2026-11-24T10:20:30Z');

  const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

  /** SigV4 written out from the AWS specification, independently of the signer under test. */
  function expectedAuthorization(seen: Seen, region: string): string {
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(seen.headers.authorization ?? '')?.[1] ?? '';
    const names = signedHeaders.split(';');
    const canonicalHeaders = names.map((name) => `${name}:${(seen.headers[name] ?? '').trim()}\n`).join('');
    const canonicalRequest = [seen.method, seen.path, '', canonicalHeaders, signedHeaders, sha256(seen.body)].join('\n');
    const amzDate = signingTime.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    const scope = `${day}/${region}/execute-api/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 'execute-api'), 'aws4_request');
    const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
    return `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  }

  it('signs every request with SigV4 for execute-api, covering host, date, body and the owner header', async () => {
    const server = await scriptedServer([
      { status: 201, body: JSON.stringify({ sessionId: crypto.randomUUID(), expiresAt: '2026-11-24T11:20:30.000Z' }) },
      { status: 404, body: '{"active":false}' },
    ]);
    try {
      const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'sigv4', region: 'eu-west-1', credentials }, now: () => signingTime });
      await client.start({ owner: 'alice', metadata: { a: 1 } });
      await client.check(crypto.randomUUID(), { owner: 'alice' });
      expect(server.seen).toHaveLength(2);
      const mustSign = [
        ['host', 'x-amz-date', 'x-amz-content-sha256', 'content-type'],
        ['host', 'x-amz-date', 'x-session-owner'],
      ];
      for (const [i, seen] of server.seen.entries()) {
        expect(seen.headers['x-amz-date']).toBe('20261124T102030Z');
        const signed = /SignedHeaders=([^,]+)/.exec(seen.headers.authorization ?? '')?.[1]?.split(';') ?? [];
        expect(signed).toEqual(expect.arrayContaining(mustSign[i] ?? []));
        expect(seen.headers.authorization).toBe(expectedAuthorization(seen, 'eu-west-1'));
      }
      expect(server.seen[0]?.body).toBe('{"owner":"alice","metadata":{"a":1}}');
    } finally {
      await server.close();
    }
  });

  it('sends no signature in unsigned mode', async () => {
    const server = await scriptedServer([{ status: 204 }]);
    try {
      await new SessionClient({ baseUrl: server.url, signing: { kind: 'none' } }).destroy(crypto.randomUUID());
      expect(server.seen[0]?.headers.authorization).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});

describe('SessionClient retries', () => {
  const unavailable = { status: 503, headers: { 'retry-after': '1' }, body: '{"error":"store_unavailable","message":"x"}' };
  const active = { status: 200, body: JSON.stringify({ sessionId: 'x', active: true, expiresAt: '2026-11-24T11:00:00.000Z' }) };

  it('retries a 503, waiting what Retry-After says, and succeeds on the third attempt', async () => {
    const server = await scriptedServer([unavailable, unavailable, active]);
    const { sleeps, sleep } = recordSleeps();
    try {
      const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' }, maxAttempts: 3, sleep });
      expect(await client.check(crypto.randomUUID())).toMatchObject({ active: true });
      expect(server.seen).toHaveLength(3);
      expect(sleeps).toEqual([1000, 1000]);
    } finally {
      await server.close();
    }
  });

  it('gives up after maxAttempts with StoreUnavailableError - never "inactive"', async () => {
    const server = await scriptedServer([unavailable]);
    const { sleeps, sleep } = recordSleeps();
    try {
      const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' }, maxAttempts: 4, sleep });
      await expect(client.check(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(server.seen).toHaveLength(4);
      expect(sleeps).toEqual([1000, 1000, 1000]);
    } finally {
      await server.close();
    }
  });

  it('uses jittered exponential backoff when there is no Retry-After (429), and does not wait out a Retry-After beyond its cap', async () => {
    const server = await scriptedServer([{ status: 429 }, { status: 429 }, { status: 204 }]);
    const { sleeps, sleep } = recordSleeps();
    try {
      const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' }, baseDelayMs: 100, sleep });
      await client.destroy(crypto.randomUUID());
      expect(sleeps).toHaveLength(2);
      expect(sleeps[0]).toBeLessThanOrEqual(100);
      expect(sleeps[1]).toBeLessThanOrEqual(200);
    } finally {
      await server.close();
    }
    const slow = await scriptedServer([{ status: 503, headers: { 'retry-after': '120' } }]);
    try {
      const client = new SessionClient({ baseUrl: slow.url, signing: { kind: 'none' }, sleep });
      await expect(client.check(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(slow.seen).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  it('network failures and timeouts are retried, then StoreUnavailableError', async () => {
    const { sleeps, sleep } = recordSleeps();
    const dead = new SessionClient({ baseUrl: DEAD_ENDPOINT, signing: { kind: 'none' }, maxAttempts: 2, sleep });
    await expect(dead.check(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(sleeps).toHaveLength(1);
    const hanging = await scriptedServer([{ status: 200, hang: true }]);
    try {
      const client = new SessionClient({ baseUrl: hanging.url, signing: { kind: 'none' }, maxAttempts: 2, timeoutMs: 200, sleep });
      await expect(client.check(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(hanging.seen).toHaveLength(2);
    } finally {
      await hanging.close();
    }
  });

  it('does not retry what a retry cannot fix: 403 throws SessionServiceError at once', async () => {
    const server = await scriptedServer([{ status: 403, body: '{"message":"Forbidden"}' }]);
    try {
      const client = new SessionClient({ baseUrl: server.url, signing: { kind: 'none' } });
      await expect(client.check(crypto.randomUUID())).rejects.toBeInstanceOf(SessionServiceError);
      expect(server.seen).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = new Date('2026-11-24T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
