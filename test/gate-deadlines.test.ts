import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_BUDGET } from '../lib/deadline-budget.js';
import { sessionGate, type SessionGateOptions } from '../lib/mcp/session-gate.js';
import { SessionClient } from '../lib/session-client.js';
import type { SessionStore } from '../lib/session-store.js';
import { createTestTable, localClient, storeOn, type StoreFixture, type TestTable } from './support/dynamo.js';
import { halfAnsweringEndpoint, hangingEndpoint, type FaultyEndpoint } from './support/fakes.js';

const MCP_URL = 'http://localhost/mcp';
const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', clientInfo: { name: 'c', version: '1' }, capabilities: {} } });
const toolsList = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
const initializeResult = Response.json({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } } });

/** One request of each kind that reaches the store: initialize (start), a request on a session (check), DELETE (destroy). */
const storeBoundRequests = (signal?: AbortSignal): Request[] => [
  new Request(MCP_URL, { method: 'POST', body: initialize, headers: { 'content-type': 'application/json' }, ...(signal ? { signal } : {}) }),
  new Request(MCP_URL, { method: 'POST', body: toolsList, headers: { 'content-type': 'application/json', 'mcp-session-id': crypto.randomUUID() }, ...(signal ? { signal } : {}) }),
  new Request(MCP_URL, { method: 'DELETE', headers: { 'mcp-session-id': crypto.randomUUID() }, ...(signal ? { signal } : {}) }),
];

const gateOn = (store: SessionStore, options: Partial<SessionGateOptions> = {}) => sessionGate({ store, ...options }, async () => initializeResult.clone());

/** The gate's answer, or 'no answer' if it has not come by `ms`: the documented deadline plus scheduling slack. */
const answerWithin = (answer: Promise<Response>, ms: number): Promise<Response | 'no answer'> =>
  Promise.race([answer, new Promise<'no answer'>((resolve) => setTimeout(() => resolve('no answer'), ms))]);

async function expect503Within(gate: (request: Request) => Promise<Response>, ms: number, requests = storeBoundRequests()): Promise<void> {
  for (const request of requests) {
    const response = await answerWithin(gate(request), ms);
    expect(response).not.toBe('no answer');
    if (response === 'no answer') return;
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
  }
}

describe('deadlines at the gate', () => {
  let table: TestTable;
  const endpoints: FaultyEndpoint[] = [];
  beforeAll(async () => {
    table = await createTestTable('gate-deadline');
    endpoints.push(await hangingEndpoint(), await halfAnsweringEndpoint());
  });
  afterAll(() => Promise.all(endpoints.map((endpoint) => endpoint.close())));

  it.each([
    ['accepts and never answers', 0],
    ['answers half a response then stalls', 1],
  ])('a session service that %s: 503 store_unavailable + Retry-After from the gate within its storeDeadlineMs', async (_name, index) => {
    const endpoint = endpoints[index] as FaultyEndpoint;
    // A client that would wait a minute on its own: only the gate's deadline can end the wait.
    const client = new SessionClient({ baseUrl: endpoint.url, signing: { kind: 'none' }, timeoutMs: 60_000, maxAttempts: 1 });
    await expect503Within(gateOn(client, { storeDeadlineMs: 500 }), 500 + 1000);
    expect(endpoint.connections()).toBeGreaterThan(0);
  });

  it.each([
    ['accepts and never answers', 0],
    ['answers half a response then stalls', 1],
  ])('a DynamoDB that %s, behind the store in-process: 503 + Retry-After from the gate within the handler deadline', async (_name, index) => {
    const endpoint = endpoints[index] as FaultyEndpoint;
    const fixture: StoreFixture = storeOn(table, { raw: localClient({ endpoint: endpoint.url }) });
    await expect503Within(gateOn(fixture.store), DEADLINE_BUDGET.handlerDeadlineMs + 1000);
  });

  it('a client that goes away ends the wait for the store (the request signal is part of the deadline)', async () => {
    const endpoint = endpoints[0] as FaultyEndpoint;
    const client = new SessionClient({ baseUrl: endpoint.url, signing: { kind: 'none' }, timeoutMs: 60_000, maxAttempts: 1 });
    const gate = gateOn(client, { storeDeadlineMs: 60_000 });
    for (const request of storeBoundRequests(AbortSignal.timeout(300))) {
      const response = await answerWithin(gate(request), 300 + 1000);
      expect(response).not.toBe('no answer');
      if (response !== 'no answer') expect(response.status).toBe(503);
    }
  });

  it('every store call gets its own deadline signal, let go once the call settles (the request ending later no longer reaches it)', async () => {
    const fixture = storeOn(table);
    const signals: (AbortSignal | undefined)[] = [];
    // The real store, wrapped to record the signal each call was given.
    const recording: SessionStore = {
      start: (options = {}) => (signals.push(options.signal), fixture.store.start(options)),
      check: (sessionId, options = {}) => (signals.push(options.signal), fixture.store.check(sessionId, options)),
      destroy: (sessionId, options = {}) => (signals.push(options.signal), fixture.store.destroy(sessionId, options)),
      updateState: (sessionId, change, options = {}) => fixture.store.updateState(sessionId, change, options),
    };
    const gate = gateOn(recording);
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const [init, check, destroy] = controllers.map((controller) => controller.signal) as [AbortSignal, AbortSignal, AbortSignal];
    const sessionId = (await gate(storeBoundRequests(init)[0] as Request)).headers.get('mcp-session-id') ?? '';
    await gate(new Request(MCP_URL, { method: 'POST', body: toolsList, headers: { 'content-type': 'application/json', 'mcp-session-id': sessionId }, signal: check }));
    await gate(new Request(MCP_URL, { method: 'DELETE', headers: { 'mcp-session-id': sessionId }, signal: destroy }));
    expect(signals).toHaveLength(3);
    expect(signals.every((signal) => signal instanceof AbortSignal && !signal.aborted)).toBe(true);
    // While a call runs, the request's end reaches it (the test above); once it has settled, its
    // timer and its listener on the request are gone, so nothing fires into it later.
    for (const controller of controllers) controller.abort();
    expect(signals.map((signal) => signal?.aborted)).toEqual([false, false, false]);
  });
});
