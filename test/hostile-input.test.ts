import fc from 'fast-check';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createStartHandler } from '../lib/handlers/start.js';
import type { HttpHandler } from '../lib/http/handler.js';
import type { HttpResponse } from '../lib/http/responses.js';
import { startLocalApi, type LocalApi } from '../scripts/local/api-server.js';
import { sessionGate } from '../lib/mcp/session-gate.js';
import type { RouteName } from '../lib/routes.js';
import { createTestTable, storeOn, type StoreFixture } from './support/dynamo.js';
import { apiEvent } from '../scripts/local/api-event.js';

/** Cases per property; CI runs the full count (2,000 per handler). */
const RUNS = 2000;

const deepJson = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Session ids as an attacker would send them: empty, huge, unicode, control characters, commas, %-escapes. */
const hostileId = fc.oneof(
  fc.constant(''),
  fc.uuid(),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.tuple(fc.uuid(), fc.uuid()).map(([a, b]) => `${a},${b}`),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ maxLength: 40 }).map((s) => encodeURIComponent(s)),
  fc.integer({ min: 1000, max: 100_000 }).map((n) => 'a'.repeat(n)),
  fc.constantFrom('%00', '%', '../../etc/passwd', '\u0000', ' ', '\r\n', '{sessionId}', 'null'),
);

const hostileBody = fc.oneof(
  fc.constant(undefined),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json({ maxDepth: 6 }),
  fc.record({ owner: fc.anything(), metadata: fc.anything() }).map((v) => JSON.stringify(v) ?? ''),
  fc.record({ owner: fc.string({ maxLength: 300 }), metadata: fc.dictionary(fc.string(), fc.json()) }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 1, max: 20_000 }).map(deepJson),
  fc.integer({ min: 16 * 1024, max: 64 * 1024 }).map((n) => JSON.stringify({ metadata: { blob: 'x'.repeat(n) } })),
);

const hostileHeaders = fc.dictionary(
  fc.oneof(fc.constantFrom('x-session-owner', 'content-type', 'mcp-session-id', 'authorization'), fc.string({ maxLength: 20 })),
  fc.string({ unit: 'binary', maxLength: 300 }),
  { maxKeys: 5 },
);

const hostileEvent = (name: RouteName) =>
  fc.record({ sessionId: fc.option(hostileId, { nil: undefined }), body: hostileBody, headers: hostileHeaders, base64: fc.boolean() }).map(({ sessionId, body, headers, base64 }) => {
    const event: APIGatewayProxyEventV2 = apiEvent(name, { sessionId, headers, body: base64 && body !== undefined ? Buffer.from(body).toString('base64') : body, isBase64Encoded: base64 });
    return event;
  });

function expectWellFormed(response: HttpResponse, allowed: number[]): void {
  expect(allowed).toContain(response.statusCode);
  if (response.statusCode >= 400) {
    expect(response.headers?.['content-type']).toBe('application/json');
    const body = JSON.parse(response.body ?? '') as Record<string, unknown>;
    if (response.statusCode === 404) expect(body).toEqual({ active: false });
    else {
      expect(Object.keys(body).sort()).toEqual(['error', 'message']);
      expect(body.error).toMatch(/^[a-z_]+$/);
    }
  }
}

let fixture: StoreFixture;
beforeAll(async () => {
  fixture = storeOn(await createTestTable('hostile'), { pruneScanLimit: 0 });
});

