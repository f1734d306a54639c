/**
 * Test harness for mcp-sessions/mcp/sdk: MCP server instances (the session gate in front of
 * sharedSessionHandler, each on its own HTTP port and its own DynamoDB clients, so requests can be
 * counted per instance) over one sessions table and one streams table in DynamoDB Local, and an
 * SDK client whose fetch sends each request to the instance a test picks.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type LoggingLevel,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { sessionGate, toNodeListener } from '../../lib/mcp/index.js';
import { sharedSessionHandler, type SharedSessionHandler, type SharedSessionHandlerOptions } from '../../lib/mcp/sdk/index.js';
import { createStreamsTestTable, createTestTable, storeOn, streamsOn, type StoreFixture, type StreamsFixture, type TestTable } from './dynamo.js';
import { Latches } from '../../scripts/local/latches.js';

export { Latches };

/** Tools: echo, ask (elicitation), log (one message per level), touch (resources/updated), slow and hang (closeSSEStream). */
export function buildTestServer(instance: string, latches: Latches): McpServer {
  const server = new McpServer({ name: 'shared-test', version: '1.0.0' }, { capabilities: { logging: {}, resources: { subscribe: true } } });
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
  const say = (extra: RequestHandlerExtra<ServerRequest, ServerNotification>, data: string, level: LoggingLevel = 'info') =>
    extra.sendNotification({ method: 'notifications/message', params: { level, data } });

  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text: value }) => text(value));
  server.registerTool('whoami', {}, async () => text(instance));
  server.registerTool('ask', {}, async (extra) => {
    const answer = await server.server.elicitInput(
      { mode: 'form', message: 'Your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
      { relatedRequestId: extra.requestId },
    );
    return text(JSON.stringify(answer));
  });
  server.registerTool('log', {}, async (extra) => {
    for (const level of ['debug', 'info', 'warning', 'error'] as const) await say(extra, level, level);
    return text('logged');
  });
  server.registerTool('touch', { inputSchema: { uris: z.array(z.string()) } }, async ({ uris }) => {
    for (const uri of uris) await server.server.sendResourceUpdated({ uri });
    return text('touched');
  });
  server.registerTool('slow', { inputSchema: { latch: z.string() } }, async ({ latch }, extra) => {
    await say(extra, 'n1');
    extra.closeSSEStream?.();
    await say(extra, 'n2');
    await latches.wait(latch, extra.signal);
    await say(extra, 'n3');
    return text(`slow done on ${instance}`);
  });
  server.registerTool('slow-ask', {}, async (extra) => {
    extra.closeSSEStream?.();
    const answer = await server.server.elicitInput(
      { mode: 'form', message: 'Still there?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
      { relatedRequestId: extra.requestId },
    );
    return text(JSON.stringify(answer));
  });
  server.registerTool('wait', { inputSchema: { latch: z.string() } }, async ({ latch }, extra) => {
    await latches.wait(latch, extra.signal);
    if (extra.signal.aborted) latches.notes.push(`aborted:${latch}`);
    return text('waited');
  });
  server.registerTool('hang', {}, async (extra) => {
    await say(extra, 'h1');
    extra.closeSSEStream?.();
    await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
    return text('never');
  });
  server.registerResource('a', 'test://a', {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'a' }] }));
  server.registerResource('b', 'test://b', {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'b' }] }));
  return server;
}

export interface Instance {
  name: string;
  url: string;
  handler: SharedSessionHandler;
  sessions: StoreFixture;
  streams: StreamsFixture;
  /** DynamoDB requests this instance sent (sessions and streams clients together), by command. */
  requests(): Record<string, number>;
  resetCounts(): void;
  close(): Promise<void>;
}

export interface Tables {
  sessions: TestTable;
  streams: TestTable;
}

export async function createTables(prefix: string): Promise<Tables> {
  const [sessions, streams] = await Promise.all([createTestTable(prefix), createStreamsTestTable(prefix)]);
  return { sessions, streams };
}

export async function startInstance(
  name: string,
  tables: Tables,
  latches: Latches,
  options: Partial<Omit<SharedSessionHandlerOptions, 'store' | 'streams' | 'createServer'>> = {},
): Promise<Instance> {
  const sessions = storeOn(tables.sessions);
  const streams = streamsOn(tables.streams);
  const handler = sharedSessionHandler({
    store: sessions.store,
    streams: streams.streams,
    createServer: () => buildTestServer(name, latches),
    instanceId: name,
    retryIntervalMs: 50,
    ...options,
  });
  const gate = sessionGate({ store: sessions.store, principalOf: (request) => request.headers.get('x-demo-user') ?? undefined, requireOwner: true }, handler);
  const http: HttpServer = createServer(toNodeListener(gate));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  return {
    name,
    url,
    handler,
    sessions,
    streams,
    requests: () => {
      const all: Record<string, number> = { ...sessions.requests.byCommand };
      for (const [command, n] of Object.entries(streams.requests.byCommand)) all[command] = (all[command] ?? 0) + n;
      return all;
    },
    resetCounts: () => {
      sessions.requests.reset();
      streams.requests.reset();
    },
    close: async () => {
      await handler.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** What the client's fetch is about to send, for a route to decide where it goes. */
export interface Outgoing {
  method: string;
  /** The JSON-RPC body of a POST. */
  body: unknown;
  lastEventId: string | null;
}

/** Where a request goes: an instance, or nowhere (answered 405 by the client's fetch itself). */
export type Route = (outgoing: Outgoing) => Instance | 'refuse';

export interface Sent {
  outgoing: Outgoing;
  instance: string;
  status: number;
}

export interface TestClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** Every request the client sent, with where it went. */
  sent: Sent[];
  /** `notifications/message` data received, in order. */
  logs: unknown[];
  /** `notifications/resources/updated` URIs received, in order. */
  updates: string[];
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
/** A POST of only JSON-RPC responses (answers to server->client requests). */
export const isAnswer = (outgoing: Outgoing): boolean => {
  const messages = Array.isArray(outgoing.body) ? outgoing.body : [outgoing.body];
  return outgoing.method === 'POST' && messages.every((m) => typeof m === 'object' && m !== null && ('result' in m || 'error' in m));
};
export const isCall = (outgoing: Outgoing, tool: string): boolean =>
  outgoing.method === 'POST' && (outgoing.body as { method?: string; params?: { name?: string } } | undefined)?.params?.name === tool;

export function connectClient(
  route: Route,
  user = 'alice',
  answer: (message: string) => Record<string, unknown> | Promise<Record<string, unknown>> = () => ({ name: 'Ada' }),
): TestClient {
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
  const transport = new StreamableHTTPClientTransport(new URL('http://mcp.invalid/mcp'), { fetch: fetchVia, requestInit: { headers: { 'x-demo-user': user } } });
  const client = new Client({ name: 'shared-test-client', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  const logs: unknown[] = [];
  const updates: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => ({ action: 'accept', content: await answer(request.params.message) }));
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    logs.push(notification.params.data);
  });
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    updates.push(notification.params.uri);
  });
  return {
    client,
    transport,
    sent,
    logs,
    updates,
    close: async () => {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

/** Polls `condition` (every 20 ms) until it holds; fails after `ms`. For events that arrive on their own time. */
export async function eventually(condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
