/**
 * mcp-sessions/mcp/sdk end to end: the official SDK client over HTTP to two instances (the session
 * gate in front of sharedSessionHandler, nothing shared but DynamoDB Local), each request sent to
 * the instance the test picks - the worst a non-sticky balancer can do.
 */
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { injectAwsError } from './support/fakes.js';
import { startRoundRobinProxy } from './support/round-robin-proxy.js';
import { streamsTable } from '../lib/table-schema.js';
import { WRITER_GONE_ERROR } from '../lib/mcp/sdk/index.js';
import {
  Latches,
  connectClient,
  createTables,
  eventually,
  isAnswer,
  isCall,
  isStandaloneGet,
  startInstance,
  type Instance,
  type Outgoing,
  type Tables,
  type TestClient,
} from './support/shared-instances.js';

const textOf = (result: unknown): string => (result as { content: { text: string }[] }).content[0]?.text ?? '';

describe('sharedSessionHandler: one session across stateless instances', () => {
  let tables: Tables;
  const latches = new Latches();
  const open: { instances: Instance[]; clients: TestClient[] } = { instances: [], clients: [] };

  beforeAll(async () => {
    tables = await createTables('shared');
  });

  afterEach(async () => {
    await Promise.all(open.clients.splice(0).map((client) => client.close()));
    await Promise.all(open.instances.splice(0).map((instance) => instance.close()));
  });

  async function twoInstances(options: Parameters<typeof startInstance>[3] = {}): Promise<[Instance, Instance]> {
    const pair = await Promise.all([startInstance('A', tables, latches, options), startInstance('B', tables, latches, options)]);
    open.instances.push(...pair);
    return pair;
  }

  async function connect(route: (outgoing: Outgoing) => Instance | 'refuse', answer?: Parameters<typeof connectClient>[2]): Promise<TestClient> {
    const client = connectClient(route, 'alice', answer);
    open.clients.push(client);
    await client.client.connect(client.transport);
    return client;
  }

  /** Every item left in the session's relay streams. */
  async function relayItems(sessionId: string): Promise<number> {
    const page = await tables.streams.client.send(
      new QueryCommand({
        TableName: tables.streams.tableName,
        KeyConditionExpression: '#s = :s AND begins_with(#k, :relay)',
        ExpressionAttributeNames: { '#s': streamsTable.partitionKey, '#k': streamsTable.sortKey },
        ExpressionAttributeValues: { ':s': sessionId, ':relay': 'relay:' },
        ConsistentRead: true,
      }),
    );
    return page.Count ?? 0;
  }

  it('a plain tools/call costs exactly the gate check: one DynamoDB request, nothing stored', async () => {
    const [a, b] = await twoInstances();
    // The standalone GET is refused here: its polling would be counted too.
    const client = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : a));
    a.resetCounts();
    b.resetCounts();
    expect(textOf(await client.client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
    expect(a.requests()).toEqual({ GetItemCommand: 1 });
    expect(b.requests()).toEqual({});
  });

  it('an elicitation is answered through the other instance, with a fixed number of writes and no relay left behind', async () => {
    const [a, b] = await twoInstances();
    const client = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : isAnswer(outgoing) ? b : a));
    a.resetCounts();
    b.resetCounts();
    const result = await client.client.callTool({ name: 'ask' });
    expect(JSON.parse(textOf(result))).toEqual({ action: 'accept', content: { name: 'Ada' } });
    expect(client.sent.filter((s) => isAnswer(s.outgoing)).map((s) => s.instance)).toEqual(['B']);

    // B: its gate's check and the answer's append. A: its check, the relay polls, and the relay's
    // removal (done after the answer went on: waited for, as counted requests are counted as sent).
    const sessionId = client.transport.sessionId ?? '';
    await eventually(async () => (await relayItems(sessionId)) === 0);
    expect(b.requests()).toEqual({ GetItemCommand: 1, PutItemCommand: 1 });
    const { GetItemCommand, QueryCommand: polls = 0, BatchWriteItemCommand, ...rest } = a.requests();
    expect({ GetItemCommand, BatchWriteItemCommand, rest }).toEqual({ GetItemCommand: 1, BatchWriteItemCommand: 1, rest: {} });
    expect(polls).toBeGreaterThanOrEqual(2); // at least one poll that found it, and the removal's read
    expect(polls).toBeLessThanOrEqual(12);
  });

  it('an elicitation answered to the same instance is handed over in memory: nothing stored', async () => {
    const [a] = await twoInstances();
    const client = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : a));
    a.resetCounts();
    const result = await client.client.callTool({ name: 'ask' });
    expect(JSON.parse(textOf(result))).toMatchObject({ action: 'accept' });
    const { PutItemCommand = 0, BatchWriteItemCommand = 0 } = a.requests();
    expect({ PutItemCommand, BatchWriteItemCommand }).toEqual({ PutItemCommand: 0, BatchWriteItemCommand: 0 });
  });

  it('logging/setLevel sent to one instance is honoured by the other', async () => {
    const [a, b] = await twoInstances();
    const client = await connect((outgoing) => {
      if (isStandaloneGet(outgoing)) return 'refuse';
      return (outgoing.body as { method?: string } | undefined)?.method === 'logging/setLevel' ? a : b;
    });
    await client.client.setLoggingLevel('warning');
    expect(textOf(await client.client.callTool({ name: 'log' }))).toBe('logged');
    expect(client.logs).toEqual(['warning', 'error']);
    expect(client.sent.find((s) => (s.outgoing.body as { method?: string } | undefined)?.method === 'logging/setLevel')?.instance).toBe('A');
  });

  it('a subscription made on A gets a resources/updated sent by B, on the standalone stream served by A', async () => {
    const [a, b] = await twoInstances();
    const client = await connect((outgoing) => (isStandaloneGet(outgoing) || (outgoing.body as { method?: string } | undefined)?.method === 'resources/subscribe' ? a : b));
    await eventually(() => client.sent.some((s) => isStandaloneGet(s.outgoing) && s.status === 200));
    await client.client.subscribeResource({ uri: 'test://a' });
    await client.client.callTool({ name: 'touch', arguments: { uris: ['test://b', 'test://a'] } });
    await eventually(() => client.updates.length > 0);
    expect(client.updates).toEqual(['test://a']);
    await client.client.unsubscribeResource({ uri: 'test://a' });
    await client.client.callTool({ name: 'touch', arguments: { uris: ['test://a'] } });
    // A marker that comes after anything the unsubscribed touch could have sent.
    await client.client.subscribeResource({ uri: 'test://b' });
    await client.client.callTool({ name: 'touch', arguments: { uris: ['test://b'] } });
    await eventually(() => client.updates.length > 1);
    expect(client.updates).toEqual(['test://a', 'test://b']);
    expect(client.sent.filter((s) => isCall(s.outgoing, 'touch')).every((s) => s.instance === 'B')).toBe(true);
  });

  it('a stream closed mid-call (SEP-1699 polling) resumes on the other instance: every event exactly once', async () => {
    const [a, b] = await twoInstances();
    const client = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : outgoing.method === 'GET' ? b : a));
    const call = client.client.callTool({ name: 'slow', arguments: { latch: 'resume-1' } });
    await eventually(() => client.sent.some((s) => s.outgoing.method === 'GET' && s.outgoing.lastEventId !== null && s.status === 200));
    await eventually(() => client.logs.length === 2);
    latches.open('resume-1');
    expect(textOf(await call)).toBe('slow done on A');
    expect(client.logs).toEqual(['n1', 'n2', 'n3']);
    const resumes = client.sent.filter((s) => s.outgoing.lastEventId !== null);
    expect(resumes.map((s) => s.instance)).toEqual(['B']);
    // `<stream>.<its request ids>.<seq>`: the header is seq 1, n1 seq 2.
    expect(resumes[0]?.outgoing.lastEventId).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]+\.2$/);
    void b;
  });

  it('when the instance running the work stops, the resumed stream ends with a JSON-RPC error instead of hanging', async () => {
    const [a, b] = await twoInstances({ heartbeatIntervalMs: 100 });
    const client = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : outgoing.method === 'GET' ? b : a));
    const call = client.client.callTool({ name: 'hang' });
    call.catch(() => undefined);
    await eventually(() => client.sent.some((s) => s.outgoing.lastEventId !== null && s.status === 200));
    await eventually(() => client.logs.length === 1);
    // A is alive (heartbeats): B keeps the stream open. Then A stops.
    await a.handler.close();
    const error = await call.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(McpError);
    expect(error).toMatchObject({ code: WRITER_GONE_ERROR.code, message: expect.stringContaining(WRITER_GONE_ERROR.message) });
    expect(client.logs).toEqual(['h1']);
    // The client reconnects once more after an error; the stream is complete: 204, and it stops.
    await eventually(() => client.sent.some((s) => s.outgoing.lastEventId !== null && s.status === 204));
    void b;
  });

  it('an elicitation sent after the stream closed for polling reaches the client on the resumed stream, answered via the other instance', async () => {
    const [a, b] = await twoInstances();
    // Calls to A, the resumed GET to B, the answer to A's neighbour: B.
    const client = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : outgoing.method === 'GET' || isAnswer(outgoing) ? b : a));
    const result = await client.client.callTool({ name: 'slow-ask' });
    expect(JSON.parse(textOf(result))).toEqual({ action: 'accept', content: { name: 'Ada' } });
    expect(client.sent.filter((s) => s.outgoing.lastEventId !== null).map((s) => [s.instance, s.status])).toEqual([['B', 200]]);
    expect(client.sent.filter((s) => isAnswer(s.outgoing)).map((s) => s.instance)).toEqual(['B']);
    await eventually(async () => (await relayItems(client.transport.sessionId ?? '')) === 0);
  });

  it('an unanswered server->client request times out as a JSON-RPC error in the tool; a late answer is still taken', async () => {
    const [a, b] = await twoInstances({ relayTimeoutMs: 300 });
    let answered = false;
    const client = await connect(
      (outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : isAnswer(outgoing) ? b : a),
      async () => {
        await eventually(() => answered);
        return { name: 'late' };
      },
    );
    const result = (await client.client.callTool({ name: 'ask' })) as { isError?: boolean };
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/timed out/i);
    answered = true;
    // The late answer is still taken (202) and kept only until the streams' retention.
    await eventually(() => client.sent.some((s) => isAnswer(s.outgoing) && s.status === 202));
  });

  it('a cancellation POSTed to the instance running the request aborts it there', async () => {
    const [a] = await twoInstances();
    const client = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : a));
    const cancel = new AbortController();
    const call = client.client.callTool({ name: 'wait', arguments: { latch: 'cancel-1' } }, undefined, { signal: cancel.signal });
    call.catch(() => undefined);
    await eventually(() => client.sent.some((s) => isCall(s.outgoing, 'wait') && s.status === 200));
    cancel.abort('changed my mind');
    await eventually(() => latches.notes.includes('aborted:cancel-1'));
    await expect(call).rejects.toThrow();
  });

  it('a store that does not answer: setLevel gets a JSON-RPC error, a relayed answer a 503 - nothing hangs', async () => {
    const [a, b] = await twoInstances({ storeDeadlineMs: 1500 });
    const client = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : a));
    const throttled = () => Object.assign(new Error('throttled'), { name: 'ThrottlingException', $fault: 'client', $metadata: {} });
    injectAwsError(a.sessions.raw, 'UpdateItemCommand', throttled);
    await expect(client.client.setLoggingLevel('error')).rejects.toMatchObject({ code: -32603, message: expect.stringMatching(/temporarily unavailable/) });

    injectAwsError(b.streams.raw, 'PutItemCommand', throttled);
    const answer = await fetch(b.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': client.transport.sessionId ?? '',
        'mcp-protocol-version': client.transport.protocolVersion ?? '',
        'x-demo-user': 'alice',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: `relay:${randomUUID()}`, result: { action: 'decline' } }),
    });
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
  });

  it('behind a round-robin proxy with no stickiness: elicitation, logging and a stream closed for polling all work', async () => {
    const [a, b] = await twoInstances();
    const proxy = await startRoundRobinProxy({ targets: [new URL(a.url).origin, new URL(b.url).origin] });
    try {
      const client = connectClient(() => 'refuse');
      const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`), { requestInit: { headers: { 'x-demo-user': 'alice' } } });
      await client.client.connect(transport);
      try {
        expect(JSON.parse(textOf(await client.client.callTool({ name: 'ask' })))).toEqual({ action: 'accept', content: { name: 'Ada' } });
        latches.open('proxy-1');
        expect(textOf(await client.client.callTool({ name: 'slow', arguments: { latch: 'proxy-1' } }))).toMatch(/^slow done on [AB]$/);
        await client.client.setLoggingLevel('error');
        await client.client.callTool({ name: 'log' });
        expect(client.logs).toEqual(['n1', 'n2', 'n3', 'error']);
        expect(proxy.forwarded.every((n) => n > 2)).toBe(true);
      } finally {
        await transport.terminateSession().catch(() => undefined);
        await client.client.close();
      }
    } finally {
      await proxy.close();
    }
  });
});