describe('hostile input never breaks a handler', () => {
  const cases: [RouteName, () => HttpHandler, number[]][] = [
    ['start', () => createStartHandler(fixture.store, fixture.logger), [201, 400, 413]],
    ['check', () => createCheckHandler(fixture.store, fixture.logger), [200, 400, 404]],
    ['destroy', () => createDestroyHandler(fixture.store, fixture.logger), [204, 400, 404]], // 404 {active: false}: nothing to end
  ];
  it.each(cases)(`%s: ${RUNS} generated events, never a throw or a 500, always the JSON error shape`, async (name, make, allowed) => {
    const handler = make();
    await fc.assert(
      fc.asyncProperty(hostileEvent(name), async (event) => {
        expectWellFormed(await handler(event), allowed);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('start: bodies over 16 KB get 413 payload_too_large', async () => {
    const handler = createStartHandler(fixture.store, fixture.logger);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 16 * 1024 + 1, max: 200_000 }), async (size) => {
        const response = await handler(apiEvent('start', { body: 'x'.repeat(size) }));
        expect(response.statusCode).toBe(413);
        expect(JSON.parse(response.body ?? '')).toMatchObject({ error: 'payload_too_large' });
      }),
      { numRuns: 100 },
    );
  });
});

describe('hostile requests to the local API server', () => {
  let api: LocalApi;
  beforeAll(async () => {
    api = await startLocalApi(
      { start: createStartHandler(fixture.store, fixture.logger), check: createCheckHandler(fixture.store, fixture.logger), destroy: createDestroyHandler(fixture.store, fixture.logger) },
      { port: 0 },
    );
  });
  afterAll(() => api.close());

  it('arbitrary methods and paths: never a 500, always JSON', async () => {
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'FOO') // fetch refuses TRACE and CONNECT;
    const path = fc.oneof(
      hostileId.map((id) => `/sessions/${encodeURIComponent(id).slice(0, 4000)}`),
      fc.webPath(),
      fc.constantFrom('/', '/sessions', '/sessions/', '/sessions//x', '/sessions/%ZZ', '/sessions/a/b'),
    );
    await fc.assert(
      fc.asyncProperty(method, path, fc.option(fc.string({ maxLength: 200 }), { nil: undefined }), async (m, p, body) => {
        const response = await fetch(`${api.url}${p.startsWith('/') ? p : `/${p}`}`, { method: m, body: m === 'GET' || m === 'HEAD' ? undefined : body });
        expect(response.status).toBeLessThan(500);
        if (m !== 'HEAD' && response.status >= 400) {
          expect(response.headers.get('content-type')).toBe('application/json');
          expect(await response.json()).toBeTypeOf('object');
        } else await response.arrayBuffer();
      }),
      { numRuns: 500 },
    );
  }, 120_000);
});

describe('hostile requests to the MCP session gate', () => {
  it(`${RUNS} generated requests: never a throw or a 500; errors are JSON-RPC errors; oversized bodies 413; unknown versions 400`, async () => {
    const sessionVersions = ['2025-03-26', '2025-06-18', '2025-11-25'];
    // Answers like an MCP server: an InitializeResult to initialize, an empty result otherwise.
    const gate = sessionGate({ store: fixture.store, principalOf: (r) => r.headers.get('x-user') ?? undefined, maxBodyBytes: 64 * 1024 }, async (_request, { parsedBody }) => {
      const message = (typeof parsedBody === 'object' && parsedBody !== null ? parsedBody : {}) as { id?: unknown; method?: unknown };
      const result = message.method === 'initialize' ? { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } } : {};
      return Response.json({ jsonrpc: '2.0', id: message.id ?? null, result });
    });
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 100 });
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH'),
      sessionId: fc.option(fc.oneof(fc.uuid(), printable, fc.tuple(fc.uuid(), fc.uuid()).map(([a, b]) => `${a}, ${b}`)), { nil: undefined }),
      version: fc.option(fc.oneof(fc.constantFrom(...sessionVersions, '2026-07-28', '2027-01-01', '9999-12-31'), printable), { nil: undefined }),
      user: fc.option(fc.oneof(printable, fc.string({ unit: 'grapheme', maxLength: 50 }).map((s) => encodeURIComponent(s))), { nil: undefined }),
      body: fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.json({ maxDepth: 5 }),
        fc.constantFrom(
          '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}',
          '{"jsonrpc":"2.0","id":1,"method":"initialize"}',
          '[{"jsonrpc":"2.0","id":1,"method":"initialize"}]',
          '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":"x","capabilities":[1]}}',
        ),
        fc.integer({ min: 1, max: 20_000 }).map(deepJson),
        fc.integer({ min: 64 * 1024 + 1, max: 200_000 }).map((n) => 'x'.repeat(n)),
      ),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (r.sessionId !== undefined) headers['mcp-session-id'] = r.sessionId;
        if (r.version !== undefined) headers['mcp-protocol-version'] = r.version;
        if (r.user !== undefined) headers['x-user'] = r.user;
        const hasBody = r.method !== 'GET';
        const response = await gate(new Request('http://localhost/mcp', { method: r.method, headers, body: hasBody ? r.body : undefined }));
        expect([200, 400, 404, 413]).toContain(response.status);
        const knownVersion = r.version === undefined || r.version.trim() === '' || sessionVersions.includes(r.version.trim());
        // No version outside the session list gets past the gate: nothing is passed through unchecked.
        if (!knownVersion) expect(response.status).toBe(400);
        else if (r.method === 'POST' && Buffer.byteLength(r.body) > 64 * 1024) expect(response.status).toBe(413);
        if (response.status >= 400) {
          expect(response.headers.get('content-type')).toBe('application/json');
          expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number), message: expect.any(String) } });
        }
      }),
      { numRuns: RUNS },
    );
  }, 180_000);
});
