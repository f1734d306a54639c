/**
 * Bench harness for mcp-sessions/mcp/sdk: instances of the session gate in front of
 * sharedSessionHandler, each on its own HTTP port and its own counted DynamoDB clients, over one
 * sessions table and one streams table, and an official SDK client whose fetch sends each request
 * to the instance a route picks. A trimmed copy of test/support/shared-instances.ts, which imports
 * vitest (through test/support/dynamo.ts) and so cannot run under the bench.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { systemClock } from '../../lib/clock.js';
import { createDynamoClient, documentClient } from '../../lib/dynamodb-client.js';
import { DynamoSessionStore } from '../../lib/dynamo-session-store.js';
import { DynamoSessionStreams } from '../../lib/dynamo-session-streams.js';
import { silentLogger } from '../../lib/logger.js';
import { sessionGate, toNodeListener } from '../../lib/mcp/index.js';
import { sharedSessionHandler, type SharedSessionHandlerOptions } from '../../lib/mcp/sdk/index.js';
import { ensureSessionTable, ensureStreamsTable } from '../../scripts/local/ensure-table.js';
import { countRequests, type RequestCounts } from '../../scripts/local/request-counter.js';
import { Latches } from '../../scripts/local/latches.js';

export { Latches };

/** Generous timeouts: on 2 busy cores a slow DynamoDB Local answer must not fail a count. */
const LENIENT = { connectionTimeoutMs: 10_000, requestTimeoutMs: 30_000 } as const;

export interface McpTables {
  endpoint: string;
  sessions: string;
  streams: string;
}

export async function createMcpTables(endpoint: string, prefix: string): Promise<McpTables> {
  const raw = createDynamoClient({ endpoint, ...LENIENT });
  const suffix = randomUUID().slice(0, 8);
  const tables = { endpoint, sessions: `bench-${prefix}-${suffix}`, streams: `bench-${prefix}-streams-${suffix}` };
  await Promise.all([ensureSessionTable(raw, tables.sessions, { ttl: false }), ensureStreamsTable(raw, tables.streams, { ttl: false })]);
  raw.destroy();
  return tables;
}

/** Tools: echo, ask (elicitation), progress (detaches, then N progress notifications), hang (detaches, waits on a latch). */
function buildServer(latches: Latches): McpServer {
  const server = new McpServer({ name: 'bench-costs', version: '1.0.0' }, { capabilities: { logging: {} } });
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text: value }) => text(value));
  server.registerTool('ask', {}, async (extra) => {
    const answer = await server.server.elicitInput(
      { mode: 'form', message: 'Your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
      { relatedRequestId: extra.requestId },
    );
    return text(JSON.stringify(answer));
  });
  server.registerTool('progress', { inputSchema: { n: z.number().int().min(0).max(10_000) } }, async ({ n }, extra) => {
    extra.closeSSEStream?.();
    const progressToken = extra._meta?.progressToken;
    if (progressToken !== undefined) {
      for (let i = 1; i <= n; i++) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: i, total: n } });
    }
    return text(`sent ${n}`);
  });
  server.registerTool('hang', { inputSchema: { latch: z.string() } }, async ({ latch }, extra) => {
    extra.closeSSEStream?.();
    await latches.wait(latch, extra.signal);
    return text('done');
  });
  return server;
}

export interface McpInstance {
  name: string;
  url: string;
  /** DynamoDB requests this instance sent (sessions and streams clients together), by command. */
  requests(): Record<string, number>;
  resetCounts(): void;
  close(): Promise<void>;
}

