/**
 * The official MCP SDK client -> a load balancer with no stickiness -> example server instances
 * (separate processes) -> session gate -> SessionClient -> local HTTP API -> handlers -> DynamoDB Local.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createStartHandler } from '../lib/handlers/start.js';
import { createUpdateStateHandler } from '../lib/handlers/update-state.js';
import { createAppendMessageHandler } from '../lib/handlers/append-message.js';
import { createReadMessagesHandler } from '../lib/handlers/read-messages.js';
import { createLastSeqHandler } from '../lib/handlers/last-seq.js';
import { createRemoveStreamHandler } from '../lib/handlers/remove-stream.js';
import { startLocalApi, type LocalApi } from '../scripts/local/api-server.js';
import { createStreamsTestTable, createTestTable, storeOn, streamsOn, type StoreFixture } from './support/dynamo.js';
import { launchTs, type Launched } from '../scripts/local/launch-ts.js';

const TTL = 60;

/** A load balancer in front of the instances; tests pick where the next request goes. */
class LoadBalancer {
  target = '';
  readonly server: Server = createServer((request, response) => {
    this.forward(request, response).catch(() => response.destroy());
  });

  private async forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headersDistinct)) if (name !== 'host' && value) headers.set(name, value.join(','));
    const upstream = await fetch(`${this.target}${request.url ?? ''}`, {
      method: request.method,
      headers,
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
    }).catch(() => new Response('upstream down', { status: 502 }));
    const body = Buffer.from(await upstream.arrayBuffer());
    response.writeHead(upstream.status, Object.fromEntries(upstream.headers));
    response.end(body);
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/mcp`;
  }
}

const textOf = (result: unknown): string => ((result as { content: { text: string }[] }).content[0]?.text ?? '');

function mcpClient(url: string, user: string): { client: Client; transport: StreamableHTTPClientTransport } {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { 'x-demo-user': user } } });
  return { client: new Client({ name: 'e2e-client', version: '2.0.0' }), transport };
}

/** A hand-made JSON-RPC request, to look at raw status codes and bodies. */
async function rawToolsList(url: string, sessionId: string, user: string, version = LATEST_PROTOCOL_VERSION): Promise<{ status: number; body: unknown }> {
  return rawPost(url, { jsonrpc: '2.0', id: 99, method: 'tools/list' }, { 'mcp-session-id': sessionId, 'mcp-protocol-version': version, 'x-demo-user': user });
}

async function rawPost(url: string, message: unknown, headers: Record<string, string>): Promise<{ status: number; body: unknown; sessionId: string | null }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(message),
  });
  return { status: response.status, body: await messageOf(response), sessionId: response.headers.get('mcp-session-id') };
}

/** The JSON-RPC message of an answer: a JSON body, or the first message event of an SSE one (the example streams its answers). */
async function messageOf(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) return JSON.parse(text);
  const data = text.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).find((line) => line !== '');
  return data === undefined ? undefined : JSON.parse(data);
}

describe('MCP sessions across stateless instances, end to end', () => {
  let fixture: StoreFixture;
  let api: LocalApi;
  const balancer = new LoadBalancer();
  let url: string;
  let instanceA: Launched;
  let instanceB: Launched;
  const endpointOf = (instance: Launched) => /listening on (http:\/\/\S+)\/mcp/.exec(instance.output())?.[1] ?? '';

  beforeAll(async () => {
    fixture = storeOn(await createTestTable('e2e'), { ttlSeconds: TTL });
    // The streams on the same manual clock, so their messages age with the sessions.
    const { streams, logger } = streamsOn(await createStreamsTestTable('e2e'), { clock: fixture.clock });
    api = await startLocalApi(
      {
        start: createStartHandler(fixture.store, fixture.logger),
        check: createCheckHandler(fixture.store, fixture.logger),
        destroy: createDestroyHandler(fixture.store, fixture.logger),
        updateState: createUpdateStateHandler(fixture.store, fixture.logger),
        appendMessage: createAppendMessageHandler(streams, logger),
        readMessages: createReadMessagesHandler(streams, logger),
        lastSeq: createLastSeqHandler(streams, logger),
        removeStream: createRemoveStreamHandler(streams, logger),
      },
      { port: 0 },
    );
    const env = { MCP_SESSIONS_URL: api.url, PORT: '0' };
    [instanceA, instanceB] = await Promise.all([
      launchTs('examples/mcp-server/main.ts', { ...env, INSTANCE: 'A' }, /listening on/),
      launchTs('examples/mcp-server/main.ts', { ...env, INSTANCE: 'B' }, /listening on/),
    ]);
    url = await balancer.listen();
  });

  afterAll(async () => {
    await Promise.all([instanceA?.stop(), instanceB?.stop()]);
    balancer.server.close();
    await api?.close();
  });

  it('keeps one session alive across instances, restarts, termination, expiry and owners', async () => {
    // 1. initialize on instance A, list tools, call both tools.
    balancer.target = endpointOf(instanceA);
    const alice = mcpClient(url, 'alice');
    await alice.client.connect(alice.transport);
    const sessionId = alice.transport.sessionId ?? '';
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const tools = (await alice.client.listTools()).tools;
    // The example is an "everything" server: its own two tools among those the conformance suite exercises.
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'session_info', 'test_simple_text', 'test_sampling']));
    expect(textOf(await alice.client.callTool({ name: 'echo', arguments: { text: 'hello' } }))).toBe('hello');
    expect(JSON.parse(textOf(await alice.client.callTool({ name: 'session_info' })))).toEqual({
      instance: 'A',
      client: 'e2e-client',
      clientVersion: '2.0.0',
      protocolVersion: LATEST_PROTOCOL_VERSION,
    });

    // 2. the next calls go to instance B, which shares no memory with A: the stored metadata answers.
    balancer.target = endpointOf(instanceB);
    expect(JSON.parse(textOf(await alice.client.callTool({ name: 'session_info' })))).toMatchObject({ instance: 'B', client: 'e2e-client', protocolVersion: LATEST_PROTOCOL_VERSION });
    expect(textOf(await alice.client.callTool({ name: 'echo', arguments: { text: 'on B' } }))).toBe('on B');

    // 3. instance A goes away; the session carries on.
    expect(await instanceA.stop()).toBe(0);
    expect((await alice.client.listTools()).tools).toHaveLength(tools.length);
    expect(alice.transport.sessionId).toBe(sessionId);

    // 6. someone else presenting alice's id gets the unknown-session answer.
    const stolen = await rawToolsList(url, sessionId, 'mallory');
    expect(stolen.status).toBe(404);
    expect(stolen.body).toMatchObject({ error: { code: -32001, message: 'Session not found' } });
    expect((await rawToolsList(url, sessionId, 'alice')).status).toBe(200);

    // 7. no version outside the 2025 ones gets past the gate, not even one from the session-less era.
    for (const version of ['2026-07-28', '9999-12-31']) {
      const bypass = await rawToolsList(url, sessionId, 'mallory', version);
      expect(bypass.status).toBe(400);
      expect(bypass.body).toMatchObject({ error: { code: -32000, message: expect.stringMatching(/Unsupported protocol version/) } });
    }

    // 4. the SDK's terminateSession (HTTP DELETE) ends it everywhere; a second DELETE finds nothing to end.
    await alice.transport.terminateSession();
    const ended = await rawToolsList(url, sessionId, 'alice');
    expect(ended.status).toBe(404);
    expect(ended.body).toMatchObject({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' } });
    const again = await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': sessionId, 'x-demo-user': 'alice' } });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: { code: -32001 } });

    // 8. the example requires a principal: an initialize without one gets 401 and stores nothing.
    const puts = fixture.requests.byCommand.PutItemCommand;
    const anonymous = await rawPost(url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'anon', version: '1' } } }, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.sessionId).toBeNull();
    expect(anonymous.body).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    expect(fixture.requests.byCommand.PutItemCommand).toBe(puts);

    // 5. an idle session expires: 404, and a fresh initialize gets a new, different id.
    const bob = mcpClient(url, 'bob');
    await bob.client.connect(bob.transport);
    const bobsFirst = bob.transport.sessionId ?? '';
    expect((await bob.client.listTools()).tools).toHaveLength(tools.length);
    fixture.clock.advance(TTL + 1);
    const expired = await rawToolsList(url, bobsFirst, 'bob');
    expect(expired.status).toBe(404);
    expect(expired.body).toMatchObject({ error: { code: -32001 } });
    await expect(bob.client.listTools()).rejects.toThrow();
    const bobAgain = mcpClient(url, 'bob');
    await bobAgain.client.connect(bobAgain.transport);
    expect(bobAgain.transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(bobAgain.transport.sessionId).not.toBe(bobsFirst);
    expect(JSON.parse(textOf(await bobAgain.client.callTool({ name: 'session_info' })))).toMatchObject({ instance: 'B', client: 'e2e-client' });
    await bobAgain.client.close();

    // Every session went through the API into DynamoDB: three initializes, three stored sessions.
    expect(fixture.requests.byCommand.PutItemCommand).toBe(3);
    expect(fixture.requests.byCommand.GetItemCommand).toBeGreaterThan(10);
  });
});
