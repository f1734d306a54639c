import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createStartHandler } from '../lib/handlers/start.js';
import { startLocalApi, type LocalApi } from '../scripts/local/api-server.js';
import { SessionClient, SessionServiceError } from '../lib/session-client.js';
import { createTestTable, storeOn } from './support/dynamo.js';
import { TEST_CREDENTIALS, basePathProxy, type BasePathProxy } from './support/session-client-doubles.js';

const REGION = 'eu-west-1';

/** start, check, destroy and check again through `client`; what a front end does over a session's life. */
async function roundTrip(client: SessionClient): Promise<void> {
  const started = await client.start({ owner: 'alice', metadata: { a: 1 } });
  expect(await client.check(started.sessionId, { owner: 'alice' })).toMatchObject({ active: true, metadata: { a: 1 } });
  expect(await client.destroy(started.sessionId, { owner: 'alice' })).toBe(true);
  expect(await client.check(started.sessionId, { owner: 'alice' })).toEqual({ active: false });
}

describe('SessionClient behind a custom domain with a base path (Location and base paths)', () => {
  let api: LocalApi;
  let unsignedProxy: BasePathProxy;
  let verifyingProxy: BasePathProxy;

  beforeAll(async () => {
    const fixture = storeOn(await createTestTable('client-base-path'));
    api = await startLocalApi(
      {
        start: createStartHandler(fixture.store, fixture.logger),
        check: createCheckHandler(fixture.store, fixture.logger),
        destroy: createDestroyHandler(fixture.store, fixture.logger),
      },
      { port: 0 },
    );
    unsignedProxy = await basePathProxy('/v1', api.url);
    verifyingProxy = await basePathProxy('/v1', api.url, { verify: { region: REGION } });
  });
  afterAll(async () => {
    await Promise.all([unsignedProxy.close(), verifyingProxy.close()]);
    await api.close();
  });

  it('joins routes under the base path, with or without a trailing slash on baseUrl', async () => {
    for (const baseUrl of [`${unsignedProxy.url}/v1`, `${unsignedProxy.url}/v1/`]) {
      const before = unsignedProxy.seen.length;
      await roundTrip(new SessionClient({ baseUrl, signing: { kind: 'none' } }));
      const paths = unsignedProxy.seen.slice(before).map((seen) => `${seen.method} ${seen.path.replace(/[0-9a-f-]{36}$/, '{id}')}`);
      expect(paths).toEqual(['POST /v1/sessions', 'GET /v1/sessions/{id}', 'DELETE /v1/sessions/{id}', 'GET /v1/sessions/{id}']);
    }
  });

  it('signs over the full path, base path included: a gateway verifying SigV4 on the path it received accepts every request', async () => {
    const client = new SessionClient({ baseUrl: `${verifyingProxy.url}/v1`, signing: { kind: 'sigv4', region: REGION, credentials: TEST_CREDENTIALS } });
    await roundTrip(client);
    expect(verifyingProxy.refused).toBe(0);
    expect(verifyingProxy.seen.every((seen) => seen.path.startsWith('/v1/sessions') && seen.headers.authorization !== undefined)).toBe(true);
    // The verification is live: the same requests signed for another region are refused.
    const wrongRegion = new SessionClient({ baseUrl: `${verifyingProxy.url}/v1`, signing: { kind: 'sigv4', region: 'us-east-1', credentials: TEST_CREDENTIALS } });
    await expect(wrongRegion.check(crypto.randomUUID())).rejects.toMatchObject({ name: 'SessionServiceError', status: 403 });
    expect(verifyingProxy.refused).toBe(1);
  });

  it('a base URL missing the base path gets the gateway\'s 404, which throws SessionServiceError naming the URL instead of reading as inactive', async () => {
    const client = new SessionClient({ baseUrl: unsignedProxy.url, signing: { kind: 'none' } });
    await expect(client.check(crypto.randomUUID())).rejects.toThrow(new SessionServiceError(404, undefined, `GET ${unsignedProxy.url}/sessions/{sessionId}`));
  });

  it('Location of a started session, resolved against the request URL, is that session\'s URL under the base path', async () => {
    const requestUrl = `${unsignedProxy.url}/v1/sessions`;
    const response = await fetch(requestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(201);
    const { sessionId } = (await response.json()) as { sessionId: string };
    const location = new URL(response.headers.get('location') ?? '', requestUrl);
    expect(location.href).toBe(`${unsignedProxy.url}/v1/sessions/${sessionId}`);
    expect((await fetch(location)).status).toBe(200);
  });
});
