import { afterEach, describe, expect, it } from 'vitest';
import { SessionClient } from '../lib/session-client.js';
import {
  TEST_CREDENTIALS,
  amzDateMs,
  expectedAuthorization,
  scriptedServer,
  type Reply,
  type Seen,
  type TestServer,
} from './support/session-client-doubles.js';

const REGION = 'eu-west-1';
const MINUTE = 60_000;
/** API Gateway accepts a SigV4 date within 5 minutes of its own clock. */
const WINDOW_MS = 5 * MINUTE;

const amzDate = (ms: number): string => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');

const invalidSignature = (now: number, message: string): Reply => ({
  status: 403,
  headers: { 'x-amzn-errortype': 'InvalidSignatureException', date: new Date(now).toUTCString() },
  body: JSON.stringify({ message }),
});

/**
 * API Gateway's SigV4 check with its own clock: a date outside its window gets the skew 403 (with
 * its Date header, as API Gateway sends), a bad signature the mismatch 403; a good request `answer`.
 */
function gatewayWithClock(answer: Reply, options: { credentials?: typeof TEST_CREDENTIALS } = {}) {
  return (seen: Seen): Reply => {
    const now = Date.now();
    const date = seen.headers['x-amz-date'] ?? '';
    const signedAt = amzDateMs(date);
    if (signedAt < now - WINDOW_MS) {
      return invalidSignature(now, `Signature expired: ${date} is now earlier than ${amzDate(now - WINDOW_MS)} (${amzDate(now)} - 5 min.)`);
    }
    if (signedAt > now + WINDOW_MS) {
      return invalidSignature(now, `Signature not yet current: ${date} is still later than ${amzDate(now + WINDOW_MS)} (${amzDate(now)} + 5 min.)`);
    }
    if (seen.headers.authorization !== expectedAuthorization(seen, REGION, options.credentials)) {
      return invalidSignature(now, 'The request signature we calculated does not match the signature you provided.');
    }
    return { ...answer, headers: { ...answer.headers, date: new Date(now).toUTCString() } };
  };
}

const INACTIVE: Reply = { status: 404, body: '{"active":false}' };

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
const gateway = async (script: (seen: Seen) => Reply) => {
  const server = await scriptedServer(script);
  servers.push(server);
  return server;
};

/** A client whose clock is `skewMs` off the real one (the scripted gateway's). */
const skewedClient = (url: string, skewMs: number) =>
  new SessionClient({
    baseUrl: url,
    signing: { kind: 'sigv4', region: REGION, credentials: TEST_CREDENTIALS },
    now: () => new Date(Date.now() + skewMs),
  });

const withinWindow = (seen: Seen | undefined): boolean => Math.abs(amzDateMs(seen?.headers['x-amz-date'] ?? '') - Date.now()) < WINDOW_MS;

describe('SessionClient clock skew: a signature rejected for time skew is retried once with the offset from Date', () => {
  it('a slow clock ("Signature expired") is retried once, signed at the server\'s Date, and the offset is kept for later calls', async () => {
    const server = await gateway(gatewayWithClock(INACTIVE));
    const client = skewedClient(server.url, -20 * MINUTE);
    expect(await client.check(crypto.randomUUID())).toEqual({ active: false });
    expect(server.seen).toHaveLength(2);
    expect(withinWindow(server.seen[0])).toBe(false);
    expect(withinWindow(server.seen[1])).toBe(true);
    expect(await client.destroy(crypto.randomUUID())).toBe(false);
    expect(await client.check(crypto.randomUUID())).toEqual({ active: false });
    expect(server.seen).toHaveLength(4); // later calls are signed right the first time
  });

  it('a fast clock ("Signature not yet current") is retried once the same way', async () => {
    const server = await gateway(gatewayWithClock({ status: 204 }));
    const client = skewedClient(server.url, 45 * MINUTE);
    expect(await client.destroy(crypto.randomUUID())).toBe(true);
    expect(server.seen).toHaveLength(2);
    expect(withinWindow(server.seen[1])).toBe(true);
  });

  it('start is re-signed over the same body after a skew rejection', async () => {
    const started = { status: 201, body: JSON.stringify({ sessionId: crypto.randomUUID(), expiresAt: new Date(Date.now() + 3600_000).toISOString() }) };
    const server = await gateway(gatewayWithClock(started));
    const client = skewedClient(server.url, -2 * 60 * MINUTE);
    await client.start({ owner: 'alice', metadata: { a: 1 } });
    expect(server.seen.map((seen) => seen.body)).toEqual(Array(2).fill('{"owner":"alice","metadata":{"a":1}}'));
  });

  it('only once per call: a re-signed request rejected for skew again throws SessionServiceError 403', async () => {
    const server = await gateway((seen) => invalidSignature(Date.now() - 3600_000, `Signature expired: ${seen.headers['x-amz-date']} is now earlier than x (y - 5 min.)`));
    const client = skewedClient(server.url, 0);
    await expect(client.check(crypto.randomUUID())).rejects.toMatchObject({ name: 'SessionServiceError', status: 403, code: 'InvalidSignatureException' });
    expect(server.seen).toHaveLength(2);
  });

  it('a signature rejected for another reason (wrong key) is not retried', async () => {
    const server = await gateway(gatewayWithClock(INACTIVE, { credentials: { ...TEST_CREDENTIALS, secretAccessKey: 'another-key' } }));
    const client = skewedClient(server.url, 0);
    await expect(client.check(crypto.randomUUID())).rejects.toMatchObject({ name: 'SessionServiceError', status: 403, code: 'InvalidSignatureException' });
    expect(server.seen).toHaveLength(1);
  });
});