export async function startMcpInstance(
  name: string,
  tables: McpTables,
  latches: Latches,
  options: Partial<Omit<SharedSessionHandlerOptions, 'store' | 'streams' | 'createServer'>> = {},
): Promise<McpInstance> {
  const counted = (): { raw: DynamoDBClient; counts: RequestCounts } => {
    const raw = createDynamoClient({ endpoint: tables.endpoint, ...LENIENT });
    return { raw, counts: countRequests(raw) };
  };
  const sessions = counted();
  const streams = counted();
  const store = new DynamoSessionStore({ client: documentClient(sessions.raw), tableName: tables.sessions, clock: systemClock, logger: silentLogger });
  const sessionStreams = new DynamoSessionStreams({ client: documentClient(streams.raw), tableName: tables.streams, clock: systemClock, logger: silentLogger });
  const handler = sharedSessionHandler({ store, streams: sessionStreams, createServer: () => buildServer(latches), instanceId: name, ...options });
  const gate = sessionGate({ store, principalOf: (request) => request.headers.get('x-demo-user') ?? undefined, requireOwner: true }, handler);
  const http: HttpServer = createServer(toNodeListener(gate));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  return {
    name,
    url,
    requests: () => {
      const all: Record<string, number> = { ...sessions.counts.byCommand };
      for (const [command, n] of Object.entries(streams.counts.byCommand)) all[command] = (all[command] ?? 0) + n;
      return all;
    },
    resetCounts: () => {
      sessions.counts.reset();
      streams.counts.reset();
    },
    close: async () => {
      await handler.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      sessions.raw.destroy();
      streams.raw.destroy();
    },
  };
}

/** What the client's fetch is about to send, for a route to decide where it goes. */
export interface Outgoing {
  method: string;
  body: unknown;
  lastEventId: string | null;
}

/** Where a request goes: an instance, or nowhere (answered 405 by the client's fetch itself). */
export type Route = (outgoing: Outgoing) => McpInstance | 'refuse';

export interface Sent {
  outgoing: Outgoing;
  instance: string;
  status: number;
}

export interface BenchClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  sent: Sent[];
  close(): Promise<void>;
}

const jsonBody = (body: unknown): unknown => {
  if (typeof body !== 'string') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
};

/** A standalone GET (no Last-Event-ID), which the SDK client opens by itself after initialize. */
export const isStandaloneGet = (outgoing: Outgoing): boolean => outgoing.method === 'GET' && outgoing.lastEventId === null;
/** A resumption: GET with Last-Event-ID. */
export const isResume = (outgoing: Outgoing): boolean => outgoing.method === 'GET' && outgoing.lastEventId !== null;
/** A POST of only JSON-RPC responses (answers to server->client requests). */
export const isAnswer = (outgoing: Outgoing): boolean => {
  const messages = Array.isArray(outgoing.body) ? outgoing.body : [outgoing.body];
  return outgoing.method === 'POST' && messages.every((m) => typeof m === 'object' && m !== null && ('result' in m || 'error' in m));
};

/** Connects an SDK client (elicitation answered with a fixed form) whose requests go where `route` says. */
export async function connectBenchClient(route: Route): Promise<BenchClient> {
  const sent: Sent[] = [];
  const fetchVia: FetchLike = async (url, init) => {
    const headers = new Headers(init?.headers);
    const outgoing: Outgoing = { method: init?.method ?? 'GET', body: jsonBody(init?.body), lastEventId: headers.get('last-event-id') };
    const target = route(outgoing);
    if (target === 'refuse') {
      sent.push({ outgoing, instance: 'none', status: 405 });
      return new Response(null, { status: 405 });
    }
    const response = await fetch(target.url, { ...init, headers });
    sent.push({ outgoing, instance: target.name, status: response.status });
    return response;
  };
  const transport = new StreamableHTTPClientTransport(new URL('http://mcp.invalid/mcp'), { fetch: fetchVia, requestInit: { headers: { 'x-demo-user': 'bench' } } });
  const client = new Client({ name: 'bench-client', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }));
  await client.connect(transport);
  return {
    client,
    transport,
    sent,
    close: async () => {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

/** Polls `condition` every 20 ms until it holds; fails after `ms`. */
export async function eventually(condition: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
