import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../lib/http/responses.js';
import { startLocalApi, type LocalApi } from '../lib/local/api-server.js';
import { freePort } from '../lib/local/dynamodb-local.js';
import { importHandlers } from '../lib/local/handlers.js';
import { routeKey, routes } from '../lib/routes.js';
import { createTestTable, endpoint } from './support/dynamo.js';
import { launchTs, type Launched } from '../lib/local/launch-ts.js';

describe('local HTTP API over the real handler modules', () => {
  let api: LocalApi;

  beforeAll(async () => {
    const table = await createTestTable('local-api');
    process.env.TABLE_NAME = table.tableName;
    process.env.DYNAMODB_ENDPOINT = endpoint();
    api = await startLocalApi(await importHandlers(), { port: 0 });
  });
  afterAll(() => api.close());

  it('POST -> GET -> DELETE -> GET, with the contract status codes', async () => {
    const created = await fetch(`${api.url}/sessions`, { method: 'POST' });
    expect(created.status).toBe(201);
    const { sessionId } = (await created.json()) as { sessionId: string };
    expect(created.headers.get('location')).toBe(`/sessions/${sessionId}`);

    const checked = await fetch(`${api.url}/sessions/${sessionId}`);
    expect(checked.status).toBe(200);
    expect(await checked.json()).toMatchObject({ sessionId, active: true });

    expect((await fetch(`${api.url}/sessions/${sessionId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${api.url}/sessions/${sessionId}`, { method: 'DELETE' })).status).toBe(204);
    const gone = await fetch(`${api.url}/sessions/${sessionId}`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ active: false });
  });

  it('400 for malformed ids and bodies, as JSON errors', async () => {
    for (const [path, init] of [
      ['/sessions/nope', {}],
      ['/sessions/%E2%9C%93', { method: 'DELETE' }],
      ['/sessions/%ZZ', {}],
      ['/sessions', { method: 'POST', body: '[1]' }],
    ] as const) {
      const response = await fetch(`${api.url}${path}`, init);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(Object.keys((await response.json()) as object).sort()).toEqual(['error', 'message']);
    }
  });

  it('unknown routes get 404 and wrong methods 405, both as JSON errors', async () => {
    const missing = await fetch(`${api.url}/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'route_not_found' });
    const wrong = await fetch(`${api.url}/sessions`, { method: 'PUT' });
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toMatchObject({ error: 'method_not_allowed' });
  });
});

describe('the APIGatewayProxyEventV2 the local server builds', () => {
  it('has the route key, decoded path parameters, lowercased and comma-joined headers, and a string body', async () => {
    const seen: APIGatewayProxyEventV2[] = [];
    const record = async (event: APIGatewayProxyEventV2) => {
      seen.push(event);
      return json(200, {});
    };
    const api = await startLocalApi({ start: record, check: record, destroy: record }, { port: 0 });
    try {
      // Two separate header lines (fetch would fold them into one before sending).
      await new Promise<void>((resolve, reject) => {
        const url = new URL(`${api.url}/sessions/abc%2Cdef?x=1`);
        request(url, { headers: { 'X-Custom': ['a', 'b'], 'Content-Type': 'application/json' } }, (response) => {
          response.resume().on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
      await fetch(`${api.url}/sessions`, { method: 'POST', body: '{"k":"v"}' });
    } finally {
      await api.close();
    }
    const [check, start] = seen;
    expect(check).toMatchObject({
      version: '2.0',
      routeKey: routeKey(routes.check),
      rawPath: '/sessions/abc%2Cdef',
      rawQueryString: 'x=1',
      pathParameters: { sessionId: 'abc,def' },
      isBase64Encoded: false,
      requestContext: { routeKey: routeKey(routes.check), http: { method: 'GET', path: '/sessions/abc%2Cdef' }, stage: '$default' },
    });
    expect(check?.headers['x-custom']).toBe('a,b');
    expect(check?.headers['content-type']).toBe('application/json');
    expect(check?.body).toBeUndefined();
    expect(start).toMatchObject({ routeKey: 'POST /sessions', body: '{"k":"v"}' });
    expect(start?.pathParameters).toBeUndefined();
  });
});

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-sessions-data-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const launch = (port: number): Promise<Launched> =>
    launchTs('scripts/start-local.ts', { PORT: String(port), MCP_SESSIONS_DATA_DIR: dataDir, TABLE_NAME: 'mcp-sessions', DYNAMODB_ENDPOINT: '' }, /listening on/);

  it('keeps sessions on disk across a restart, and Ctrl-C stops the server and DynamoDB Local', async () => {
    const port = await freePort();
    const first = await launch(port);
    expect(first.output()).toContain(`curl -i -X POST http://127.0.0.1:${port}/sessions`);
    const dynamoUrl = /DynamoDB Local (http:\/\/\S+)/.exec(first.output())?.[1];
    expect(dynamoUrl).toBeDefined();
    const created = await fetch(`http://127.0.0.1:${port}/sessions`, { method: 'POST' });
    const { sessionId } = (await created.json()) as { sessionId: string };
    expect(await first.stop('SIGINT')).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/sessions/${sessionId}`)).rejects.toThrow();
    await expect(fetch(String(dynamoUrl))).rejects.toThrow();

    const second = await launch(port);
    try {
      expect(second.output()).toContain('table mcp-sessions found');
      const checked = await fetch(`http://127.0.0.1:${port}/sessions/${sessionId}`);
      expect(checked.status).toBe(200);
      expect(await checked.json()).toMatchObject({ sessionId, active: true });
    } finally {
      expect(await second.stop('SIGINT')).toBe(0);
    }
  });
});
