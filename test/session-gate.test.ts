import { beforeAll, describe, expect, it } from 'vitest';
import { sessionGate, type GateSession } from '../lib/mcp/session-gate.js';
import { createTestTable, localClient, storeOn, type StoreFixture, type TestTable } from './support/dynamo.js';
import { DEAD_ENDPOINT } from './support/fakes.js';

const MCP_URL = 'http://mcp.test/mcp';
const initialize = (id: number | string = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: '2025-11-25', clientInfo: { name: 'c', version: '1' }, capabilities: { roots: {} } } });
const toolsList = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });

function post(body: string, headers: Record<string, string> = {}): Request {
  return new Request(MCP_URL, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

/** A gate over the real store, with a stand-in MCP handler that records what reached it. */
function gateOver(fixture: StoreFixture, reply: (request: Request) => Response = () => Response.json({ jsonrpc: '2.0', id: 1, result: {} })) {
  const reached: (GateSession | undefined)[] = [];
  const gate = sessionGate({ store: fixture.store, ownerOf: (request) => request.headers.get('x-user') ?? undefined }, async (request, session) => {
    reached.push(session);
    return reply(request);
  });
  return { gate, reached };
}

const jsonRpcCode = async (response: Response): Promise<number | undefined> => ((await response.json()) as { error?: { code?: number } }).error?.code;

let table: TestTable;
let fixture: StoreFixture;
beforeAll(async () => {
  table = await createTestTable('gate');
  fixture = storeOn(table);
});

describe('session gate', () => {
  it('initialize starts a session with the initialize params as metadata and returns Mcp-Session-Id', async () => {
    const { gate, reached } = gateOver(fixture);
    const response = await gate(post(initialize(), { 'x-user': 'alice' }));
    expect(response.status).toBe(200);
    const sessionId = response.headers.get('mcp-session-id') ?? '';
    expect(reached[0]).toEqual({ sessionId, owner: 'alice', metadata: { protocolVersion: '2025-11-25', clientInfo: { name: 'c', version: '1' }, capabilities: { roots: {} } } });
    expect(await fixture.store.check(sessionId, { owner: 'alice' })).toMatchObject({ active: true });
  });

  it('an active id passes on with its session; unknown, malformed or not-owned ids get 404 / -32001', async () => {
    const { gate, reached } = gateOver(fixture);
    const sessionId = (await gate(post(initialize(), { 'x-user': 'alice' }))).headers.get('mcp-session-id') ?? '';
    const ok = await gate(post(toolsList, { 'mcp-session-id': sessionId, 'x-user': 'alice' }));
    expect(ok.status).toBe(200);
    expect(reached[1]).toMatchObject({ sessionId, owner: 'alice', metadata: { clientInfo: { name: 'c' } } });
    for (const [id, user] of [[crypto.randomUUID(), 'alice'], ['garbage', 'alice'], [sessionId, 'bob'], [sessionId, '']] as const) {
      const response = await gate(post(toolsList, { 'mcp-session-id': id, ...(user ? { 'x-user': user } : {}) }));
      expect(response.status).toBe(404);
      expect(await jsonRpcCode(response)).toBe(-32001);
    }
    expect(reached).toHaveLength(2);
  });

  it('400 without the header, or with a repeated / comma-joined one', async () => {
    const { gate, reached } = gateOver(fixture);
    const a = crypto.randomUUID();
    const headers = new Headers({ 'content-type': 'application/json' });
    headers.append('mcp-session-id', a);
    headers.append('mcp-session-id', a);
    for (const request of [post(toolsList), post(toolsList, { 'mcp-session-id': `${a},${a}` }), new Request(MCP_URL, { method: 'POST', body: toolsList, headers })]) {
      const response = await gate(request);
      expect(response.status).toBe(400);
      expect(await jsonRpcCode(response)).toBe(-32000);
    }
    expect((await gate(new Request(MCP_URL, { method: 'GET' }))).status).toBe(400);
    expect(reached).toHaveLength(0);
  });

  it('an initialize carrying a stale id gets a fresh session, not a 400', async () => {
    const { gate } = gateOver(fixture);
    const stale = crypto.randomUUID();
    const response = await gate(post(initialize(), { 'mcp-session-id': stale }));
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).not.toBe(stale);
  });

  it('an initialize the MCP handler refuses leaves no session behind', async () => {
    const { gate, reached } = gateOver(fixture, () => new Response('bad', { status: 400 }));
    const response = await gate(post(initialize()));
    expect(response.status).toBe(400);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    const minted = reached[0]?.sessionId ?? '';
    expect(await fixture.store.check(minted)).toEqual({ active: false });
  });

  it('DELETE destroys the session (200) and is idempotent', async () => {
    const { gate } = gateOver(fixture);
    const sessionId = (await gate(post(initialize()))).headers.get('mcp-session-id') ?? '';
    for (let i = 0; i < 2; i++) {
      expect((await gate(new Request(MCP_URL, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } }))).status).toBe(200);
    }
    expect((await gate(post(toolsList, { 'mcp-session-id': sessionId }))).status).toBe(404);
  });

  it('2026-07-28 era requests pass through untouched: no id minted, none checked', async () => {
    const { gate, reached } = gateOver(fixture);
    fixture.requests.reset();
    const headers = { 'mcp-protocol-version': '2026-07-28' };
    const first = await gate(post(initialize(), headers));
    const second = await gate(post(toolsList, { ...headers, 'mcp-session-id': 'whatever' }));
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.headers.get('mcp-session-id')).toBeNull();
    expect(reached).toEqual([undefined, undefined]);
    expect(fixture.requests.total).toBe(0);
  });

  it('a failing store answers 503 with Retry-After, never 404', async () => {
    const dead = storeOn(table, { raw: localClient({ endpoint: DEAD_ENDPOINT, maxAttempts: 1 }) });
    const { gate, reached } = gateOver(dead);
    for (const request of [post(initialize()), post(toolsList, { 'mcp-session-id': crypto.randomUUID() }), new Request(MCP_URL, { method: 'DELETE', headers: { 'mcp-session-id': crypto.randomUUID() } })]) {
      const response = await gate(request);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
    }
    expect(reached).toHaveLength(0);
  });
});
