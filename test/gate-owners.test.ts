/**
 * Owners that round-trip: any principal, pushed through gate -> SessionClient -> local HTTP API ->
 * handlers -> DynamoSessionStore -> DynamoDB Local and back, keeps its session and only its own.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createStartHandler } from '../lib/handlers/start.js';
import { startLocalApi, type LocalApi } from '../scripts/local/api-server.js';
import { ownerForPrincipal, sessionGate, type GateContext } from '../lib/mcp/session-gate.js';
import { SessionClient } from '../lib/session-client.js';
import { isOwner } from '../lib/session-store.js';
import { createTestTable, readItem, storeOn, type StoreFixture, type TestTable } from './support/dynamo.js';

const MCP_URL = 'http://localhost/mcp';
const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', clientInfo: { name: 'c', version: '1' }, capabilities: {} } });
const toolsList = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });

/** Principals no header could carry: unicode, spaces at the ends, control characters, 10 KB. */
const principal = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  fc.string({ minLength: 1, maxLength: 20 }).map((s) => `  ${s}  `),
  fc.constantFrom('naïve', 'Zoë Ångström', '用户', '👩‍💻', ' alice', 'bob ', '\t\r\n', 'a,b', 'x\u0000y', '\ud800'),
  fc.integer({ min: 10_000, max: 10_240 }).map((n) => 'é '.repeat(n).slice(0, n)),
);

describe('owners that round-trip', () => {
  let table: TestTable;
  let fixture: StoreFixture;
  let api: LocalApi;
  let gate: (request: Request) => Promise<Response>;
  /** The principal the (stand-in) authentication established for each request. */
  const principals = new WeakMap<Request, string>();
  const reached: GateContext[] = [];

  const post = (body: string, who: string | undefined, sessionId?: string): Request => {
    const request = new Request(MCP_URL, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(sessionId ? { 'mcp-session-id': sessionId } : {}) } });
    if (who !== undefined) principals.set(request, who);
    return request;
  };

  beforeAll(async () => {
    table = await createTestTable('gate-owners');
    fixture = storeOn(table, { pruneScanLimit: 0 });
    api = await startLocalApi(
      {
        start: createStartHandler(fixture.store, fixture.logger),
        check: createCheckHandler(fixture.store, fixture.logger),
        destroy: createDestroyHandler(fixture.store, fixture.logger),
      },
      { port: 0 },
    );
    const client = new SessionClient({ baseUrl: api.url, signing: { kind: 'none' } });
    gate = sessionGate({ store: client, principalOf: (request) => principals.get(request), requireOwner: true }, async (_request, context) => {
      reached.push(context);
      const id = (context.parsedBody as { id: number }).id;
      const result = id === 1 ? { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } } : {};
      return Response.json({ jsonrpc: '2.0', id, result });
    });
  });
  afterAll(() => api?.close());

  it('the stored owner is a fixed, header-safe digest of the principal', () => {
    fc.assert(
      fc.property(principal, principal, (a, b) => {
        expect(ownerForPrincipal(a)).toMatch(/^[0-9a-f]{64}$/);
        expect(isOwner(ownerForPrincipal(a))).toBe(true);
        expect(ownerForPrincipal(a) === ownerForPrincipal(b)).toBe(a === b);
      }),
    );
    // Domain-separated: not the bare SHA-256 of the principal.
    expect(ownerForPrincipal('alice')).not.toBe(createHash('sha256').update('alice').digest('hex'));
  });

  it('any principal (unicode, spaces, 10 KB): initialize then the next request succeed; another principal, or none, gets 404', async () => {
    await fc.assert(
      fc.asyncProperty(principal, principal, async (owner, other) => {
        fc.pre(owner !== other);
        const started = await gate(post(initialize, owner));
        expect(started.status).toBe(200);
        const sessionId = started.headers.get('mcp-session-id') ?? '';
        expect((await readItem(table, sessionId))?.owner).toBe(ownerForPrincipal(owner));

        const next = await gate(post(toolsList, owner, sessionId));
        expect(next.status).toBe(200);
        expect(reached.at(-1)).toMatchObject({ principal: owner, session: { sessionId } });

        for (const stranger of [other, undefined]) {
          const refused = await gate(post(toolsList, stranger, sessionId));
          expect(refused.status).toBe(404);
          expect(await refused.json()).toMatchObject({ error: { code: -32001, message: 'Session not found' } });
        }
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});
