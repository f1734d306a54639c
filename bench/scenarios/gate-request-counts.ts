import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../../lib/dynamodb-client.js';
import { DynamoSessionStore } from '../../lib/dynamo-session-store.js';
import { silentLogger } from '../../lib/logger.js';
import { sessionGate } from '../../lib/mcp/session-gate.js';
import { SessionCheckCache } from '../../lib/session-check-cache.js';
import type { SessionStore } from '../../lib/session-store.js';
import { ManualClock } from '../../scripts/local/manual-clock.js';
import { countRequests } from '../../scripts/local/request-counter.js';
import { echoMcp } from '../servers/echo-mcp.js';

export interface GateRequestCount {
  request: string;
  /** MCP requests sent for this row (all at once when more than one). */
  mcpRequests: number;
  /** DynamoDB requests they cost together. */
  dynamodbRequests: number;
  byCommand: Record<string, number>;
}

const URL = 'http://127.0.0.1/mcp';
const PROTOCOL_VERSION = '2025-11-25';
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': PROTOCOL_VERSION, 'x-demo-user': 'bench' };
const CACHE_MAX_AGE_MS = 1000;

const post = (body: unknown, sessionId?: string): Request =>
  new Request(URL, { method: 'POST', headers: { ...HEADERS, ...(sessionId ? { 'mcp-session-id': sessionId } : {}) }, body: JSON.stringify(body) });
const echoCall = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } });

/**
 * DynamoDB requests per MCP request through the session gate with the in-process store, counted
 * with SDK middleware: without the check cache, with it (hit, miss, expired), and with concurrent
 * checks of one session coalesced. The test suite runs this same function and asserts the counts.
 */
export async function measureGateRequestCounts(raw: DynamoDBClient, tableName: string): Promise<GateRequestCount[]> {
  const clock = new ManualClock();
  const counts = countRequests(raw);
  const store = new DynamoSessionStore({ client: documentClient(raw), tableName, clock: clock.now, logger: silentLogger });
  const gateOver = (sessions: SessionStore) =>
    sessionGate({ store: sessions, principalOf: (request) => request.headers.get('x-demo-user') ?? undefined, requireOwner: true }, (request, { parsedBody }) =>
      echoMcp(request, parsedBody),
    );
  const plain = gateOver(store);
  const cached = gateOver(new SessionCheckCache(store, { maxAgeMs: CACHE_MAX_AGE_MS, clock: clock.now }));
  const coalescing = gateOver(new SessionCheckCache(store, { maxAgeMs: 0, clock: clock.now }));

  const rows: GateRequestCount[] = [];
  /** Sends the requests at once and counts what they cost; every answer must be the expected status. */
  const measure = async (label: string, gate: (request: Request) => Promise<Response>, requests: Request[], status: number): Promise<Response[]> => {
    counts.reset();
    const responses = await Promise.all(requests.map((request) => gate(request)));
    for (const response of responses) {
      const text = await response.clone().text();
      if (response.status !== status) throw new Error(`${label}: answered ${response.status} (expected ${status}): ${text.slice(0, 200)}`);
      if (status === 200 && label.startsWith('tools/call') && !text.includes('"text":"hello"')) throw new Error(`${label}: no echo in ${text.slice(0, 200)}`);
    }
    rows.push({ request: label, mcpRequests: requests.length, dynamodbRequests: counts.total, byCommand: { ...counts.byCommand } });
    return responses;
  };

  const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1.0.0' } } };
  const [started] = await measure('initialize (a new session)', plain, [post(initialize)], 200);
  const sessionId = started?.headers.get('mcp-session-id') ?? '';
  await measure('notifications/initialized', plain, [post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId)], 202);
  await measure('tools/call (echo)', plain, [post(echoCall(1), sessionId)], 200);
  await measure('tools/call × 8 at once, one session', plain, Array.from({ length: 8 }, (_, i) => post(echoCall(10 + i), sessionId)), 200);
  await measure(`tools/call, check cache (maxAgeMs ${CACHE_MAX_AGE_MS}): first`, cached, [post(echoCall(2), sessionId)], 200);
  await measure('tools/call, check cache: again within maxAgeMs', cached, [post(echoCall(3), sessionId)], 200);
  clock.advance(CACHE_MAX_AGE_MS / 1000);
  await measure('tools/call, check cache: maxAgeMs later', cached, [post(echoCall(4), sessionId)], 200);
  await measure('tools/call × 8 at once, one session, coalesced (maxAgeMs 0)', coalescing, Array.from({ length: 8 }, (_, i) => post(echoCall(20 + i), sessionId)), 200);
  await measure('DELETE (through the cache)', cached, [new Request(URL, { method: 'DELETE', headers: { ...HEADERS, 'mcp-session-id': sessionId } })], 200);
  await measure('tools/call after that DELETE, check cache', cached, [post(echoCall(5), sessionId)], 404);
  return rows;
}
